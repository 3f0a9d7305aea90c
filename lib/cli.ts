import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import { ConfigError, loadConfigFile, parseConfigFrom, readConfigFile } from './config/load';
import { migrateEnvFile, withVariableSources } from './config/migrate';
import { secretVariableProblems } from './config/secrets';
import { configWarnings } from './config/warnings';
import { EnvironmentConfig } from './config/schema';
import { renderEnvironment } from './output/render';
import { writeEnvironment } from './output/write';

/** Exit status for invalid configuration or arguments. */
export const EXIT_INVALID_INPUT = 2;
/** Exit status for a failure of the tool itself. */
export const EXIT_INTERNAL_ERROR = 1;

const USAGE = `Usage: npm run synth -- [--config FILE]... [--env-file FILE] [--out DIR]

Synthesizes Kubernetes manifests for Morphogen environments into DIR/<name>/.

  --config FILE    environment file to synthesize (repeatable); default: every
                   config/*.yaml
  --env-file FILE  operator env file of the compose bundle to migrate; applied
                   over one --config file, or over built-in defaults
  --out DIR        output folder; default: dist
  --help           print this text

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

/** Lists the environment files of a folder in a stable order. */
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
        'env-file': { type: 'string' },
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

  const secretProblems = secretVariableProblems(env, () => 'environment');
  if (secretProblems.length > 0) {
    for (const problem of secretProblems) {
      io.err(problem);
    }
    io.err('error: secret values in the environment; nothing was written');
    return EXIT_INVALID_INPUT;
  }

  const configs: EnvironmentConfig[] = [];
  const problems: string[] = [];
  const collect = (load: () => EnvironmentConfig) => {
    try {
      configs.push(load());
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      problems.push(...error.problems);
    }
  };

  const envFile = args.values['env-file'];
  if (envFile !== undefined) {
    if ((args.values.config?.length ?? 0) > 1) {
      io.err('error: --env-file applies to one environment; pass at most one --config');
      return EXIT_INVALID_INPUT;
    }
    collect(() => {
      const path = resolve(cwd, envFile);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw new ConfigError([`${envFile}: cannot read the env file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}); check the path given to --env-file`]);
      }
      const base = args.values.config?.[0];
      const migration = migrateEnvFile(text, envFile, base === undefined ? undefined : readConfigFile(resolve(cwd, base)));
      for (const notice of migration.notices) {
        io.err(`note: ${notice}`);
      }
      // Variables set in the environment win over the file, as in compose.
      const overrides = { ...migration.overrides, ...Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== '')) };
      try {
        return parseConfigFrom(base ?? envFile, migration.raw, overrides);
      } catch (error) {
        if (error instanceof ConfigError) {
          throw new ConfigError(withVariableSources(error.problems, envFile, text));
        }
        throw error;
      }
    });
  } else {
    const files = args.values.config ?? configFilesIn(resolve(cwd, 'config'));
    if (files.length === 0) {
      io.err('error: no environment files found in config/; pass --config FILE');
      return EXIT_INVALID_INPUT;
    }
    for (const file of files) {
      collect(() => loadConfigFile(resolve(cwd, file), env));
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

  for (const config of configs) {
    for (const warning of configWarnings(config, env)) {
      io.err(`warning: ${config.name}: ${warning}`);
    }
  }

  const outDir = resolve(cwd, args.values.out ?? 'dist');
  // The cdk8s CLI empties its output folder before it runs the app, so it
  // gets a copy in CDK8S_OUTDIR and dist/ stays untouched on bad input.
  const outDirs = env.CDK8S_OUTDIR === undefined ? [outDir] : [outDir, resolve(cwd, env.CDK8S_OUTDIR)];
  const rendered = configs.map((config) => ({ config, files: renderEnvironment(config) }));
  for (const { config, files } of rendered) {
    for (const directory of outDirs) {
      let target: string;
      try {
        target = writeEnvironment(directory, config.name, files);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === undefined) {
          throw error;
        }
        io.err(`error: cannot write ${join(directory, config.name)} (${code}); check that --out names a writable folder`);
        return EXIT_INVALID_INPUT;
      }
      io.out(`${config.name}: wrote ${files.size} files to ${target}`);
    }
  }
  return 0;
}
