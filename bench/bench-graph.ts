import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { connectRedis, createRedis } from '../src/cache/client';
import { loadConfig } from '../src/config';
import { coreSettings, createCore } from '../src/core';
import { createDatabase, createPool } from '../src/db/client';
import { migrateDatabase } from '../src/db/migrate';
import { VERSIONED_TABLES } from '../src/entities';

export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The service's core on a throwaway database (on MYSQL_URL's server) and key prefix
 * (on REDIS_URL), so a benchmark never touches real data; `close()` drops both.
 */
export async function openBenchGraph(options: { name: string; poolSize: number; commandTimeoutMs?: number; redisUrl?: string }) {
  const env = loadConfig(process.env);
  const config = options.redisUrl ? { ...env, redis: { ...env.redis, url: options.redisUrl } } : env;
  const dbName = `tl_bench_${options.name}_${Date.now()}`;
  const url = new URL(config.mysql.url);
  url.pathname = `/${dbName}`;
  await migrateDatabase(url.toString(), { versionedTables: VERSIONED_TABLES });
  const pool = createPool({ url: url.toString(), poolSize: options.poolSize });
  const db = createDatabase(pool);
  const redis = createRedis({ ...config.redis, commandTimeoutMs: options.commandTimeoutMs ?? config.redis.commandTimeoutMs });
  await connectRedis(redis);
  const settings = { ...config.cache, keyPrefix: `tl:bench:${randomBytes(3).toString('hex')}:` };
  const core = createCore({ db, redis, logger: quiet, ...coreSettings(config), settings, breaker: undefined, instanceId: 'bench' });
  return {
    db,
    pool,
    redis,
    core,
    settings,
    async close() {
      for await (const keys of redis.scanStream({ match: `${settings.keyPrefix}*`, count: 1000 })) {
        if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
      }
      redis.disconnect();
      await pool.end();
      const admin = await mysql.createConnection(config.mysql.url.replace(/\/[^/]*$/, '/'));
      await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await admin.end();
    },
  };
}
