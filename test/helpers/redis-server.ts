import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../../src/dev/free-port';
import { answersPing } from '../../src/dev/redis-server';
import { pollUntil } from './poll';

/**
 * A redis-server of the test's own, on a free port, that the test may stop, kill or
 * pause without touching the shared one. Only this process is ever signalled, by PID.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  pid: number;
  /** SIGSTOP: the server keeps its sockets open but answers nothing. */
  pause(): void;
  resume(): void;
  /** Stops the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port: empty, or with what it had, if persistent. */
  restart(): Promise<void>;
  /** Kills it and removes its data. */
  dispose(): Promise<void>;
  /** Per-command call counts, read from the server's INFO commandstats. */
  commandCounts(): Promise<Record<string, number>>;
}

/**
 * `persistent`: an append-only file synced on every write, so that a server killed
 * with SIGKILL comes back with everything it had executed, stale values included.
 */
export async function startPrivateRedis(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = options.persistent ? await mkdtemp(join(tmpdir(), 'tl-redis-')) : undefined;
  let child = await launch(port, dir);
  // One long-lived admin connection, so reading the stats adds nothing but INFO.
  let admin: Redis | undefined;

  const self: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async kill() {
      admin?.disconnect();
      admin = undefined;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    async restart() {
      await self.kill();
      child = await launch(port, dir);
    },
    async dispose() {
      await self.kill();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
    async commandCounts() {
      if (!admin) {
        admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
        admin.on('error', () => {}); // the tests kill this server; commands report their own errors
        await admin.connect();
      }
      return parseCommandStats(await admin.info('commandstats'));
    },
  };
  return self;
}

async function launch(port: number, dir: string | undefined): Promise<ChildProcess> {
  const persistence = dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--loglevel', 'warning'], {
    stdio: 'ignore',
  });
  await pollUntil(`redis-server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    return answersPing({ host: '127.0.0.1', port });
  });
  return child;
}

/** `cmdstat_mget:calls=3,usec=…` lines → { mget: 3 }. */
export function parseCommandStats(info: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** The commands run between two readings, leaving out the INFO calls that took them. */
export function commandsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after)) {
    const delta = calls - (before[command] ?? 0);
    if (delta > 0 && command !== 'info') diff[command] = delta;
  }
  return diff;
}
