import { ConfigError } from './load';

/** One variable of an env file, with the line it came from. */
export interface EnvFileEntry {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses an operator env file in the compose bundle's format: `NAME=value`
 * lines, `#` comments and blank lines. A value may be wrapped in single or
 * double quotes, and ` #` ends an unquoted value. Error messages name the
 * line but never echo a value, because these files contain keys.
 */
export function parseEnvFile(text: string, file: string): EnvFileEntry[] {
  const entries: EnvFileEntry[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      return;
    }
    const equals = trimmed.indexOf('=');
    const name = (equals === -1 ? trimmed : trimmed.slice(0, equals)).replace(/^export\s+/, '').trim();
    if (equals === -1 || !NAME.test(name)) {
      problems.push(`${file}:${line}: not a NAME=value line; env files hold one variable per line`);
      return;
    }
    let value = trimmed.slice(equals + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) {
      value = value.slice(1, -1);
    } else {
      // As in compose, " #" starts a comment after an unquoted value.
      value = value.replace(/\s+#.*$/, '');
    }
    entries.push({ name, value, line });
  });

  const seen = new Map<string, number>();
  for (const entry of entries) {
    const first = seen.get(entry.name);
    if (first !== undefined) {
      problems.push(`${file}:${entry.line}: ${entry.name} is already set on line ${first}; keep one of them`);
    }
    seen.set(entry.name, entry.line);
  }

  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return entries;
}
