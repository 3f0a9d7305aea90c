import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { RenderedFiles } from './render';

/** Hook for tests: called after each file is written to the staging directory. */
export type AfterFileHook = (file: string) => void;

/** Parses every written file back, so a file that would not load never replaces good output. */
function checkStaged(directory: string, files: RenderedFiles): void {
  for (const [name, text] of files) {
    for (const document of parseAllDocuments(text)) {
      if (document.errors.length > 0) {
        throw new Error(`${join(directory, name)}: generated YAML does not parse: ${document.errors[0].message}`);
      }
    }
  }
}

/**
 * Replaces `outDir/name` with the rendered files. The files are written to
 * a staging directory next to it and checked there. Only then do two
 * renames swap it in, so a failure at any earlier step leaves the previous
 * output as it was, and files of removed components disappear.
 */
export function writeEnvironment(outDir: string, name: string, files: RenderedFiles, afterFile?: AfterFileHook): string {
  mkdirSync(outDir, { recursive: true });
  const target = join(outDir, name);
  const staging = mkdtempSync(join(outDir, `.staging-${name}-`));
  try {
    // mkdtemp creates the folder as 0700; the output is meant to be shared.
    chmodSync(staging, 0o755);
    for (const [file, text] of files) {
      writeFileSync(join(staging, file), text);
      afterFile?.(file);
    }
    checkStaged(staging, files);

    // NOTE: two renames, not one atomic exchange: if the process dies
    // between them, the previous output is left in the .previous- folder.
    const previous = `${staging.replace('.staging-', '.previous-')}`;
    if (existsSync(target)) {
      renameSync(target, previous);
    }
    renameSync(staging, target);
    rmSync(previous, { recursive: true, force: true });
    return target;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
