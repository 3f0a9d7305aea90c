import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EXIT_INVALID_INPUT, runSynth } from '../lib/cli';
import { REPO_ROOT } from './support/fixtures';

const FIXTURES = join(REPO_ROOT, '..', 'shared', 'fixtures');
const PROD_ENV = readFileSync(join(FIXTURES, 'compose-prod.env'), 'utf8');
const LOCAL_ENV = readFileSync(join(FIXTURES, 'compose-local-code-data.env'), 'utf8');
const KEY = '0x8e41c0d2b7a95f3e6c1d0a9b8f7e6d5c';

// The fixtures' server digest has 65 hex digits; the migration must reject
// it, and the corrected digest shows the rest of the file migrates.
const BAD_DIGEST = /(morphogen-server@sha256:[0-9a-f]{64})[0-9a-f]/;
const fixDigest = (text: string) => text.replace(BAD_DIGEST, '$1');

describe('--env-file migration', () => {
  let workdir: string;
  let errors: string[];
  const io = () => ({ out: () => {}, err: (line: string) => errors.push(line) });
  const synth = (text: string, name = 'compose-prod.env') => {
    const file = join(workdir, name);
    writeFileSync(file, text);
    return runSynth(['--env-file', file, '--out', join(workdir, 'dist')], {}, io());
  };
  const objects = (environment: string) => readdirSync(join(workdir, 'dist', environment))
    .flatMap((file) => parseAllDocuments(readFileSync(join(workdir, 'dist', environment, file), 'utf8')).map((d) => d.toJS()));

  beforeEach(() => {
    workdir = mkdtempSync(join(tmpdir(), 'migration-'));
    errors = [];
  });

  afterEach(() => {
    rmSync(workdir, { recursive: true, force: true });
  });

  test('rejects the fixture\'s malformed server digest', () => {
    expect(synth(PROD_ENV)).toBe(EXIT_INVALID_INPUT);
    expect(errors.join('\n')).toContain('images.server');
    expect(errors.join('\n')).toContain('malformed digest');
  });

  test('migrates the prod env file', () => {
    expect(synth(fixDigest(PROD_ENV))).toBe(0);

    const all = objects('compose-prod');
    const serverB = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'morphogen-server-b').spec.template.spec.containers[0];
    const env = (name: string) => serverB.env.find((e: any) => e.name === name)?.value;
    expect(env('MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS')).toBe('24');
    expect(env('MORPHOGEN_SERVER_MERGE_INTERVAL_MS')).toBe('1500');
    expect(env('MORPHOGEN_SERVER_ENV')).toBe('prod');
  });

  test('opens public HTTPS egress for the adapter', () => {
    expect(synth(fixDigest(PROD_ENV))).toBe(0);

    const policy = objects('compose-prod').find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'morphogen-rpc-adapter');
    expect(policy.spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'] } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
  });

  test('names the variable and line of a bad value', () => {
    expect(synth(PROD_ENV)).toBe(EXIT_INVALID_INPUT);
    expect(errors.join('\n')).toMatch(/\(65 characters after sha256:\).*\(set by MORPHOGEN_SERVER_IMAGE on .*compose-prod\.env:\d+\)/);
  });

  test('keeps the upstream URL out of the manifests', () => {
    expect(synth(fixDigest(PROD_ENV))).toBe(0);

    const text = readdirSync(join(workdir, 'dist', 'compose-prod')).map((f) => readFileSync(join(workdir, 'dist', 'compose-prod', f), 'utf8')).join('\n');
    expect(text).not.toContain('REDACTED-API-KEY');
    expect(text).not.toContain('eth-mainnet.example.net');
    expect(text).toContain('name: morphogen-upstream-rpc');
    expect(errors.join('\n')).toContain('kubectl -n morphogen create secret generic morphogen-upstream-rpc');
    expect(errors.join('\n')).not.toContain('REDACTED-API-KEY');
  });

  test('refuses a PRG key line without echoing it', () => {
    const code = synth(`${fixDigest(PROD_ENV)}\nMORPHOGEN_SERVER_B_PAGE_PRG_KEY_1=${KEY}\n`);

    expect(code).toBe(EXIT_INVALID_INPUT);
    expect(errors.join('\n')).toMatch(/MORPHOGEN_SERVER_B_PAGE_PRG_KEY_1 \(.*compose-prod\.env:\d+\)/);
    expect(errors.join('\n')).not.toContain(KEY.slice(2));
    expect(readdirSync(workdir)).not.toContain('dist');
  });

  test('enables code-data for the local code-data file', () => {
    expect(synth(fixDigest(LOCAL_ENV), 'compose-local-code-data.env')).toBe(0);

    const all = objects('compose-local-code-data');
    const adapter = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'morphogen-rpc-adapter').spec.template.spec;
    expect(all.some((o) => o.kind === 'Deployment' && o.metadata.name === 'morphogen-code-data')).toBe(true);
    expect(adapter.containers[0].env.find((e: any) => e.name === 'DICT_URL').value)
      .toBe('http://morphogen-code-data.morphogen.svc.cluster.local/mainnet_compact.dict');
    expect(adapter.initContainers[0].name).toBe('wait-for-code-data');
  });

  test('rejects an unknown MORPHOGEN_ variable', () => {
    expect(synth(`${fixDigest(PROD_ENV)}\nMORPHOGEN_SERVER_A_MAX_CONCURENT_SCANS=8\n`)).toBe(EXIT_INVALID_INPUT);
    expect(errors.join('\n')).toContain('MORPHOGEN_SERVER_A_MAX_CONCURENT_SCANS is not a variable');
  });

  test('rejects a line that is not NAME=value', () => {
    expect(synth(`${fixDigest(PROD_ENV)}\nthis is not a variable\n`)).toBe(EXIT_INVALID_INPUT);
    expect(errors.join('\n')).toMatch(/compose-prod\.env:\d+: not a NAME=value line/);
  });

  test('applies over a given config file', () => {
    const file = join(workdir, 'compose-prod.env');
    writeFileSync(file, fixDigest(PROD_ENV));

    const code = runSynth(['--config', join(REPO_ROOT, 'config', 'example.yaml'), '--env-file', file, '--out', join(workdir, 'dist')], {}, io());

    expect(code).toBe(0);
    expect(readdirSync(join(workdir, 'dist'))).toEqual(['example']);
  });
});
