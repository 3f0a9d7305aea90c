import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderEnvironment } from '../lib/output/render';
import { writeEnvironment } from '../lib/output/write';
import { configOf, exampleConfig, REPO_ROOT } from './support/fixtures';
import { configJsonSchema, withConfigReference } from '../lib/config/json-schema';

describe('writeEnvironment', () => {
  let outDir: string;

  beforeEach(() => {
    outDir = mkdtempSync(join(tmpdir(), 'output-'));
    mkdirSync(join(outDir, 'unit'));
    writeFileSync(join(outDir, 'unit', 'server-a.yaml'), 'previous\n');
    writeFileSync(join(outDir, 'unit', 'retired-component.yaml'), 'previous\n');
  });

  afterEach(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  test('failure after some files leaves the previous output', () => {
    const files = renderEnvironment(configOf());
    let written = 0;

    expect(() => writeEnvironment(outDir, 'unit', files, () => {
      written += 1;
      if (written === 2) {
        throw new Error('disk full');
      }
    })).toThrow('disk full');

    expect(readdirSync(join(outDir, 'unit')).sort()).toEqual(['retired-component.yaml', 'server-a.yaml']);
    expect(readFileSync(join(outDir, 'unit', 'server-a.yaml'), 'utf8')).toBe('previous\n');
    expect(readdirSync(outDir)).toEqual(['unit']);
  });

  test('files of removed components disappear', () => {
    writeEnvironment(outDir, 'unit', renderEnvironment(configOf()));

    expect(existsSync(join(outDir, 'unit', 'retired-component.yaml'))).toBe(false);
    expect(readdirSync(outDir)).toEqual(['unit']);
  });

  test('unparsable YAML never replaces the output', () => {
    const files = new Map([['broken.yaml', 'a: [unclosed\n']]);

    expect(() => writeEnvironment(outDir, 'unit', files)).toThrow('generated YAML does not parse');
    expect(readFileSync(join(outDir, 'unit', 'server-a.yaml'), 'utf8')).toBe('previous\n');
  });
});

describe('secret scan of all output', () => {
  // Hex runs of 32 characters look like PRG keys; digests (64) and
  // checksums are longer and skipped by the word boundaries.
  const KEY_LIKE = /(?<![0-9a-fA-F])(0x)?[0-9a-fA-F]{32}(?![0-9a-fA-F])/;
  const TOKEN_LIKE = /(bearer\s+[A-Za-z0-9._-]{8,}|api[-_]?key|REDACTED|password\s*[:=]\s*\S)/i;

  function outputFiles(): [string, string][] {
    const root = join(REPO_ROOT, 'dist');
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry): [string, string] => [join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name), 'utf8')]);
  }

  test('dist has output to scan', () => {
    expect(outputFiles().length).toBeGreaterThan(0);
  });

  test.each(outputFiles())('%s holds no key or token', (_file, text) => {
    expect(text).not.toMatch(KEY_LIKE);
    expect(text).not.toMatch(TOKEN_LIKE);
  });

  test('the scan finds a planted key', () => {
    expect('value: 0x00112233445566778899aabbccddeeff').toMatch(KEY_LIKE);
  });
});

describe('generated documentation', () => {
  test('config/schema.json matches the zod schema', () => {
    expect(readFileSync(join(REPO_ROOT, 'config', 'schema.json'), 'utf8')).toBe(configJsonSchema());
  });

  test('README configuration reference matches the zod schema', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

    expect(withConfigReference(readme)).toBe(readme);
  });

  test('example files point editors at the schema', () => {
    expect(readFileSync(join(REPO_ROOT, 'config', 'example.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/schema\.json$/m);
    expect(exampleConfig().name).toBe('example');
  });
});
