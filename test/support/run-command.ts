import { spawn } from 'node:child_process';

/** Outcome of running a container command on this machine. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/**
 * Runs a container `command` array as-is with the local sh and curl,
 * asynchronously so mock servers in this process keep responding. A guard
 * kills the process after `killAfterMs`, so a hanging script fails the test
 * instead of blocking it.
 */
export function runCommand(command: string[], killAfterMs = 60_000): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** Replaces the argument equal to `from` in a command, failing loudly when it is absent. */
export function withArgument(command: string[], from: string, to: string): string[] {
  const index = command.indexOf(from);
  if (index < 3) {
    throw new Error(`argument ${from} not found in command`);
  }
  return [...command.slice(0, index), to, ...command.slice(index + 1)];
}
