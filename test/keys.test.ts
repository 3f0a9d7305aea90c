import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadConfigFile } from '../lib/config/load';
import { runKeys } from '../lib/keys/cli';
import {
  PRG_KEY_VARIABLES,
  PrgKeys,
  RandomSource,
  checkPrgKeys,
  generatePrgKeys,
  prgKeyEnv,
  prgSecretTargets,
  secretCommands,
  secretManifests,
} from '../lib/keys/prg-keys';
import { EnvironmentConfig } from '../lib/config/schema';
import { Objects, REPO_ROOT, exampleConfig, minimalInput } from './support/fixtures';

const A0 = 'MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0';
const A1 = 'MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1';
const B0 = 'MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0';
const B1 = 'MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1';

const CLI = join(REPO_ROOT, 'lib', 'keys', 'cli.ts');
const TS_NODE = join(REPO_ROOT, 'node_modules', '.bin', 'ts-node');

/** Four distinct, non-zero keys in the forms operators write. */
function validEnv(): Record<string, string> {
  return {
    [A0]: '3f9c2e71a4b85d06c1e7f2093a6b4d58',
    [A1]: '0x8e27d4c1b6a9f3057e2c8d41b9a6f370',
    [B0]: 'C4A1E9F27B3D6085A2F7C1E49D3B6A08',
    [B1]: '5d0b7e3a9c1f4826e0a7d3b5c9f1e462',
  };
}

/** Writes env lines in variable order, so A0 is on line 2 after a comment. */
function envFileText(env: Record<string, string>): string {
  const lines = ['# PRG keys of servers A and B'];
  for (const [name, value] of Object.entries(env)) {
    lines.push(`${name}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

function linesOf(env: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.keys(env).map((name, index) => [name, index + 2]));
}

/**
 * Fails when the output contains a key value or any 8-character run of
 * one, with or without its 0x prefix and in either case.
 */
function expectNoKeyIn(output: string | string[], values: Iterable<string>): void {
  const text = (Array.isArray(output) ? output.join('\n') : output).toLowerCase();
  for (const value of values) {
    const digits = value.toLowerCase().replace(/^0x/, '');
    if (digits === '') {
      continue;
    }
    if (digits.length <= 8) {
      expect(text).not.toContain(digits);
      continue;
    }
    for (let start = 0; start + 8 <= digits.length; start++) {
      expect(text).not.toContain(digits.slice(start, start + 8));
    }
  }
}

function keysOf(keys: PrgKeys): string[] {
  return [keys.a.key0, keys.a.key1, keys.b.key0, keys.b.key1];
}

/** Returns `first` in order, then distinct non-zero buffers. */
function sequenceSource(first: Buffer[]): RandomSource & { calls: number } {
  const source = Object.assign(
    (size: number): Buffer => {
      source.calls++;
      return source.calls <= first.length ? first[source.calls - 1] : Buffer.alloc(size, source.calls);
    },
    { calls: 0 },
  );
  return source;
}

function captureIo(): { out: string[]; err: string[]; io: { out: (line: string) => void; err: (line: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (line) => out.push(line), err: (line) => err.push(line) } };
}

let workDir: string;

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'morphogen-keys-'));
});

afterEach(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function writeEnvFile(env: Record<string, string>, name = 'keys.env'): string {
  const file = join(workDir, name);
  writeFileSync(file, envFileText(env));
  return file;
}

function writeConfig(patch: (input: Record<string, any>) => void): string {
  const file = join(workDir, 'env.yaml');
  writeFileSync(file, stringify(minimalInput(patch)));
  return file;
}

/** Writes a prod configuration with its own Secret names, key names and namespace for B. */
function customConfig(): string {
  return writeConfig((input) => {
    input.servers.a.prgKeys = { secretName: 'pir-a-keys', key0: 'first', key1: 'second' };
    input.servers.b.namespace = 'morphogen-b';
    input.servers.b.prgKeys = { secretName: 'pir-b-keys' };
  });
}

describe('generatePrgKeys', () => {
  test('generated keys are 32 lowercase hex characters', () => {
    const keys = generatePrgKeys();

    for (const key of keysOf(keys)) {
      expect(key).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  test('generated keys are distinct', () => {
    const keys = generatePrgKeys();

    expect(new Set(keysOf(keys)).size).toBe(4);
  });

  test('generated keys are not all zero', () => {
    const keys = generatePrgKeys();

    for (const key of keysOf(keys)) {
      expect(key).not.toMatch(/^0+$/);
    }
  });

  test('generated keys pass check', () => {
    const keys = generatePrgKeys();

    expect(checkPrgKeys(prgKeyEnv(keys))).toEqual([]);
  });

  test('generate draws again after all-zero key', () => {
    // GIVEN a random source whose first draw is all zeros
    const random = sequenceSource([Buffer.alloc(16, 0)]);

    // WHEN keys are generated
    const keys = generatePrgKeys(random);

    // THEN a second round of draws replaced the zero key
    expect(random.calls).toBe(8);
    expect(keysOf(keys)).not.toContain('0'.repeat(32));
  });

  test('generate draws again when A and B collide', () => {
    const same = Buffer.alloc(16, 0x5a);
    const random = sequenceSource([Buffer.alloc(16, 1), Buffer.alloc(16, 2), same, same]);

    const keys = generatePrgKeys(random);

    expect(random.calls).toBe(8);
    expect(new Set(keysOf(keys)).size).toBe(4);
  });

  test('generate fails on broken random source', () => {
    const zeros: RandomSource = (size) => Buffer.alloc(size, 0);

    expect(() => generatePrgKeys(zeros)).toThrow(/random source/);
  });
});

describe('secretCommands', () => {
  const keys = generatePrgKeys();

  test('commands create default Secrets in namespace morphogen', () => {
    const [a, b] = secretCommands(keys);

    expect(a).toMatch(/^kubectl create secret generic morphogen-server-a-prg-keys --namespace morphogen /);
    expect(b).toMatch(/^kubectl create secret generic morphogen-server-b-prg-keys --namespace morphogen /);
  });

  test('commands carry each server\'s keys', () => {
    const [a, b] = secretCommands(keys);

    expect(a).toContain(`--from-literal=page-prg-key-0=${keys.a.key0} --from-literal=page-prg-key-1=${keys.a.key1}`);
    expect(b).toContain(`--from-literal=page-prg-key-0=${keys.b.key0} --from-literal=page-prg-key-1=${keys.b.key1}`);
  });

  test('commands follow the configuration file', () => {
    // GIVEN a configuration with its own names and a namespace for B
    const targets = prgSecretTargets(loadConfigFile(customConfig()));

    // WHEN commands are built from it
    const [a, b] = secretCommands(keys, targets);

    // THEN each command uses the configured Secret, namespace and key names
    expect(a).toBe(`kubectl create secret generic pir-a-keys --namespace morphogen-unit-server-a --from-literal=first=${keys.a.key0} --from-literal=second=${keys.a.key1}`);
    expect(b).toBe(`kubectl create secret generic pir-b-keys --namespace morphogen-b --from-literal=page-prg-key-0=${keys.b.key0} --from-literal=page-prg-key-1=${keys.b.key1}`);
  });
});

describe('secretManifests', () => {
  const keys = generatePrgKeys();

  test('manifests parse as two Opaque v1 Secrets', () => {
    const documents = parseAllDocuments(secretManifests(keys)).map((document) => document.toJS());

    expect(documents).toHaveLength(2);
    for (const secret of documents) {
      expect(secret.apiVersion).toBe('v1');
      expect(secret.kind).toBe('Secret');
      expect(secret.type).toBe('Opaque');
    }
  });

  test('manifests put keys in stringData', () => {
    const [a, b] = parseAllDocuments(secretManifests(keys)).map((document) => document.toJS());

    expect(a.metadata).toEqual({ name: 'morphogen-server-a-prg-keys', namespace: 'morphogen' });
    expect(a.stringData).toEqual({ 'page-prg-key-0': keys.a.key0, 'page-prg-key-1': keys.a.key1 });
    expect(b.metadata).toEqual({ name: 'morphogen-server-b-prg-keys', namespace: 'morphogen' });
    expect(b.stringData).toEqual({ 'page-prg-key-0': keys.b.key0, 'page-prg-key-1': keys.b.key1 });
  });

  test('manifests follow the configuration file', () => {
    const targets = prgSecretTargets(loadConfigFile(customConfig()));

    const [a, b] = parseAllDocuments(secretManifests(keys, targets)).map((document) => document.toJS());

    expect(a.metadata).toEqual({ name: 'pir-a-keys', namespace: 'morphogen-unit-server-a' });
    expect(a.stringData).toEqual({ first: keys.a.key0, second: keys.a.key1 });
    expect(b.metadata).toEqual({ name: 'pir-b-keys', namespace: 'morphogen-b' });
  });

  test('manifest keeps number-like keys as strings under YAML 1.1', () => {
    // GIVEN keys that YAML 1.1 would read as a decimal and a binary integer
    const digits = '1'.repeat(32);
    const binary = '0b' + '01'.repeat(15);
    const numeric: PrgKeys = { a: { key0: digits, key1: binary }, b: keys.b };

    // WHEN the manifest is parsed as YAML 1.1, as Go tools do
    const a = parseAllDocuments(secretManifests(numeric), { version: '1.1' })[0].toJS();

    // THEN both values stay the exact strings
    expect(a.stringData['page-prg-key-0']).toBe(digits);
    expect(a.stringData['page-prg-key-1']).toBe(binary);
  });
});

describe('prgSecretTargets', () => {
  /** Collects the Secret each synthesized server reads its PRG keys from. */
  function secretsReadBySynth(config: EnvironmentConfig): Record<string, unknown>[] {
    const found: Record<string, unknown>[] = [];
    for (const deployment of new Objects(config).ofKind('Deployment')) {
      for (const container of deployment.spec.template.spec.containers) {
        const env: { name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] = container.env ?? [];
        const key0 = env.find((variable) => variable.name === 'MORPHOGEN_SERVER_PAGE_PRG_KEY_0');
        const key1 = env.find((variable) => variable.name === 'MORPHOGEN_SERVER_PAGE_PRG_KEY_1');
        if (key0 !== undefined && key1 !== undefined) {
          found.push({
            secretName: key0.valueFrom?.secretKeyRef.name,
            namespace: deployment.metadata.namespace,
            key0: key0.valueFrom?.secretKeyRef.key,
            key1: key1.valueFrom?.secretKeyRef.key,
          });
        }
      }
    }
    return found;
  }

  test('targets match the Secrets synth references', () => {
    // GIVEN the example and a configuration with custom names and namespaces
    for (const config of [exampleConfig(), loadConfigFile(customConfig())]) {
      // WHEN targets are read from it
      const targets = prgSecretTargets(config);

      // THEN they are exactly what the synthesized servers read
      expect(secretsReadBySynth(config)).toEqual([targets.a, targets.b]);
    }
  });
});

describe('checkPrgKeys', () => {
  test('check passes valid keys', () => {
    const env = validEnv();

    const problems = checkPrgKeys(env, linesOf(env));

    expect(problems).toEqual([]);
  });

  test('check rejects missing key', () => {
    // GIVEN an env file without B's second key
    const env = validEnv();
    delete env[B1];

    // WHEN it is checked
    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    // THEN one problem names the variable, and no key is printed
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 is missing;/);
    expectNoKeyIn(problems, Object.values(validEnv()));
  });

  test('check rejects empty key', () => {
    const env = { ...validEnv(), [A1]: '' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:3: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 is empty;/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects wrong length', () => {
    // GIVEN a key one hex character short
    const env = { ...validEnv(), [A0]: 'a3f9c2e71b4b85d06c1e7f2093a6b4d' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    // THEN the message names the line but not the length of the value
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:2: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 is not 32 hex characters;/);
    expect(problems[0]).not.toMatch(/\b31\b/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects too long key with 0x prefix', () => {
    const env = { ...validEnv(), [B0]: '0xC4A1E9F27B3D6085A2F7C1E49D3B6A08E7' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:4: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0 is not 32 hex characters;/);
    expect(problems[0]).not.toMatch(/\b34\b/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects bare 0x prefix', () => {
    const env = { ...validEnv(), [B1]: '0x' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:5: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 is not 32 hex characters;/);
  });

  test('check rejects non-hex key', () => {
    const env = { ...validEnv(), [B1]: '5d0b7e3a9c1f4826e0a7d3b5c9f1e4g2' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:5: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 is not 32 hex characters, because it contains a character other than/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects uppercase 0X prefix', () => {
    const env = { ...validEnv(), [A0]: '0X3f9c2e71a4b85d06c1e7f2093a6b4d58' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 is not 32 hex characters');
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects all-zero key', () => {
    const env = { ...validEnv(), [A1]: '0'.repeat(32) };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toEqual([
      'keys.env:3: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 is all zeros, which a prod server rejects at start-up; replace it with a random key',
    ]);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects all-zero key with 0x prefix', () => {
    const env = { ...validEnv(), [B0]: '0x' + '0'.repeat(32) };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:4: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0 is all zeros/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check reports two zero keys once each', () => {
    const env = { ...validEnv(), [A0]: '0'.repeat(32), [B0]: '0x' + '0'.repeat(32) };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^keys\.env:2: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 is all zeros/);
    expect(problems[1]).toMatch(/^keys\.env:4: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0 is all zeros/);
  });

  test('check rejects A equal to B', () => {
    // GIVEN B's first key copied from A's second key
    const env = { ...validEnv(), [B0]: validEnv()[A1] };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    // THEN the later variable is reported, naming the earlier one
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:4: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0 equals MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 \(line 3\); servers A and B must not share a key/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check compares keys without prefix and case', () => {
    // GIVEN one key written as 0x and uppercase for A and plain lowercase for B
    const env = { ...validEnv(), [A0]: '0x5D0B7E3A9C1F4826E0A7D3B5C9F1E462' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:5: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 equals MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 \(line 2\)/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check rejects key0 equal to key1', () => {
    const env = { ...validEnv(), [A1]: validEnv()[A0] };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^keys\.env:3: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 equals MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 \(line 2\); the two keys of one server must differ/);
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check reports each pair of equal keys', () => {
    // GIVEN all four variables set to one key
    const key = validEnv()[B1];
    const env = { [A0]: key, [A1]: key, [B0]: key, [B1]: key };

    const problems = checkPrgKeys(env, linesOf(env));

    // THEN each of the six pairs is a problem of its own
    expect(problems).toHaveLength(6);
    expectNoKeyIn(problems, [key]);
  });

  test('check reports every problem on its own line', () => {
    // GIVEN one different problem in each variable
    const env: Record<string, string> = { [A1]: 'abc', [B0]: '0'.repeat(32), [B1]: 'not-a-key-at-all-but-still-secret' };

    const problems = checkPrgKeys(env, linesOf(env), 'keys.env');

    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^keys\.env: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0 is missing/);
    expect(problems[1]).toMatch(/^keys\.env:2: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 is not 32 hex characters;/);
    expect(problems[2]).toMatch(/^keys\.env:3: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_0 is all zeros/);
    expect(problems[3]).toMatch(/^keys\.env:4: MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 is not 32 hex characters, because/);
    for (const problem of problems) {
      expect(problem).not.toContain('\n');
    }
    expectNoKeyIn(problems, Object.values(env));
  });

  test('check without a file names lines only', () => {
    const env = { ...validEnv(), [A1]: '0'.repeat(32) };

    const problems = checkPrgKeys(env, linesOf(env));

    expect(problems[0]).toMatch(/^line 3: MORPHOGEN_SERVER_A_PAGE_PRG_KEY_1 is all zeros/);
  });

  test('check ignores other variables', () => {
    const env = { ...validEnv(), MORPHOGEN_SERVER_A_ENV: 'prod', DICT_URL: 'https://code.example.net/mainnet_compact.dict' };

    expect(checkPrgKeys(env)).toEqual([]);
  });
});

describe('runKeys', () => {
  test('check prints confirmation for a valid file', () => {
    const file = writeEnvFile(validEnv());
    const { out, err, io } = captureIo();

    const code = runKeys(['check', '--env-file', file], io);

    expect(code).toBe(0);
    expect(out).toEqual(['4 PRG keys valid']);
    expect(err).toEqual([]);
  });

  test('check reads quoted and exported values', () => {
    const env = validEnv();
    writeFileSync(join(workDir, 'keys.env'), [
      `export ${A0}="${env[A0]}"`,
      `${A1}='${env[A1]}'`,
      `${B0}=${env[B0]}`,
      `${B1}=${env[B1]}`,
    ].join('\n'));
    const { out, io } = captureIo();

    const code = runKeys(['check', '--env-file', 'keys.env'], io, { cwd: workDir });

    expect(code).toBe(0);
    expect(out).toEqual(['4 PRG keys valid']);
  });

  test('check exits 2 and names file and line', () => {
    // GIVEN an env file whose B keys equal A's
    const env = { ...validEnv(), [B0]: validEnv()[A0], [B1]: validEnv()[A1] };
    const file = writeEnvFile(env);
    const { out, err, io } = captureIo();

    // WHEN it is checked
    const code = runKeys(['check', '--env-file', file], io);

    // THEN both problems and a summary go to stderr, without a key
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([
      expect.stringContaining(`${file}:4: ${B0} equals ${A0} (line 2);`),
      expect.stringContaining(`${file}:5: ${B1} equals ${A1} (line 3);`),
      `error: 2 PRG key problem(s) in ${file}`,
    ]);
    expectNoKeyIn(err, Object.values(env));
  });

  test('check rejects a line that is not NAME=value', () => {
    const env = validEnv();
    writeFileSync(join(workDir, 'keys.env'), `${envFileText(env)}${env[A0]}\n`);
    const { err, io } = captureIo();

    const code = runKeys(['check', '--env-file', 'keys.env'], io, { cwd: workDir });

    expect(code).toBe(2);
    expect(err[0]).toBe('keys.env:6: not a NAME=value line; env files hold one variable per line');
    expectNoKeyIn(err, Object.values(env));
  });

  test('check reports a missing env file', () => {
    const { err, io } = captureIo();

    const code = runKeys(['check', '--env-file', 'absent.env'], io, { cwd: workDir });

    expect(code).toBe(2);
    expect(err[0]).toBe('absent.env: cannot read the env file (ENOENT); check the path given to --env-file');
  });

  test('check requires --env-file', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['check'], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe('error: check needs --env-file FILE');
  });

  test('unknown subcommand prints usage on stderr', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['rotate'], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe('error: unknown subcommand "rotate"');
    expect(err[1]).toMatch(/^Usage: npm run keys -- generate/);
  });

  test('missing subcommand prints usage on stderr', () => {
    const { out, err, io } = captureIo();

    const code = runKeys([], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[1]).toMatch(/^Usage:/);
  });

  test('unknown flag prints usage on stderr', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['generate', '--output', 'keys.yaml'], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/^error: .*--output/);
    expect(err[1]).toMatch(/^Usage:/);
  });

  test('help prints usage on stdout', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['--help'], io);

    expect(code).toBe(0);
    expect(out[0]).toMatch(/^Usage:/);
    expect(err).toEqual([]);
  });

  test('generate rejects an unknown format', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['generate', '--format', 'json'], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe('error: --format must be commands or manifests, not "json"');
  });

  test('generate prints keys on stdout and the note on stderr', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['generate'], io);

    expect(code).toBe(0);
    expect(out).toHaveLength(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^note: .*never save or commit them$/);
  });

  test('generate note contains no key', () => {
    const { out, err, io } = captureIo();

    runKeys(['generate', '--format', 'manifests'], io);

    const keys = parseAllDocuments(out.join('\n')).flatMap((document) => Object.values(document.toJS().stringData) as string[]);
    expect(keys).toHaveLength(4);
    expectNoKeyIn(err, keys);
  });

  test('generate reads names from --config', () => {
    const { out, io } = captureIo();

    const code = runKeys(['generate', '--config', customConfig()], io);

    expect(code).toBe(0);
    expect(out[0]).toMatch(/^kubectl create secret generic pir-a-keys --namespace morphogen-unit-server-a --from-literal=first=[0-9a-f]{32} --from-literal=second=[0-9a-f]{32}$/);
    expect(out[1]).toMatch(/^kubectl create secret generic pir-b-keys --namespace morphogen-b /);
  });

  test('generate rejects an invalid configuration', () => {
    const config = writeConfig((input) => {
      input.servers.b.prgKeys = { secretName: 'PRG_B' };
    });
    const { out, err, io } = captureIo();

    const code = runKeys(['generate', '--config', config], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toContain('servers.b.prgKeys.secretName: must be a DNS-1123 subdomain');
    expect(err[err.length - 1]).toMatch(/no keys were generated$/);
  });

  test('generate rejects one Secret key for both PRG keys', () => {
    const config = writeConfig((input) => {
      input.servers.a.prgKeys = { secretName: 'prg-a', key0: 'key', key1: 'key' };
    });
    const { out, err, io } = captureIo();

    const code = runKeys(['generate', '--config', config], io);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/servers\.a\.prgKeys\.key1: must differ from prgKeys\.key0 \("key"\)/);
  });

  test('generate exits 1 on a broken random source', () => {
    const { out, err, io } = captureIo();

    const code = runKeys(['generate'], io, { random: (size) => Buffer.alloc(size, 0) });

    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/^internal error: .*random source/);
  });
});

describe('keys command as a child process', () => {
  function runCli(args: string[], cwd = REPO_ROOT): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(TS_NODE, ['--transpile-only', CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test('check exits 2 on a bad file', () => {
    const env = { ...validEnv(), [A1]: '0'.repeat(32), [B0]: 'C4A1E9F27B3D6085' };
    const file = writeEnvFile(env);

    const result = runCli(['check', '--env-file', file]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}:3: ${A1} is all zeros`);
    expect(result.stderr).toContain(`${file}:4: ${B0} is not 32 hex characters`);
    expectNoKeyIn(result.stdout + result.stderr, Object.values(env));
  });

  test('check exits 0 on a good file', () => {
    const env = validEnv();
    const file = writeEnvFile(env);

    const result = runCli(['check', '--env-file', file]);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe('4 PRG keys valid\n');
    expectNoKeyIn(result.stdout + result.stderr, Object.values(env));
  });

  test('generate prints commands and writes no file', () => {
    // GIVEN an empty working directory
    const cwd = mkdtempSync(join(workDir, 'cwd-'));

    // WHEN generate runs there
    const result = runCli(['generate'], cwd);

    // THEN two commands go to stdout, the note to stderr, and nothing to disk
    expect(result.status).toBe(0);
    const commands = result.stdout.trimEnd().split('\n');
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^kubectl create secret generic morphogen-server-a-prg-keys --namespace morphogen --from-literal=page-prg-key-0=[0-9a-f]{32} --from-literal=page-prg-key-1=[0-9a-f]{32}$/);
    expect(commands[1]).toMatch(/^kubectl create secret generic morphogen-server-b-prg-keys --namespace morphogen --from-literal=page-prg-key-0=[0-9a-f]{32} --from-literal=page-prg-key-1=[0-9a-f]{32}$/);
    expect(result.stderr).toMatch(/^note: /);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('generated manifests pass check', () => {
    // GIVEN manifests from a real run
    const generated = runCli(['generate', '--format', 'manifests'], mkdtempSync(join(workDir, 'cwd-')));
    const [a, b] = generated.stdout.split(/^---$/m).map((text) => parse(text));

    // WHEN their keys are written to an env file and checked
    const env = {
      [A0]: a.stringData['page-prg-key-0'],
      [A1]: a.stringData['page-prg-key-1'],
      [B0]: b.stringData['page-prg-key-0'],
      [B1]: b.stringData['page-prg-key-1'],
    };
    const result = runCli(['check', '--env-file', writeEnvFile(env)]);

    // THEN the servers' rules accept them
    expect(generated.status).toBe(0);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${PRG_KEY_VARIABLES.length} PRG keys valid\n`);
  });
});
