/**
 * `npx tsx bench/warm.ts`: how fast `warmEntity` fills the cache, and what a cached
 * user costs Redis in memory. On a database and key prefix of its own (both removed
 * afterwards), against the MySQL and Redis at MYSQL_URL's server and REDIS_URL.
 *
 * BENCH_USERS (default 100000) and BENCH_CHUNK (default 1000) change the run. Memory
 * is Redis's used_memory before and after, so other clients writing to the same
 * Redis during the run skew it.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { connectRedis, createRedis } from '../src/cache/client';
import { loadConfig } from '../src/config';
import { createCore } from '../src/core';
import { createDatabase, createPool } from '../src/db/client';
import { migrateDatabase } from '../src/db/migrate';
import { cachedEntities } from '../src/tools/entities';
import { warmEntity } from '../src/tools/warm';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1000);
const INSERT_BATCH = 5000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dbName = `tl_bench_warm_${Date.now()}`;
  const url = new URL(config.mysql.url);
  url.pathname = `/${dbName}`;
  await migrateDatabase(url.toString());
  const pool = createPool({ url: url.toString(), poolSize: 4 });
  const db = createDatabase(pool);
  const redis = createRedis({ ...config.redis, commandTimeoutMs: Math.max(config.redis.commandTimeoutMs, 2_000) });
  await connectRedis(redis);
  const settings = { ...config.cache, keyPrefix: `tl:bench:${randomBytes(3).toString('hex')}:` };
  const core = createCore({
    db,
    redis,
    settings,
    repair: config.repair,
    failureFeedPollMs: config.failureFeedPollMs,
    instanceId: 'bench',
    logger: quiet,
  });

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
    for await (const keys of redis.scanStream({ match: `${settings.keyPrefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
    }
    redis.disconnect();
    await pool.end();
    const admin = await mysql.createConnection(config.mysql.url.replace(/\/[^/]*$/, '/'));
    await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await admin.end();
  }
}

async function usedMemory(redis: ReturnType<typeof createRedis>): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
