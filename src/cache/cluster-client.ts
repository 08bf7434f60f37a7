import { Cluster, type RedisOptions } from 'ioredis';
import type { RedisNode } from './client';
import type { RedisSettings } from './client';

export interface RedisClusterSettings extends RedisSettings {
  /** Seed nodes; ioredis asks them for the slot map and connects to every master. */
  clusterNodes: readonly RedisNode[];
}

/**
 * Creates a Redis Cluster client without connecting it; the caller (the edge)
 * connects. The same promises as the single client (client.ts), kept on a cluster:
 *
 * - every command gives up after `commandTimeoutMs` (the timer starts when it is
 *   first sent and is not restarted by a redirection);
 * - no offline queue, and nothing sent again after a connection closed: a cache
 *   write held back while a node is away would arrive later than anyone expects.
 *   ioredis's cluster retries a command that met a closed connection after
 *   `retryDelayOnFailover`, and one that met CLUSTERDOWN after
 *   `retryDelayOnClusterDown`; both are 0 here, which turns those resends off.
 *
 * What ioredis still does, by design: it follows MOVED and ASK (at most
 * `maxRedirections`, 16) and retries TRYAGAIN (a multi-key command caught in a slot
 * migration). A redirected command was not run by the node that refused it, so
 * sending it on is no resend; and the compare-and-set's deadline refuses a write that
 * arrives too late whatever path it took.
 *
 * The password, user and TLS of REDIS_URL, if any, apply to every node.
 */
export function createRedisCluster({ url, commandTimeoutMs, clusterNodes }: RedisClusterSettings): Cluster {
  return new Cluster(
    clusterNodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      // Keep trying to reach the cluster, at most every two seconds, like the single client.
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      slotsRefreshTimeout: 2_000,
      redisOptions: {
        connectTimeout: 2_000,
        commandTimeout: commandTimeoutMs,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        ...credentials(url),
      },
    },
  );
}

/** The masters the client knows now, one connection each (what SCAN and readiness must visit). */
export function clusterMasters(cluster: Cluster) {
  return cluster.nodes('master');
}

function credentials(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
