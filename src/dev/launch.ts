import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { errorText, ServicesUnavailableError } from './errors';
import { pollUntil } from './process';
import type { Context, PrivateServer } from './types';

export interface LaunchSpec {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
}

/**
 * Starts the server detached, with its output in `logFile`, so it outlives `npm start`
 * (restarting the API should not mean re-initialising its databases). Waits until it
 * is ready; if it exits or the time runs out first, stops it and reports its log.
 */
export async function launch(spec: LaunchSpec, isReady: () => Promise<boolean>, ctx: Context): Promise<PrivateServer> {
  await mkdir(ctx.dataDir, { recursive: true });
  const child = spawnDetached(spec.command, spec.args, spec.logFile);
  const exited = exitWatcher(child);
  const outcome = await pollUntil(isReady, Date.now() + ctx.timeoutMs, exited.hasExited).catch(errorText);
  if (outcome === true && child.pid !== undefined) {
    return { pid: child.pid, logFile: spec.logFile, pidFile: spec.pidFile };
  }
  // We started it and it is of no use: do not leave it running behind the user's back.
  if (!exited.hasExited()) child.kill('SIGTERM');
  const why =
    typeof outcome === 'string'
      ? `started, but ${outcome}`
      : exited.hasExited()
        ? `exited (${exited.describe()})`
        : `did not answer within ${ctx.timeoutMs} ms`;
  throw new ServicesUnavailableError(
    `${spec.command} ${why}. Last lines of ${spec.logFile}:\n${await tail(spec.logFile)}`,
    `Fix the cause shown in ${spec.logFile}, or point the URL at a server that runs.`,
  );
}

function spawnDetached(command: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    // Without this the error event of a failed spawn (ENOENT, EACCES) would crash the process.
    child.on('error', () => undefined);
    child.unref();
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
}

function exitWatcher(child: ChildProcess): { hasExited: () => boolean; describe: () => string } {
  let status: string | undefined;
  child.once('exit', (code, signal) => (status = signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (err) => (status = err.message));
  return { hasExited: () => status !== undefined, describe: () => status ?? 'running' };
}

async function tail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
}
