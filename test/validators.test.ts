import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSynth } from '../lib/cli';
import { REPO_ROOT } from './support/fixtures';

// The external validators need a few minutes to build on a fresh machine,
// so they run when MORPHOGEN_VALIDATORS=1, as .ci/run sets it.
const enabled = process.env.MORPHOGEN_VALIDATORS === '1';

(enabled ? describe : describe.skip)('external validators', () => {
  let outDir: string;

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'validators-'));
    runSynth(['--out', outDir], {}, { out: () => {}, err: () => {} }, REPO_ROOT);
  });

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  test('kubeconform and Checkov report zero findings on every environment', () => {
    const result = spawnSync('bash', [join(REPO_ROOT, '.ci', 'validators.sh'), ...readdirSync(outDir).map((env) => join(outDir, env))], {
      encoding: 'utf8',
      timeout: 20 * 60 * 1000,
    });

    expect(result.stdout + result.stderr).toContain('reported zero findings');
    expect(result.status).toBe(0);
  }, 20 * 60 * 1000);
});
