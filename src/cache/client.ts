import Redis, { type Cluster } from 'ioredis';

/** A Redis Cluster seed node (REDIS_CLUSTER_NODES): ioredis learns the rest of the cluster from it. */
export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisSettings {
  url: string;
  commandTimeoutMs: number;
  /** Set: a Redis Cluster client on these seed nodes instead (see cluster-client.ts and redis-client.ts). */
  clusterNodes?: readonly RedisNode[] | undefined;
}

/**
 * Creates the connection without opening it; the caller (the edge) connects.
 *
 * The options favour failing fast over waiting: a cache that is slow to answer is
 * worth less than MySQL, which is always there to fall back on.
 */
export function createRedis({ url, commandTimeoutMs }: RedisSettings): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    // Every command, even one queued in a pipeline, gives up after this; a write
    // that timed out may still land later, which the compare-and-set makes harmless.
    commandTimeout: commandTimeoutMs,
    // No offline queue and no resending after a reconnect: a cache write held back
    // while Redis is away would arrive later than anyone expects. Commands fail at
    // once instead, reads fall back to MySQL and writes are reported as failed.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Keep trying to reconnect, at most every two seconds.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
}

/** Opens the connection (on a cluster, to every master) and waits until Redis answers commands. */
export async function connectRedis(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  await redis.connect();
}
