import type { Pool } from 'mysql2/promise';
import { createRedisClient, type RedisClient } from './cache/redis-client';
import type { Config } from './config';
import { createDatabase, createPool, type Database } from './db/client';
import { ReadReplicas, replicaName } from './db/read-replicas';

/** The service's connections: MySQL's pool (and its replicas'), and the Redis client. */
export interface Connections {
  pool: Pool;
  db: Database;
  replicas: ReadReplicas | undefined;
  redis: RedisClient;
  /** Disconnects Redis and ends every pool (after the core has stopped). */
  close(): Promise<void>;
}

/**
 * Opens every pool and client the settings name, in the one place that does (the
 * service's main.ts and the operator tools call it; the migrations open a short-lived
 * connection of their own, db/migrate.ts). Nothing is asked to answer here: pools are
 * lazy, and the Redis client connects when told (the caller decides what a server
 * that does not answer means). `deadlines: false` leaves MySQL unbounded, for tools
 * whose chunks may take as long as they need.
 */
export function openConnections(config: Config, options: { deadlines?: boolean } = {}): Connections {
  const deadlines = options.deadlines === false ? undefined : config.mysql.deadlines;
  const pool = createPool(config.mysql);
  const db = createDatabase(pool, undefined, deadlines);
  // Read replicas, only for the reads Redis cannot answer (see EntityReads.loadPastCache).
  // Their pools are lazy: a replica that is down fails its reads, which the primary then answers.
  const replicaPools = config.mysql.replicaUrls.map((url) => ({ name: replicaName(url), pool: createPool({ url, poolSize: config.mysql.poolSize }) }));
  const replicas =
    replicaPools.length > 0 ? new ReadReplicas(replicaPools.map((r) => ({ name: r.name, db: createDatabase(r.pool, undefined, deadlines) }))) : undefined;
  // A Redis Cluster's client when REDIS_CLUSTER_NODES is set (see cache/redis-client.ts).
  const redis = createRedisClient(config.redis);
  return {
    pool,
    db,
    replicas,
    redis,
    async close() {
      redis.disconnect();
      await pool.end();
      await Promise.all(replicaPools.map((r) => r.pool.end()));
    },
  };
}
