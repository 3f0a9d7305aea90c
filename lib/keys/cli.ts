import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_INTERNAL_ERROR, EXIT_INVALID_INPUT, Io } from '../cli';
import { parseEnvFile } from '../config/env-file';
import { ConfigError, loadConfigFile } from '../config/load';
import {
  DEFAULT_PRG_SECRET_TARGETS,
  PRG_KEY_VARIABLES,
  RandomSource,
  checkPrgKeys,
  generatePrgKeys,
  prgSecretTargets,
  secretCommands,
  secretManifests,
} from './prg-keys';

const USAGE = `Usage: npm run keys -- generate [--config FILE] [--format commands|manifests]
       npm run keys -- check --env-file FILE

generate  creates new random page PRG keys for servers A and B and prints
          them to stdout; it writes no file.
  --config FILE    environment file that names the Secrets, and whose
                   server namespaces receive them; without it:
                   morphogen-server-a-prg-keys and
                   morphogen-server-b-prg-keys in namespace morphogen,
                   which is not where a prod environment runs its servers
  --format FORMAT  commands: one \`kubectl create secret generic\` per server
                   (default); manifests: a YAML stream of two Secrets, for
                   example to pipe into kubeseal

check     validates the four PRG keys of an operator env file
          (MORPHOGEN_SERVER_{A,B}_PAGE_PRG_KEY_{0,1}) by the servers' prod
          rules, without printing any key.
  --env-file FILE  the env file to check

  --help           print this text

When piping stdout, run \`npm run --silent keys -- ...\`, because npm
otherwise prints its own header lines to stdout. Some kubeseal releases seal
only the first document of a stream, so check that two SealedSecrets come
out.

Exit status: 0 on success, 2 on invalid input, 1 on an internal error.`;

const consoleIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Settings of runKeys that tests replace. */
export interface KeysOptions {
  readonly cwd?: string;
  readonly random?: RandomSource;
}

type Parsed = ReturnType<typeof parseArgs>;

function parseOptions(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, io: Io): Parsed | undefined {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    io.err(`error: ${(error as Error).message}`);
    io.err(USAGE);
    return undefined;
  }
}

function reportProblems(problems: string[], summary: string, io: Io): number {
  for (const problem of problems) {
    io.err(problem);
  }
  io.err(`error: ${summary}`);
  return EXIT_INVALID_INPUT;
}

function runGenerate(argv: string[], io: Io, options: KeysOptions): number {
  const args = parseOptions(argv, { config: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean' } }, io);
  if (args === undefined) {
    return EXIT_INVALID_INPUT;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }

  const format = args.values.format ?? 'commands';
  if (format !== 'commands' && format !== 'manifests') {
    io.err(`error: --format must be commands or manifests, not "${String(format)}"`);
    io.err(USAGE);
    return EXIT_INVALID_INPUT;
  }

  let targets = DEFAULT_PRG_SECRET_TARGETS;
  const config = args.values.config;
  if (typeof config === 'string') {
    // No environment overrides: none of them changes a Secret name or
    // namespace, and an unrelated bad override should not block key creation.
    try {
      targets = prgSecretTargets(loadConfigFile(resolve(options.cwd ?? process.cwd(), config), {}));
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      return reportProblems(error.problems, `${error.problems.length} configuration problem(s); no keys were generated`, io);
    }
  }
  const keys = generatePrgKeys(options.random);
  if (format === 'commands') {
    secretCommands(keys, targets).forEach((command) => io.out(command));
    io.err('note: these commands contain new secret PRG keys; pipe them into sh (npm run --silent keys -- generate --config config/<env>.yaml | sh) rather than pasting them, so the keys stay out of shell history, and never save or commit them');
  } else {
    io.out(secretManifests(keys, targets).trimEnd());
    io.err('note: these Secret manifests contain new secret PRG keys in plain text; seal or apply them straight from the pipe and never commit them');
  }
  return 0;
}

function runCheck(argv: string[], io: Io, options: KeysOptions): number {
  const args = parseOptions(argv, { 'env-file': { type: 'string' }, help: { type: 'boolean' } }, io);
  if (args === undefined) {
    return EXIT_INVALID_INPUT;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.values['env-file'];
  if (typeof file !== 'string') {
    io.err('error: check needs --env-file FILE');
    io.err(USAGE);
    return EXIT_INVALID_INPUT;
  }

  let text: string;
  try {
    text = readFileSync(resolve(options.cwd ?? process.cwd(), file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    return reportProblems([`${file}: cannot read the env file (${code}); check the path given to --env-file`], 'the env file was not checked', io);
  }

  let entries;
  try {
    entries = parseEnvFile(text, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
    return reportProblems(error.problems, `${error.problems.length} line(s) of ${file} do not parse; the PRG keys were not checked`, io);
  }

  const env = Object.fromEntries(entries.map((entry) => [entry.name, entry.value]));
  const lines = Object.fromEntries(entries.map((entry) => [entry.name, entry.line]));
  const problems = checkPrgKeys(env, lines, file);
  if (problems.length > 0) {
    return reportProblems(problems, `${problems.length} PRG key problem(s) in ${file}`, io);
  }
  io.out(`${PRG_KEY_VARIABLES.length} PRG keys valid`);
  return 0;
}

/**
 * Runs the keys command and returns its exit status. Neither subcommand
 * writes a file, and only `generate` prints keys, to stdout alone.
 */
export function runKeys(argv: string[], io: Io = consoleIo, options: KeysOptions = {}): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'generate':
        return runGenerate(rest, io, options);
      case 'check':
        return runCheck(rest, io, options);
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
      default:
        io.err(command === undefined ? 'error: missing subcommand' : `error: unknown subcommand "${command}"`);
        io.err(USAGE);
        return EXIT_INVALID_INPUT;
    }
  } catch (error) {
    io.err(`internal error: ${(error as Error).stack ?? String(error)}`);
    return EXIT_INTERNAL_ERROR;
  }
}

if (require.main === module) {
  process.exitCode = runKeys(process.argv.slice(2));
}
