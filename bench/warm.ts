/**
 * `npx tsx bench/warm.ts`: how fast `warmEntity` fills the cache, and what a cached
 * user costs Redis in memory. On a database and key prefix of its own (both removed
 * afterwards), against the MySQL and Redis at MYSQL_URL's server and REDIS_URL.
 *
 * BENCH_USERS (default 100000) and BENCH_CHUNK (default 1000) change the run. Memory
 * is Redis's used_memory before and after, so other clients writing to the same
 * Redis during the run skew it.
 */
import type { Redis } from 'ioredis';
import { cachedEntities } from '../src/tools/entities';
import { warmEntity } from '../src/tools/warm';
import { openBenchGraph } from './bench-graph';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1000);
const INSERT_BATCH = 5000;

async function main(): Promise<void> {
  // Bulk writes of thousands of keys need more than a request's command timeout.
  const { db, pool, redis, core, close } = await openBenchGraph({ name: 'warm', poolSize: 4, commandTimeoutMs: 2_000 });
  try {
    let started = performance.now();
    for (let first = 0; first < USERS; first += INSERT_BATCH) {
      const values = [];
      for (let i = first; i < Math.min(USERS, first + INSERT_BATCH); i++) {
        values.push([`Bench user ${i}`, `user${i}@bench.test`, i % 3 === 0 ? `Bio of user ${i}.` : null]);
      }
      await pool.query('INSERT INTO users (name, email, bio) VALUES ?', [values]);
    }
    console.log(`inserted ${USERS.toLocaleString('en-US')} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const memoryBefore = await usedMemory(redis);
    started = performance.now();
    const summary = await warmEntity({ db, cache: core.cache }, cachedEntities(core).user, { chunk: CHUNK });
    const memoryAfter = await usedMemory(redis);
    console.log(
      `warmed ${summary.rows.toLocaleString('en-US')} users in ${(summary.ms / 1000).toFixed(2)} s, chunks of ${CHUNK}: ` +
        `${Math.round(summary.perSecond).toLocaleString('en-US')} users/s ` +
        `(${summary.set} set, ${summary.alreadyNewer} already current, ${summary.failed} failed)`,
    );
    const perUser = (memoryAfter - memoryBefore) / summary.set;
    console.log(
      `Redis used_memory: +${((memoryAfter - memoryBefore) / 1024 / 1024).toFixed(1)} MiB, ${Math.round(perUser)} bytes per cached user`,
    );
    const sample = await redis.get(core.users.cacheLayout.key(1));
    console.log(`a cached value is ${Buffer.byteLength(sample ?? '')} bytes, its key ${core.users.cacheLayout.key(1).length}`);
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

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
