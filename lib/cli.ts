import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load';
import { EnvironmentConfig } from './config/schema';
import { renderEnvironment } from './output/render';
import { writeEnvironment } from './output/write';

/** Exit status for invalid configuration or arguments. */
export const EXIT_INVALID_INPUT = 2;
/** Exit status for a failure of the tool itself. */
export const EXIT_INTERNAL_ERROR = 1;

const USAGE = `Usage: npm run synth -- [--config FILE]... [--out DIR]

Synthesizes Kubernetes manifests for Morphogen environments into DIR/<name>/.

  --config FILE  environment file to synthesize (repeatable); default: every
                 config/*.yaml
  --out DIR      output folder; default: dist
  --help         print this text

Operator variables of the compose bundle (MORPHOGEN_SERVER_IMAGE, ...)
override the files; see README.md.`;

/** Output streams, replaceable in tests. */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const consoleIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Every environment file in a folder, in a stable order. */
export function configFilesIn(directory: string): string[] {
  return readdirSync(directory)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => join(directory, file));
}

/**
 * Runs the synth command and returns its exit status. Every configuration
 * is validated before anything is written, so one bad file leaves all
 * output untouched.
 */
export function runSynth(argv: string[], env: Record<string, string | undefined>, io: Io = consoleIo, cwd = process.cwd()): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', multiple: true },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    io.err(`error: ${(error as Error).message}`);
    io.err(USAGE);
    return EXIT_INVALID_INPUT;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }

  const files = args.values.config ?? configFilesIn(resolve(cwd, 'config'));
  if (files.length === 0) {
    io.err('error: no environment files found in config/; pass --config FILE');
    return EXIT_INVALID_INPUT;
  }

  const configs: EnvironmentConfig[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      configs.push(loadConfigFile(resolve(cwd, file), env));
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      problems.push(...error.problems);
    }
  }
  const names = configs.map((config) => config.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    problems.push(`name: "${duplicate}" is used by two environment files; give each environment its own name`);
  }
  if (problems.length > 0) {
    for (const problem of problems) {
      io.err(problem);
    }
    io.err(`error: ${problems.length} configuration problem(s); nothing was written`);
    return EXIT_INVALID_INPUT;
  }

  const outDir = resolve(cwd, args.values.out ?? 'dist');
  const rendered = configs.map((config) => ({ config, files: renderEnvironment(config) }));
  for (const { config, files } of rendered) {
    const target = writeEnvironment(outDir, config.name, files);
    io.out(`${config.name}: wrote ${files.size} files to ${target}`);
  }
  return 0;
}
