import { randomBytes } from 'node:crypto';
import { Document, Scalar } from 'yaml';
import { EnvironmentConfig, serverNamespace } from '../config/schema';

/** Size of one page PRG key; the servers read it as 32 hex characters. */
export const PRG_KEY_BYTES = 16;

const HEX_LENGTH = PRG_KEY_BYTES * 2;

export type ServerId = 'a' | 'b';

/** The two page PRG keys of one server, as lowercase hex without a `0x` prefix. */
export interface PrgKeyPair {
  readonly key0: string;
  readonly key1: string;
}

/** Page PRG keys of servers A and B. */
export type PrgKeys = Readonly<Record<ServerId, PrgKeyPair>>;

/** The Secret that contains one server's PRG keys, and the names of its two keys. */
export interface PrgSecretTarget {
  readonly secretName: string;
  readonly namespace: string;
  readonly key0: string;
  readonly key1: string;
}

export type PrgSecretTargets = Readonly<Record<ServerId, PrgSecretTarget>>;

/** Secrets used when no configuration file is given: both in namespace morphogen, named as in config/example.yaml. */
export const DEFAULT_PRG_SECRET_TARGETS: PrgSecretTargets = {
  a: { secretName: 'morphogen-server-a-prg-keys', namespace: 'morphogen', key0: 'page-prg-key-0', key1: 'page-prg-key-1' },
  b: { secretName: 'morphogen-server-b-prg-keys', namespace: 'morphogen', key0: 'page-prg-key-0', key1: 'page-prg-key-1' },
};

/** One PRG key variable of the compose bundle's operator env file. */
export interface PrgKeyVariable {
  readonly name: string;
  readonly server: ServerId;
  readonly slot: keyof PrgKeyPair;
}

/** The four PRG key variables of an operator env file. Each server reads its pair as MORPHOGEN_SERVER_PAGE_PRG_KEY_0 and _1. */
export const PRG_KEY_VARIABLES: readonly PrgKeyVariable[] = [
  { name: 'MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0', server: 'a', slot: 'key0' },
  { name: 'MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1', server: 'a', slot: 'key1' },
  { name: 'MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0', server: 'b', slot: 'key0' },
  { name: 'MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1', server: 'b', slot: 'key1' },
];

/** A source of random bytes with the signature of node:crypto's randomBytes. */
export type RandomSource = (size: number) => Buffer;

/**
 * Attempts before generatePrgKeys gives up on the random source. With a
 * working CSPRNG, even one retry has a probability of about 2^-125.
 */
const MAX_GENERATE_ATTEMPTS = 10;

/**
 * Generates page PRG keys for both servers from a CSPRNG. Keys are drawn
 * again until they pass checkPrgKeys (none all zero, all four distinct),
 * so the output always satisfies the servers' start-up rules.
 *
 * @throws Error when the random source keeps returning keys that fail the check
 */
export function generatePrgKeys(random: RandomSource = randomBytes): PrgKeys {
  const draw = (): string => random(PRG_KEY_BYTES).toString('hex');

  for (let attempt = 1; attempt <= MAX_GENERATE_ATTEMPTS; attempt++) {
    const keys: PrgKeys = {
      a: { key0: draw(), key1: draw() },
      b: { key0: draw(), key1: draw() },
    };
    if (checkPrgKeys(prgKeyEnv(keys)).length === 0) {
      return keys;
    }
  }
  throw new Error(`the random source returned all-zero or repeated PRG keys in ${MAX_GENERATE_ATTEMPTS} attempts in a row, so it is broken`);
}

/** Maps keys to the operator env file variables that carry them. */
export function prgKeyEnv(keys: PrgKeys): Record<string, string> {
  return Object.fromEntries(PRG_KEY_VARIABLES.map((variable) => [variable.name, keys[variable.server][variable.slot]]));
}

/** Reads the Secret names and keys of both servers from a configuration, in the namespaces the servers run in. */
export function prgSecretTargets(config: EnvironmentConfig): PrgSecretTargets {
  const target = (server: ServerId): PrgSecretTarget => {
    const { prgKeys } = config.servers[server];
    return { secretName: prgKeys.secretName, namespace: serverNamespace(config, server), key0: prgKeys.key0, key1: prgKeys.key1 };
  };
  return { a: target('a'), b: target('b') };
}

type KeyForm = { kind: 'missing' | 'empty' | 'not-hex' | 'wrong-length' } | { kind: 'hex'; hex: string };

/**
 * Classifies one value: an optional `0x`, then 32 hex digits in either case.
 * NOTE: the servers document only "an optional 0x prefix", so an uppercase
 * `0X` is rejected here rather than passed on a guess.
 */
function classifyKey(value: string | undefined): KeyForm {
  if (value === undefined) {
    return { kind: 'missing' };
  }
  if (value === '') {
    return { kind: 'empty' };
  }
  const digits = value.startsWith('0x') ? value.slice(2) : value;
  if (!/^[0-9a-fA-F]*$/.test(digits)) {
    return { kind: 'not-hex' };
  }
  if (digits.length !== HEX_LENGTH) {
    return { kind: 'wrong-length' };
  }
  return { kind: 'hex', hex: digits.toLowerCase() };
}

const KEY_FORMAT = `${HEX_LENGTH} hex characters (${PRG_KEY_BYTES} bytes) with an optional 0x prefix, such as the output of \`openssl rand -hex ${PRG_KEY_BYTES}\``;

const FORM_PROBLEMS: Record<Exclude<KeyForm['kind'], 'hex'>, string> = {
  missing: `is missing; add it with a value of ${KEY_FORMAT}`,
  empty: `is empty; set it to ${KEY_FORMAT}`,
  'not-hex': `is not ${HEX_LENGTH} hex characters, because it contains a character other than 0-9, a-f and A-F; set it to ${KEY_FORMAT}`,
  'wrong-length': `is not ${HEX_LENGTH} hex characters; set it to ${KEY_FORMAT}`,
};

/**
 * Checks the four PRG key variables of an operator env file by the rules
 * the servers apply in prod, and returns one message per problem (empty
 * when the keys are valid). `lines` maps a variable to its line in `file`
 * for the messages. Messages name variables and lines but never contain a
 * key or any part of one, so they are safe to print and to log.
 */
export function checkPrgKeys(env: Record<string, string>, lines: Record<string, number> = {}, file?: string): string[] {
  const where = (name: string): string => {
    const line = lines[name];
    if (file !== undefined) {
      return line === undefined ? `${file}: ` : `${file}:${line}: `;
    }
    return line === undefined ? '' : `line ${line}: `;
  };
  const named = (name: string): string => (lines[name] === undefined ? name : `${name} (line ${lines[name]})`);

  const problems: string[] = [];
  const usable: { variable: PrgKeyVariable; hex: string }[] = [];

  for (const variable of PRG_KEY_VARIABLES) {
    const form = classifyKey(env[variable.name]);
    if (form.kind !== 'hex') {
      problems.push(`${where(variable.name)}${variable.name} ${FORM_PROBLEMS[form.kind]}`);
    } else if (/^0+$/.test(form.hex)) {
      problems.push(`${where(variable.name)}${variable.name} is all zeros, which a prod server rejects at start-up; replace it with a random key`);
    } else {
      usable.push({ variable, hex: form.hex });
    }
  }

  // All-zero keys are left out of the comparison: they are reported above
  // already, and replacing them also removes any equality between them.
  for (let later = 1; later < usable.length; later++) {
    for (let earlier = 0; earlier < later; earlier++) {
      if (usable[later].hex !== usable[earlier].hex) {
        continue;
      }
      const first = usable[earlier].variable;
      const second = usable[later].variable;
      const rule = first.server === second.server
        ? 'the two keys of one server must differ'
        : 'servers A and B must not share a key, because PIR privacy needs separate keys for each server';
      problems.push(`${where(second.name)}${second.name} equals ${named(first.name)}; ${rule}, so replace one of them with a new random key`);
    }
  }

  return problems;
}

/**
 * Builds one `kubectl create secret generic` command per server. The
 * schema limits Secret names, keys and namespaces to letters, digits, "-",
 * "_" and ".", and keys are hex, so no argument needs shell quoting.
 */
export function secretCommands(keys: PrgKeys, targets: PrgSecretTargets = DEFAULT_PRG_SECRET_TARGETS): string[] {
  return (['a', 'b'] as const).map((server) => {
    const target = targets[server];
    return [
      'kubectl create secret generic',
      target.secretName,
      `--namespace ${target.namespace}`,
      `--from-literal=${target.key0}=${keys[server].key0}`,
      `--from-literal=${target.key1}=${keys[server].key1}`,
    ].join(' ');
  });
}

/** Renders one Opaque Secret per server as a YAML stream, with the keys in stringData. */
export function secretManifests(keys: PrgKeys, targets: PrgSecretTargets = DEFAULT_PRG_SECRET_TARGETS): string {
  const documents = (['a', 'b'] as const).map((server) => {
    const target = targets[server];
    const document = new Document({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: target.secretName, namespace: target.namespace },
      type: 'Opaque',
      stringData: { [target.key0]: keys[server].key0, [target.key1]: keys[server].key1 },
    });
    // kubectl accepts YAML 1.1 number forms such as the octal 0755, under
    // which a plain hex string like 0b0110... would read as a binary integer.
    for (const key of [target.key0, target.key1]) {
      (document.getIn(['stringData', key], true) as Scalar).type = Scalar.QUOTE_DOUBLE;
    }
    return document.toString();
  });
  return documents.join('---\n');
}
