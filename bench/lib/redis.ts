import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort } from '../../src/dev/free-port';

/**
 * A redis-server of the bench's own, so that INFO commandstats and INFO memory see
 * only what the bench's services do (the shared Redis at REDIS_URL has other clients:
 * tests, a dev server). No persistence: nothing here needs to survive.
 */
export interface BenchRedis {
  url: string;
  pid: number;
  /** The bench's own connection (reading stats, deleting keys); its INFO calls are left out of the counts. */
  admin: Redis;
  /** Calls per command since start, top-level and inside Lua scripts alike. */
  commandCounts(): Promise<Record<string, number>>;
  usedMemory(): Promise<number>;
  version(): Promise<string>;
  /** SIGTERM to this PID only, then waits for it to exit. */
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => {}); // refused until the server listens; connect() reports it
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (is it installed?)`);
    try {
      await admin.connect();
      break;
    } catch (err) {
      if (attempt > 200) throw err;
      await sleep(20);
    }
  }
  const info = async (section: string) => admin.info(section);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    admin,
    async commandCounts() {
      const counts: Record<string, number> = {};
      for (const m of (await info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[m[1]!] = Number(m[2]);
      return counts;
    },
    async usedMemory() {
      return Number(/^used_memory:(\d+)/m.exec(await info('memory'))?.[1] ?? NaN);
    },
    async version() {
      return /^redis_version:(\S+)/m.exec(await info('server'))?.[1] ?? '?';
    },
    async stop() {
      admin.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Deletes every key under `prefix` (SCAN + UNLINK: never KEYS or FLUSHDB, other prefixes live here too). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
    if ((keys as string[]).length > 0) deleted += await redis.unlink(...(keys as string[]));
  }
  return deleted;
}
