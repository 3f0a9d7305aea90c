import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT_INVALID_INPUT, runSynth } from '../lib/cli';
import { parseEnvFile } from '../lib/config/env-file';
import { minimalInput, Objects, configOf, REPO_ROOT } from './support/fixtures';

const UPSTREAM = 'https://eth.example.net/v2/0123456789abcdef0123456789abcdef';

describe('runSynth', () => {
  let workdir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ out: (line: string) => out.push(line), err: (line: string) => err.push(line) });
  const configFile = (patch?: (input: Record<string, any>) => void) => {
    const file = join(workdir, 'unit.yaml');
    writeFileSync(file, stringify(minimalInput(patch)));
    return file;
  };

  beforeEach(() => {
    workdir = mkdtempSync(join(tmpdir(), 'cli-'));
    out = [];
    err = [];
  });

  afterEach(() => {
    rmSync(workdir, { recursive: true, force: true });
  });

  test('copies output to the cdk8s CLI folder', () => {
    const code = runSynth(['--config', configFile(), '--out', join(workdir, 'dist')], { CDK8S_OUTDIR: join(workdir, 'cdk8s.out') }, io());

    expect(code).toBe(0);
    expect(readdirSync(join(workdir, 'cdk8s.out', 'unit'))).toEqual(readdirSync(join(workdir, 'dist', 'unit')));
  });

  test('unwritable output folder exits 2 with one line', () => {
    writeFileSync(join(workdir, 'file'), 'not a folder');

    const code = runSynth(['--config', configFile(), '--out', join(workdir, 'file', 'dist')], {}, io());

    expect(code).toBe(EXIT_INVALID_INPUT);
    expect(err.filter((line) => line.startsWith('error:'))).toEqual([
      expect.stringMatching(/^error: cannot write .* \((ENOTDIR|EEXIST)\); check that --out names a writable folder$/),
    ]);
  });

  test('warns about fallback even when acknowledged', () => {
    const code = runSynth(['--config', configFile((input) => {
      input.adapter.fallbackToUpstream = true;
      input.adapter.allowPrivacyDegradedFallback = true;
    }), '--out', join(workdir, 'dist')], {}, io());

    expect(code).toBe(0);
    expect(err).toContainEqual(expect.stringMatching(/^warning: unit: adapter\.fallbackToUpstream is on: .*user addresses/));
  });

  test('warns when no client may reach the adapter', () => {
    runSynth(['--config', configFile(), '--out', join(workdir, 'dist')], {}, io());

    expect(err).toContainEqual(expect.stringContaining('adapter.clients is empty'));
    expect(err).toContainEqual(expect.stringContaining('adapter.egress is empty'));
  });

  test('UPSTREAM_RPC_URL never reaches the output', () => {
    const code = runSynth(['--config', configFile(), '--out', join(workdir, 'dist')], { UPSTREAM_RPC_URL: UPSTREAM }, io());

    const written = readdirSync(join(workdir, 'dist', 'unit')).map((file) => readFileSync(join(workdir, 'dist', 'unit', file), 'utf8')).join('\n');
    expect(code).toBe(0);
    expect(written).not.toContain('eth.example.net');
    expect(err.join('\n')).not.toContain('0123456789abcdef');
    expect(err).toContainEqual(expect.stringContaining('UPSTREAM_RPC_URL is set but not written to the manifests'));
  });

  test('warns when CI swaps the image of a GPU environment', () => {
    runSynth(['--config', join(REPO_ROOT, 'config', 'prod-gpu.yaml'), '--out', join(workdir, 'dist')], {
      MORPHOGEN_SERVER_IMAGE: 'ghcr.io/example-org/morphogen-server@sha256:' + '1'.repeat(64),
    }, io());

    expect(err).toContainEqual(expect.stringContaining('GPU mode; make sure it is a GPU build'));
  });

  test('warns when prod loosens isolation', () => {
    runSynth(['--config', configFile((input) => {
      input.isolation = { separateNamespaces: false, antiAffinity: 'preferred' };
      input.networkPolicy = { enabled: false };
    }), '--out', join(workdir, 'dist')], {}, io());

    expect(err).toContainEqual(expect.stringContaining('isolation.separateNamespaces is false in prod'));
    expect(err).toContainEqual(expect.stringContaining('isolation.antiAffinity is preferred in prod'));
    expect(err).toContainEqual(expect.stringContaining('networkPolicy.enabled is false in prod'));
  });

  test('bad input never creates the output folder', () => {
    const code = runSynth(['--config', configFile((input) => (input.servers.a.bindAddress = '127.0.0.1:3000')), '--out', join(workdir, 'dist')], {}, io());

    expect(code).toBe(EXIT_INVALID_INPUT);
    expect(existsSync(join(workdir, 'dist'))).toBe(false);
  });
});

describe('env file parsing', () => {
  test('strips comments after unquoted values', () => {
    const entries = parseEnvFile('SCANS=32 # tuned for 2 cores\nQUOTED="a # b"\n', 'x.env');

    expect(entries.map((e) => e.value)).toEqual(['32', 'a # b']);
  });

  test('keeps a # inside a value', () => {
    expect(parseEnvFile('URL=https://h.example/#frag\n', 'x.env')[0].value).toBe('https://h.example/#frag');
  });
});

describe('anti-affinity strength', () => {
  test('test profile prefers A and B apart', () => {
    const spec = new Objects(configOf((input) => (input.profile = 'test'))).podSpec('morphogen-server-a');

    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight).toBe(100);
  });

  test('prod can opt into preferred', () => {
    const spec = new Objects(configOf((input) => (input.isolation = { antiAffinity: 'preferred' }))).podSpec('morphogen-server-b');

    expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.namespaces).toEqual(['morphogen-unit-server-a']);
  });
});
