import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { EnvironmentConfig, environmentSchema } from './schema';

/** Bad input from an operator: the message is safe to print and names the fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

/**
 * Operator environment variables of the compose bundle that override the
 * configuration file, so CI can inject a freshly built image digest. Each
 * maps to a path in the configuration and a conversion of the value.
 */
const SERVER_OVERRIDES: [suffix: string, path: string[], convert: (value: string) => unknown][] = [
  ['ENV', ['environment'], (value) => value],
  ['BIND_ADDR', ['bindAddress'], (value) => value],
  ['MATRIX_FILE', ['matrix', 'file'], (value) => value],
  ['MAX_CONCURRENT_SCANS', ['maxConcurrentScans'], toNumber],
  ['MERGE_INTERVAL_MS', ['mergeInterval'], (value) => `${value}ms`],
];

const GLOBAL_OVERRIDES: [name: string, path: string[]][] = [
  ['MORPHOGEN_SERVER_IMAGE', ['images', 'server']],
  ['MORPHOGEN_RPC_ADAPTER_IMAGE', ['images', 'adapter']],
  ['DICT_URL', ['adapter', 'dictUrl']],
  ['CAS_URL', ['adapter', 'casUrl']],
];

/**
 * Names of every operator variable synth understands. UPSTREAM_RPC_URL is
 * one, but it never overrides: provider URLs embed API keys, so the value
 * belongs in the Secret that adapter.upstreamRpc.secretKeyRef names.
 */
export const OVERRIDE_VARIABLES: readonly string[] = [
  ...GLOBAL_OVERRIDES.map(([name]) => name),
  'UPSTREAM_RPC_URL',
  'RPC_BIND_HOST',
  ...(['A', 'B'] as const).flatMap((id) => SERVER_OVERRIDES.map(([suffix]) => `MORPHOGEN_SERVER_${id}_${suffix}`)),
];

/** Lists the configuration path each override variable sets, for messages that name the variable. */
export function overridePaths(): [name: string, path: string][] {
  return [
    ...GLOBAL_OVERRIDES.map(([name, path]): [string, string] => [name, path.join('.')]),
    ...(['a', 'b'] as const).flatMap((id) => SERVER_OVERRIDES.map(([suffix, path]): [string, string] => [`MORPHOGEN_SERVER_${id.toUpperCase()}_${suffix}`, ['servers', id, ...path].join('.')])),
  ];
}

function toNumber(value: string): unknown {
  return /^-?[0-9]+$/.test(value) ? Number(value) : value;
}

function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) {
      node[key] = {};
    }
    node = node[key] as Json;
  }
  node[path[path.length - 1]] = value;
}

/**
 * Applies the compose bundle's operator variables on top of a raw
 * configuration. Returns the problems found in variables that cannot be
 * applied; the rest of the validation happens in the schema.
 */
export function applyOverrides(raw: Json, env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];

  for (const [name, path] of GLOBAL_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      setPath(raw, path, value);
    }
  }

  // The adapter has no flag to bind anything but loopback; the forwarder
  // sidecar is what publishes it on the pod IP.
  const bindHost = env.RPC_BIND_HOST;
  if (bindHost !== undefined && bindHost !== '' && bindHost !== '127.0.0.1' && bindHost !== 'localhost') {
    problems.push(`RPC_BIND_HOST: "${bindHost}" cannot be honoured, because morphogen-rpc-adapter listens on 127.0.0.1 only; unset it, the forwarder sidecar publishes the adapter on the pod IP`);
  }

  for (const id of ['a', 'b'] as const) {
    for (const [suffix, path, convert] of SERVER_OVERRIDES) {
      const value = env[`MORPHOGEN_SERVER_${id.toUpperCase()}_${suffix}`];
      if (value !== undefined && value !== '') {
        setPath(raw, ['servers', id, ...path], convert(value));
      }
    }
  }

  return problems;
}

/** Formats a zod issue as one `path: problem; fix` line. */
function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String).join('.') || '(root)';

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    return issue.keys.map((key) => {
      const where = path === '(root)' ? key : `${path}.${key}`;
      const closest = closestKey(key, known);
      const hint = closest ? `did you mean "${closest}"?` : `valid keys here: ${known.join(', ')}`;
      return `${where}: unknown key; ${hint}`;
    });
  }

  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [`${path}: missing required field; add it to the configuration`];
  }

  if (issue.code === 'invalid_union') {
    return [`${path}: must be exactly one of the documented forms, for example { secretKeyRef: { name, key } } or { url }; see config/schema.json`];
  }

  return [`${path}: ${issue.message}${describeInput(issue)}`];
}

/**
 * Shows the rejected value after a message that does not quote it already.
 * Values under upstreamRpc are left out, because provider URLs embed API
 * keys.
 */
function describeInput(issue: z.core.$ZodIssue): string {
  const input = issue.input;
  if (issue.code === 'custom' || issue.path.includes('upstreamRpc')) {
    return '';
  }
  if (typeof input === 'string' || typeof input === 'number' || typeof input === 'boolean') {
    return ` (got ${JSON.stringify(input)})`;
  }
  if (Array.isArray(input)) {
    return ' (got a list)';
  }
  return '';
}

/** Lists the keys the schema accepts at a path, for typo suggestions. */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.ZodType = environmentSchema;
  for (const key of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) {
      schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    } else {
      return [];
    }
    if (schema === undefined) {
      return [];
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape).filter((key) => key !== '$schema') : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length];
}

function closestKey(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Validates a raw configuration object, throwing one ConfigError with every problem. */
export function parseConfig(raw: unknown, env: Record<string, string | undefined> = {}): EnvironmentConfig {
  const problems: string[] = [];
  const copy = structuredClone(raw ?? {}) as Json;
  if (typeof copy !== 'object' || Array.isArray(copy)) {
    throw new ConfigError(['(root): must be a mapping of configuration fields']);
  }
  problems.push(...applyOverrides(copy, env));

  const result = environmentSchema.safeParse(copy, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(...formatIssue(issue));
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data as EnvironmentConfig);
}

/** Reads one configuration file into a raw object, reporting YAML errors with their line. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the file (${code ?? 'unknown error'}); check the path given to --config`]);
  }

  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const line = first.linePos?.[0].line ?? 0;
    const reason = first.message.split('\n')[0].replace(/:$/, '');
    throw new ConfigError([`${file}:${line}: invalid YAML: ${reason}; fix the indentation or quoting there`]);
  }
  return (document.toJS() ?? {}) as Record<string, unknown>;
}

/** Validates a raw configuration, prefixing every problem with where it came from. */
export function parseConfigFrom(source: string, raw: unknown, env: Record<string, string | undefined>): EnvironmentConfig {
  try {
    return parseConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(error.problems.map((problem) => `${source}: ${problem}`));
    }
    throw error;
  }
}

/** Reads, overrides and validates one configuration file. */
export function loadConfigFile(file: string, env: Record<string, string | undefined> = {}): EnvironmentConfig {
  return parseConfigFrom(file, readConfigFile(file), env);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}
