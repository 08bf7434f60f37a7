import { once } from 'node:events';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalescedReads } from '../../src/cache/coalesced-reads';
import { RedisCache } from '../../src/cache/redis-cache';
import { createTestCore, type TestCore } from '../helpers/core';
import { measureCost } from '../helpers/cost';
import { commandsBetween, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * Against a redis-server of this file's own, whose INFO commandstats counts what was
 * sent. Each key holds its own name as its value, so every answer shows whose it is.
 */
let server: PrivateRedis;
let redis: Redis;
let t: TestCore;

const keys = (name: string, n: number) => Array.from({ length: n }, (_, i) => `coalesce:${name}:${i}`);

/** The MGETs Redis ran while `work` ran, and what `work` returned. */
async function mgets<T>(work: () => Promise<T>): Promise<{ mget: number; result: T }> {
  const before = await server.commandCounts();
  const result = await work();
  return { mget: commandsBetween(before, await server.commandCounts()).mget ?? 0, result };
}

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = new Redis(server.url);
  const all = ['a', 'b', 'c', 'd'].flatMap((name) => keys(name, 10));
  await redis.mset(all.flatMap((key) => [key, key]));
  t = await createTestCore({ redisUrl: server.url });
});
afterAll(async () => {
  redis?.disconnect();
  await t?.close();
  await server?.dispose();
});

describe('CoalescedReads', () => {
  it('sends the batches made in one turn as one MGET and answers each with its own values, in order', async () => {
    const reads = new CoalescedReads(new RedisCache(redis));
    const asked = [keys('a', 3), [...keys('b', 2), 'coalesce:absent'], keys('a', 1)];
    const { mget, result } = await mgets(() => Promise.all(asked.map((k) => reads.mget(k))));
    expect(mget).toBe(1);
    expect(result).toEqual([keys('a', 3), [...keys('b', 2), null], keys('a', 1)]);
  });

  it('sends a batch made in a later turn in an MGET of its own', async () => {
    const reads = new CoalescedReads(new RedisCache(redis));
    const { mget, result } = await mgets(async () => {
      const first = reads.mget(keys('a', 2));
      await new Promise<void>((resolve) => setImmediate(resolve));
      return Promise.all([first, reads.mget(keys('c', 2))]);
    });
    expect(mget).toBe(2);
    expect(result).toEqual([keys('a', 2), keys('c', 2)]);
  });

  it('asks Redis nothing for an empty batch', async () => {
    const reads = new CoalescedReads(new RedisCache(redis));
    expect(await mgets(() => reads.mget([]))).toEqual({ mget: 0, result: [] });
  });

  it('splits a turn at the key limit without ever splitting a batch', async () => {
    const reads = new CoalescedReads(new RedisCache(redis), 5);
    const asked = [keys('a', 2), keys('b', 2), keys('c', 2), keys('d', 7)];
    const { mget, result } = await mgets(() => Promise.all(asked.map((k) => reads.mget(k))));
    // [a, b] fit in 5 keys; c would make 6 and starts the next; d, 7 keys, goes alone.
    expect(mget).toBe(3);
    expect(result).toEqual(asked);
  });

  it('reads a write that answered before the batch was made', async () => {
    const reads = new CoalescedReads(new RedisCache(redis));
    const [key] = keys('a', 1);
    await redis.set(key!, 'written');
    const [after, other] = await Promise.all([reads.mget([key!]), reads.mget(keys('b', 1))]);
    expect(after).toEqual(['written']);
    expect(other).toEqual(keys('b', 1));
    await redis.set(key!, key!);
  });

  it('fails every batch of a merged MGET that fails, with its error, and reads again in the next turn', async () => {
    const offline = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const reads = new CoalescedReads(new RedisCache(offline));
    const failed = await Promise.allSettled([reads.mget(keys('a', 2)), reads.mget(keys('b', 2))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const [first, second] = failed as PromiseRejectedResult[];
    expect(first!.reason).toBeInstanceOf(Error);
    expect(second!.reason).toBe(first!.reason);
    // The refused command set the lazy connection going: once it is up, reads work again.
    if (offline.status !== 'ready') await once(offline, 'ready');
    expect(await reads.mget(keys('a', 2))).toEqual(keys('a', 2));
    offline.disconnect();
  });
});

describe('the write-through core', () => {
  it('reads the batches of concurrent requests with one MGET and answers each its own rows', async () => {
    const [alice, bob] = [
      await t.core.users.create({ name: 'Alice', email: `alice-${Date.now()}@coalesce.test` }),
      await t.core.users.create({ name: 'Bob', email: `bob-${Date.now()}@coalesce.test` }),
    ];
    const spent = await measureCost(server, t, () => Promise.all([t.core.users.load([alice.id]), t.core.users.load([bob.id, alice.id])]));
    expect({ sql: spent.sql, redis: spent.redis }).toEqual({ sql: 0, redis: { mget: 1 } });
    expect(spent.result).toEqual([[alice], [bob, alice]]);
  });

  it('reads its own write: a batch made after an update answers the new row', async () => {
    const row = await t.core.users.create({ name: 'Carol', email: `carol-${Date.now()}@coalesce.test` });
    const updated = await t.core.users.update(row.id, { name: 'Carol II' });
    const spent = await measureCost(server, t, () => t.core.users.load([row.id]));
    expect(spent.result).toEqual([updated]);
    expect(spent.sql).toBe(0);
  });
});
