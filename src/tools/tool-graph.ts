import { connectRedis } from '../cache/client';
import type { RedisClient } from '../cache/redis-client';
import { openConnections } from '../connections';
import type { Config } from '../config';
import { coreSettings, createCore, type Core } from '../core';
import type { Database } from '../db/client';
import type { CoreLogger } from '../writethrough/logger';
import { cachedEntities, type CachedEntity, type EntityName } from './entities';
import { describeFailure, ToolError } from './tool-error';

export interface ToolGraph {
  db: Database;
  redis: RedisClient;
  core: Core;
  entities: Record<EntityName, CachedEntity>;
  close(): Promise<void>;
}

/** The tools print their own lines; the core's rare warnings go to stderr as text. */
const stderrLogger: CoreLogger = {
  debug() {},
  info() {},
  warn: (_, msg) => console.error(msg),
  error: (_, msg) => console.error(msg),
};

/**
 * The core main.ts builds, on connections of the tool's own, and no server. Both
 * servers are asked to answer before it returns, so that an unreachable one is
 * reported up front, by name, rather than as the first query's failure.
 */
export async function openToolGraph(config: Config): Promise<ToolGraph> {
  // A cluster's client when REDIS_CLUSTER_NODES is set: the tools work on either. No
  // MySQL deadlines: a tool's chunk may take as long as it needs. Replicas are not used.
  const { pool, db, redis, close } = openConnections(config, { deadlines: false });
  // ioredis reports every failed (re)connect as an 'error' event, and then fails
  // connect() with a bare "Connection is closed": the event says why.
  let lastRedisError: unknown;
  redis.on('error', (err: unknown) => {
    lastRedisError = err;
  });
  try {
    await ping('MySQL', 'MYSQL_URL', () => pool.query('SELECT 1'));
    const redisVariable = config.redis.clusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
    await ping('Redis', redisVariable, () =>
      connectRedis(redis).catch((err: unknown) => {
        throw lastRedisError ?? err;
      }),
    );
  } catch (err) {
    await close();
    throw err;
  }
  // Not started: a tool needs neither the failure feed nor the repair worker. No
  // breaker either: a tool should see Redis's own errors, not a circuit's verdict.
  const core = createCore({ db, redis, logger: stderrLogger, ...coreSettings(config), breaker: undefined });
  return { db, redis, core, entities: cachedEntities(core), close };
}

async function ping(server: string, variable: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    const e = err as { code?: string; address?: string; port?: number };
    if (e?.code === 'ECONNREFUSED' || e?.code === 'ETIMEDOUT' || e?.code === 'ENOTFOUND') {
      const at = e.address ? ` at ${e.address}:${e.port}` : '';
      throw new ToolError(`Cannot reach ${server} (${e.code}${at}): start it, or set ${variable}`, { cause: err });
    }
    throw new ToolError(`${server} did not answer: ${describeFailure(err)}`, { cause: err });
  }
}
