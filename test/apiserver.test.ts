import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSynth } from '../lib/cli';
import { REPO_ROOT } from './support/fixtures';

// A real kube-apiserver takes minutes to build on a fresh machine, so the
// server-side dry run runs when MORPHOGEN_APISERVER=1, as .ci/run sets it.
// MORPHOGEN_APISERVER_VERSIONS lists the releases to check against.
const enabled = process.env.MORPHOGEN_APISERVER === '1';
const versions = (process.env.MORPHOGEN_APISERVER_VERSIONS ?? 'v1.37.2').split(',').filter((v) => v !== '');
const LIMIT_MS = 30 * 60 * 1000;

(enabled ? describe : describe.skip)('server-side dry run', () => {
  let outDir: string;
  let directories: string[];

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'apiserver-'));
    runSynth(['--out', outDir], {}, { out: () => {}, err: () => {} }, REPO_ROOT);
    directories = readdirSync(outDir).map((name) => join(outDir, name));
  });

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  test.each(versions)('every environment applies cleanly on kube-apiserver %s', (version) => {
    const result = spawnSync('bash', [join(REPO_ROOT, 'test', 'apiserver', 'run.sh'), ...directories], {
      encoding: 'utf8',
      env: { ...process.env, K8S_VERSION: version },
      timeout: LIMIT_MS,
    });
    const output = result.stdout + result.stderr;

    expect(output).toContain(`${directories.length} passed, 0 failed`);
    expect(result.status).toBe(0);
  }, LIMIT_MS);

  test('a misspelled field fails the dry run', () => {
    // GIVEN the example output with one field misspelled
    const broken = join(outDir, '..', `${outDir.split('/').pop()}-broken`);
    mkdirSync(broken);
    for (const file of readdirSync(join(outDir, 'example'))) {
      let text = readFileSync(join(outDir, 'example', file), 'utf8');
      if (file === 'server-a.yaml') {
        text = text.replace('minReadySeconds:', 'minReadySecond:');
      }
      writeFileSync(join(broken, file), text);
    }

    try {
      // WHEN
      const result = spawnSync('bash', [join(REPO_ROOT, 'test', 'apiserver', 'run.sh'), broken], { encoding: 'utf8', timeout: LIMIT_MS });

      // THEN
      expect(result.status).toBe(1);
      expect(result.stdout + result.stderr).toContain('unknown field "spec.minReadySecond"');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, LIMIT_MS);
});
