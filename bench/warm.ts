/**
 * `npm run bench:warm`: how fast `warmEntity` fills the cache, and what a cached
 * user costs Redis in memory. On a database and key prefix of its own (both removed
 * afterwards), against the MySQL and Redis at MYSQL_URL's server and REDIS_URL.
 * `npm run bench` runs the same measurement (scenario 5) on its private redis-server.
 *
 * BENCH_USERS (default 100000) and BENCH_CHUNK (default 1000) change the run. Memory
 * is Redis's used_memory before and after, so other clients writing to the same
 * Redis during the run skew it.
 */
import type { Redis } from 'ioredis';
import { cachedEntities } from '../src/tools/entities';
import { warmEntity, type WarmSummary } from '../src/tools/warm';
import { openBenchGraph } from './bench-graph';

const INSERT_BATCH = 5000;

export interface WarmMeasurement {
  users: number;
  chunk: number;
  insertSeconds: number;
  summary: WarmSummary;
  memoryBytes: number;
  bytesPerUser: number;
  valueBytes: number;
  keyBytes: number;
}

export async function measureWarm(options: { users: number; chunk: number; redisUrl?: string }): Promise<WarmMeasurement> {
  const { users: USERS, chunk: CHUNK } = options;
  // Bulk writes of thousands of keys need more than a request's command timeout.
  const { db, pool, redis, core, close } = await openBenchGraph({
    name: 'warm',
    poolSize: 4,
    commandTimeoutMs: 2_000,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  try {
    const started = performance.now();
    for (let first = 0; first < USERS; first += INSERT_BATCH) {
      const values = [];
      for (let i = first; i < Math.min(USERS, first + INSERT_BATCH); i++) {
        values.push([`Bench user ${i}`, `user${i}@bench.test`, i % 3 === 0 ? `Bio of user ${i}.` : null]);
      }
      await pool.query('INSERT INTO users (name, email, bio) VALUES ?', [values]);
    }
    const insertSeconds = (performance.now() - started) / 1000;
    const memoryBefore = await usedMemory(redis);
    const summary = await warmEntity({ db, cache: core.cache }, cachedEntities(core).user, { chunk: CHUNK });
    const memoryBytes = (await usedMemory(redis)) - memoryBefore;
    const sample = await redis.get(core.users.cacheLayout.key(1));
    return {
      users: USERS,
      chunk: CHUNK,
      insertSeconds,
      summary,
      memoryBytes,
      bytesPerUser: memoryBytes / summary.set,
      valueBytes: Buffer.byteLength(sample ?? ''),
      keyBytes: core.users.cacheLayout.key(1).length,
    };
  } finally {
    await close();
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

async function main(): Promise<void> {
  const m = await measureWarm({ users: Number(process.env.BENCH_USERS ?? 100_000), chunk: Number(process.env.BENCH_CHUNK ?? 1000) });
  const { summary } = m;
  console.log(`inserted ${m.users.toLocaleString('en-US')} users in ${m.insertSeconds.toFixed(1)} s`);
  console.log(
    `warmed ${summary.rows.toLocaleString('en-US')} users in ${(summary.ms / 1000).toFixed(2)} s, chunks of ${m.chunk}: ` +
      `${Math.round(summary.perSecond).toLocaleString('en-US')} users/s ` +
      `(${summary.set} set, ${summary.alreadyNewer} already current, ${summary.failed} failed)`,
  );
  console.log(`Redis used_memory: +${(m.memoryBytes / 1024 / 1024).toFixed(1)} MiB, ${Math.round(m.bytesPerUser)} bytes per cached user`);
  console.log(`a cached value is ${m.valueBytes} bytes, its key ${m.keyBytes}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
