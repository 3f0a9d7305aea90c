import { EXIT_INTERNAL_ERROR, runSynth } from './lib/cli';

try {
  process.exitCode = runSynth(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = EXIT_INTERNAL_ERROR;
}
