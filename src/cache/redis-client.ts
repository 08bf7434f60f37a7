import { Cluster, type Redis } from 'ioredis';
import { noMetrics, type CoreMetrics } from '../writethrough/core-metrics';
import type { Cache } from './cache';
import { createRedis, type RedisSettings } from './client';
import { ClusterCache } from './cluster-cache';
import { ClusterNotReadyError } from './cluster-not-ready-error';
import { clusterMasters, createRedisCluster } from './cluster-client';
import { RedisCache } from './redis-cache';

/** A single Redis server's client, or a Redis Cluster's. */
export type RedisClient = Redis | Cluster;

/**
 * The edge's one choice between a single Redis and a cluster: REDIS_CLUSTER_NODES
 * set means a cluster. Not connected; see connectRedis.
 */
export function createRedisClient(settings: RedisSettings): RedisClient {
  const { clusterNodes } = settings;
  return clusterNodes && clusterNodes.length > 0 ? createRedisCluster({ ...settings, clusterNodes }) : createRedis(settings);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * The Cache the core reads and writes through, for the client it is given: a single
 * server keeps RedisCache, the one-round-trip path, untouched; a cluster gets
 * ClusterCache, one round trip per node.
 */
export function createCache(client: RedisClient, metrics: CoreMetrics = noMetrics): Cache {
  return isCluster(client) ? new ClusterCache(client, metrics) : new RedisCache(client, metrics);
}

/**
 * For readiness: a single server answers PING; a cluster is ready when every master
 * that serves slots answers. A PING sent to the cluster client would ask one node at
 * random; and the masters the client is connected to are not enough either, since it
 * drops the connection to a master that died, while the slots that master served are
 * still its own, and every batch with a key there fails.
 */
export async function pingRedis(client: RedisClient): Promise<void> {
  if (!isCluster(client)) {
    await client.ping();
    return;
  }
  if (client.status !== 'ready') throw new ClusterNotReadyError(client.status);
  const serving = new Set<string>();
  for (const owners of client.slots) if (owners?.[0]) serving.add(owners[0]);
  if (serving.size === 0) throw new Error('Redis Cluster: the client knows no master that serves slots');
  const connected = new Map(clusterMasters(client).map((master) => [`${master.options.host}:${master.options.port}`, master]));
  await Promise.all(
    [...serving].map(async (node) => {
      const master = connected.get(node);
      if (!master) throw new Error(`Redis Cluster master ${node} serves slots but is not connected`);
      await master.ping();
    }),
  );
}
