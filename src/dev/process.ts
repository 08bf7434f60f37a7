import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

const POLL_INTERVAL_MS = 100;

/** Runs a command to completion; on failure the error carries its stdout and stderr. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number },
): Promise<{ stdout: string; stderr: string }> {
  const options = { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    execFile(command, args, options, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** Polls without overlapping attempts; `stop` ends the wait early (e.g. the server exited). */
export async function pollUntil(
  check: () => Promise<boolean>,
  deadline: number,
  stop: () => boolean = () => false,
): Promise<boolean> {
  while (!stop()) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return false;
}

export async function findExecutable(names: string[], dirs: string[]): Promise<string | undefined> {
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (await exists(candidate, fsConstants.X_OK)) return candidate;
    }
  }
  return undefined;
}

export async function exists(path: string, mode = fsConstants.F_OK): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}
