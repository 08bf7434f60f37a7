import type { Redis } from 'ioredis';
import { clusterMasters } from '../cache/cluster-client';
import { isCluster, type RedisClient } from '../cache/redis-client';
import { ToolError } from './tool-error';

/**
 * The ids of every key that starts with `stem` (`<prefix><entity>:`), in batches of
 * about `batch`, each id once.
 *
 * SCAN walks the keyspace without blocking Redis, a slice per call, and may return a
 * key more than once (while the keyspace is rehashed), so the ids already yielded are
 * remembered: a few dozen bytes per key. Keys whose remainder is not an id are not
 * ones the service reads, and are passed over.
 *
 * On a Redis Cluster, SCAN walks only the node it is sent to, so every master is
 * walked in turn (replicas hold copies of their master's keys, so they are not). The
 * masters are those the client knows when the scan starts; a slot that migrates
 * during the scan may have its keys seen on both nodes (counted once) or on neither,
 * as a key written after its node was walked is not seen either: the audit is a
 * walk of a moving cache, and says so.
 */
export async function* scanIds(redis: RedisClient, stem: string, batch: number): AsyncGenerator<number[]> {
  const seen = new Set<number>();
  let pending: number[] = [];
  for (const node of nodesToScan(redis)) {
    for await (const keys of scanNode(node, stem, batch)) {
      for (const key of keys) {
        const id = parseId(key.slice(stem.length));
        if (id === undefined || seen.has(id)) continue;
        seen.add(id);
        pending.push(id);
      }
      if (pending.length >= batch) {
        yield pending;
        pending = [];
      }
    }
  }
  if (pending.length > 0) yield pending;
}

function nodesToScan(redis: RedisClient): Redis[] {
  if (!isCluster(redis)) return [redis];
  const masters = clusterMasters(redis);
  if (redis.status !== 'ready' || masters.length === 0) {
    throw new ToolError(`Redis Cluster is not ready (${redis.status}): cannot list the masters to scan`);
  }
  return masters;
}

/** One server's keys under the stem, a SCAN reply at a time. */
async function* scanNode(redis: Redis, stem: string, batch: number): AsyncGenerator<string[]> {
  const pattern = `${escapeGlob(stem)}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', batch);
    cursor = next;
    yield keys;
  } while (cursor !== '0');
}

function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** MATCH takes a glob: a prefix with `*`, `?`, `[` or `\` in it must match only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
