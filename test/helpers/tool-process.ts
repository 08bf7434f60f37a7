import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

export interface ToolRun {
  child: ChildProcess;
  /** Resolves when the process has exited, with everything it printed. */
  finished: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Runs one of scripts/ as `npm run` would (without npm), with the environment given
 * and nothing else inherited but PATH.
 */
export function startTool(script: string, args: string[], env: Record<string, string>): ToolRun {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolveExit) => child.once('close', (code, signal) => resolveExit({ code, signal, stdout, stderr })),
  );
  return { child, finished };
}

export function runTool(script: string, args: string[], env: Record<string, string>) {
  return startTool(script, args, env).finished;
}
