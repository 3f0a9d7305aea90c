import { basename } from 'node:path';
import { parseEnvFile } from './env-file';
import { ConfigError, OVERRIDE_VARIABLES, overridePaths } from './load';
import { SECRET_VARIABLES, secretVariableProblems } from './secrets';

/** Secret the migrated adapter reads UPSTREAM_RPC_URL from. */
export const MIGRATED_UPSTREAM_SECRET = { name: 'morphogen-upstream-rpc', key: 'url' };

/** Host name the compose bundle gives the code-data service. */
const COMPOSE_CODE_DATA_HOST = 'code-data';

/**
 * Adds to each problem the env file line whose variable set the field, so
 * the operator knows which line to fix.
 */
export function withVariableSources(problems: string[], file: string, text: string): string[] {
  const lines = new Map(parseEnvFile(text, file).map((entry) => [entry.name, entry.line]));
  return problems.map((problem) => {
    for (const [name, path] of overridePaths()) {
      if (lines.has(name) && problem.includes(` ${path}: `)) {
        return `${problem} (set by ${name} on ${file}:${lines.get(name)})`;
      }
    }
    return problem;
  });
}

/** Result of migrating a compose env file. */
export interface Migration {
  /** Raw configuration, to be validated like a file. */
  readonly raw: Record<string, unknown>;
  /** Operator variables of the file, applied as overrides. */
  readonly overrides: Record<string, string>;
  /** Things the operator must do by hand, safe to print. */
  readonly notices: string[];
}

/**
 * The configuration a compose env file implies where it is silent: the
 * object names README.md lists for operators and the mainnet matrix
 * size.
 */
function composeDefaults(name: string): Record<string, any> {
  const server = (id: 'a' | 'b') => ({
    matrix: { claimName: `morphogen-matrix-${id}`, size: '75Gi' },
    prgKeys: { secretName: `morphogen-server-${id}-prg-keys` },
  });
  return {
    name,
    profile: 'prod',
    namespace: 'morphogen',
    images: {},
    servers: { a: server('a'), b: server('b') },
    adapter: {
      upstreamRpc: { secretKeyRef: { ...MIGRATED_UPSTREAM_SECRET } },
      // The compose bundle reached its upstream, relay and code CDN over
      // public HTTPS; private, carrier-grade NAT (often pod ranges) and
      // link-local metadata ranges stay closed.
      egress: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'], ports: [443] }],
    },
  };
}

/** Derives an environment name from an env file name, for example compose-prod.env to compose-prod. */
export function environmentNameFor(file: string): string {
  const stem = basename(file).replace(/\.env(\.example)?$/, '').toLowerCase();
  const name = stem.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return name === '' ? 'migrated' : name;
}

function isComposeCodeDataUrl(url: string | undefined): boolean {
  if (url === undefined) {
    return false;
  }
  try {
    return new URL(url).hostname === COMPOSE_CODE_DATA_HOST;
  } catch {
    return false;
  }
}

/**
 * Turns an operator env file of the compose bundle into a configuration
 * and overrides. `base` is an environment file's raw content when the
 * operator gives one; otherwise the compose defaults apply.
 */
export function migrateEnvFile(text: string, file: string, base?: Record<string, unknown>): Migration {
  const entries = parseEnvFile(text, file);
  const lineOf = new Map(entries.map((entry) => [entry.name, entry.line]));
  const variables: Record<string, string> = Object.fromEntries(entries.map((entry) => [entry.name, entry.value]));
  const problems = secretVariableProblems(variables, (name) => `${file}:${lineOf.get(name)}`);

  const known = new Set([...OVERRIDE_VARIABLES, ...SECRET_VARIABLES]);
  for (const entry of entries) {
    if (entry.name.startsWith('MORPHOGEN_') && !known.has(entry.name)) {
      problems.push(`${file}:${entry.line}: ${entry.name} is not a variable morphogen-k8s maps; check the spelling against the README's table`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }

  const raw = structuredClone(base ?? composeDefaults(environmentNameFor(file))) as Record<string, any>;
  const overrides = { ...variables };
  const notices: string[] = [];

  // Provider URLs embed API keys, so the adapter reads the URL from a
  // Secret and the value stays in the operator's env file.
  if (overrides.UPSTREAM_RPC_URL !== undefined) {
    delete overrides.UPSTREAM_RPC_URL;
    const adapter = (raw.adapter ?? {}) as Record<string, any>;
    const ref = adapter.upstreamRpc?.secretKeyRef ?? { ...MIGRATED_UPSTREAM_SECRET };
    raw.adapter = { ...adapter, upstreamRpc: { secretKeyRef: ref } };
    notices.push(
      `UPSTREAM_RPC_URL (${file}:${lineOf.get('UPSTREAM_RPC_URL')}) is not written to the manifests; ` +
      `create the Secret: kubectl -n ${String(raw.namespace)} create secret generic ${String(ref.name)} --from-literal=${String(ref.key)}="$UPSTREAM_RPC_URL"`,
    );
  }

  // The compose bundle's local code-data mode points DICT_URL and CAS_URL
  // at the host "code-data"; here that becomes the in-cluster service.
  if (isComposeCodeDataUrl(overrides.DICT_URL) || isComposeCodeDataUrl(overrides.CAS_URL)) {
    delete overrides.DICT_URL;
    delete overrides.CAS_URL;
    raw.codeData = { claimName: 'morphogen-code-data', ...raw.codeData, enabled: true };
    notices.push('DICT_URL and CAS_URL name the compose host "code-data", so code-data is enabled and serves the claim morphogen-code-data');
  }

  return { raw, overrides, notices };
}
