import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EXIT_INVALID_INPUT, runSynth } from '../lib/cli';
import { renderEnvironment } from '../lib/output/render';
import { exampleConfig, REPO_ROOT } from './support/fixtures';

function readTree(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(directory).sort()) {
    files[name] = readFileSync(join(directory, name), 'utf8');
  }
  return files;
}

const quiet = { out: () => {}, err: () => {} };

describe('synth', () => {
  let workdir: string;

  beforeEach(() => {
    workdir = mkdtempSync(join(tmpdir(), 'morphogen-synth-'));
  });

  afterEach(() => {
    rmSync(workdir, { recursive: true, force: true });
  });

  test('writes one file per component and a kustomization', () => {
    const code = runSynth(['--config', join(REPO_ROOT, 'config', 'example.yaml'), '--out', workdir], {}, quiet);

    expect(code).toBe(0);
    expect(readdirSync(join(workdir, 'example')).sort()).toEqual(
      ['kustomization.yaml', 'namespaces.yaml', 'rpc-adapter.yaml', 'server-a.yaml', 'server-b.yaml'],
    );
    const kustomization = parseAllDocuments(readFileSync(join(workdir, 'example', 'kustomization.yaml'), 'utf8'))[0].toJS();
    expect(kustomization.resources).toEqual(['namespaces.yaml', 'rpc-adapter.yaml', 'server-a.yaml', 'server-b.yaml']);
  });

  test('re-synthesizes byte-identical files', () => {
    const first = renderEnvironment(exampleConfig());
    const second = renderEnvironment(exampleConfig());

    expect([...second.entries()]).toEqual([...first.entries()]);
  });

  test('committed dist matches a fresh synth', () => {
    runSynth(['--out', workdir], {}, quiet, REPO_ROOT);

    for (const environment of readdirSync(workdir)) {
      expect(readTree(join(workdir, environment))).toEqual(readTree(join(REPO_ROOT, 'dist', environment)));
    }
  });

  test('rejects unknown arguments', () => {
    expect(runSynth(['--bogus'], {}, quiet)).toBe(EXIT_INVALID_INPUT);
  });

  test('npm run synth works on a clean checkout', () => {
    // Copy the tracked files only, as a fresh clone has them, and reuse
    // the installed node_modules.
    const checkout = join(workdir, 'checkout');
    const tracked = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT }).toString().trim().split('\n');
    for (const file of tracked.filter((f) => !f.startsWith('dist/'))) {
      cpSync(join(REPO_ROOT, file), join(checkout, file), { recursive: true });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));

    const result = spawnSync('npm', ['run', 'synth'], { cwd: checkout, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });

    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    expect(readTree(join(checkout, 'dist', 'example'))).toEqual(readTree(join(REPO_ROOT, 'dist', 'example')));
  });
});
