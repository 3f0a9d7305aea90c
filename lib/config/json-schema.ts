import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { environmentSchema } from './schema';

/** Path of the exported schema, relative to the repository root. */
export const JSON_SCHEMA_PATH = 'config/schema.json';

/**
 * Generates the configuration's JSON Schema from the zod schema, so field
 * documentation lives in one place. It describes the input side, where
 * defaulted fields are optional. Cross-field rules stay in zod.
 */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(environmentSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'Morphogen environment' }, null, 2)}\n`;
}


type SchemaNode = {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  anyOf?: SchemaNode[];
  items?: SchemaNode;
};

function typeOf(node: SchemaNode): string {
  if (node.enum) {
    return node.enum.map((value) => `\`${String(value)}\``).join(' \\| ');
  }
  if (node.anyOf) {
    return 'one of the forms below';
  }
  return node.type === 'array' ? `array of ${node.items?.type ?? 'values'}` : node.type ?? 'any';
}

function rows(node: SchemaNode, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (key === '$schema') {
      continue;
    }
    const path = prefix ? `${prefix}.${key}` : key;
    let fallback = '';
    if (child.default !== undefined) {
      fallback = `\`${JSON.stringify(child.default)}\``;
    } else if (node.required?.includes(key)) {
      fallback = 'required';
    }
    out.push(`| \`${path}\` | ${typeOf(child)} | ${fallback} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`);
    rows(child, path, out);
    child.anyOf?.forEach((variant) => rows(variant, path, out));
  }
}

/** Renders the configuration reference as a Markdown table from the JSON Schema. */
export function configReferenceMarkdown(): string {
  const schema = JSON.parse(configJsonSchema()) as SchemaNode;
  const out = ['| field | type | default | meaning |', '|---|---|---|---|'];
  rows(schema, '', out);
  return `${out.join('\n')}\n`;
}

const README_START = '<!-- config-reference:start -->';
const README_END = '<!-- config-reference:end -->';

/** Replaces the generated reference between its markers in a README text. */
export function withConfigReference(readme: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) {
    throw new Error(`README.md lacks the ${README_START} and ${README_END} markers`);
  }
  return `${readme.slice(0, start + README_START.length)}\n${configReferenceMarkdown()}${readme.slice(end)}`;
}

// `npm run schema` regenerates config/schema.json and the README reference.
if (require.main === module) {
  writeFileSync(JSON_SCHEMA_PATH, configJsonSchema());
  writeFileSync('README.md', withConfigReference(readFileSync('README.md', 'utf8')));
}
