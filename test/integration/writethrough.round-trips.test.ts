import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLoader } from '../../src/writethrough/loaders';
import { createTestCore, type TestCore } from '../helpers/core';
import { measureCost } from '../helpers/cost';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * Counted from the servers' own side: Redis's INFO commandstats on a redis-server
 * only this file uses, and MySQL's per-session `Questions` counter on a pool of one
 * connection.
 */
let redisServer: PrivateRedis;
let t: TestCore;
let ids: number[];

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  t = await createTestCore({ redisUrl: redisServer.url });
  ids = [];
  for (let i = 0; i < 100; i++) {
    ids.push((await t.core.users.create({ name: `User ${i}`, email: `rt${i}-${Date.now()}@example.com` })).id);
  }
});
afterAll(async () => {
  await t?.close();
  await redisServer?.kill();
});

/** What `work` cost on each server. */
async function cost(work: () => Promise<unknown>) {
  const { sql, redis } = await measureCost(redisServer, t, work);
  return { sql, redis };
}

describe('load (a DataLoader batch)', () => {
  beforeEach(async () => {
    await t.core.users.load(ids); // warm
  });

  it('answers a warm batch of 100 ids with one MGET and no SQL', async () => {
    let rows: unknown[] = [];
    const spent = await cost(async () => {
      rows = await t.core.users.load(ids);
    });
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
    expect(rows).toHaveLength(100);
    expect(rows.every((r) => r !== null)).toBe(true);
  });

  it('collects 100 separate loader.load calls into that same single batch', async () => {
    const loader = createLoader(t.core.users);
    const spent = await cost(() => Promise.all(ids.map((id) => loader.load(id))));
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it('reads 40 cold ids with one MGET, one SELECT … IN and one pipeline of compare-and-sets', async () => {
    const cold = ids.slice(0, 40);
    await t.redis.del(...cold.map((id) => t.core.users.cacheLayout.key(id)));
    const pipelines = vi.spyOn(t.redis, 'pipeline');
    const before = t.statements.count;
    const spent = await cost(() => t.core.users.load(ids));
    expect(spent.sql).toBe(1);
    expect(t.statements.statements.slice(before)).toEqual([expect.stringMatching(/^select .* where `users`.`id` in \(\?(, \?){39}\)$/)]);
    // The first script call on a connection is an EVAL (which loads it), the rest EVALSHA.
    expect(spent.redis.mget).toBe(1);
    expect((spent.redis.evalsha ?? 0) + (spent.redis.eval ?? 0)).toBe(40);
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();
    // …and after that the batch is warm again.
    expect(await cost(() => t.core.users.load(ids))).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it('caches ids that do not exist, so asking again costs no SQL', async () => {
    const missing = [9_000_001, 9_000_002];
    expect(await t.core.users.load(missing)).toEqual([null, null]);
    const spent = await cost(() => t.core.users.load(missing));
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
    const ttl = await t.redis.pttl(t.core.users.cacheLayout.key(missing[0]!));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(t.settings.negativeTtlSeconds * 1000 * (1 + t.settings.ttlJitter));
  });

  it('keeps the order of the ids, repeats duplicates and answers null for missing ones', async () => {
    const asked = [ids[5]!, 9_000_003, ids[1]!, ids[5]!];
    const rows = await t.core.users.load(asked);
    expect(rows.map((r) => r?.id ?? null)).toEqual([ids[5], null, ids[1], ids[5]]);
  });
});

describe('after a write', () => {
  it('reads an updated row back with no SQL: the write left it in the cache', async () => {
    const id = ids[7]!;
    const updated = await t.core.users.update(id, { name: 'Just updated' });
    let row: unknown;
    const spent = await cost(async () => {
      [row] = await t.core.users.load([id]);
    });
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
    expect(row).toEqual(updated);
  });

  it('reads a created row back with no SQL', async () => {
    const created = await t.core.users.create({ name: 'Fresh', email: `fresh-${Date.now()}@example.com` });
    let row: unknown;
    const spent = await cost(async () => {
      [row] = await t.core.users.load([created.id]);
    });
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
    expect(row).toEqual(created);
  });

  it('answers a deleted row with null and no SQL', async () => {
    const created = await t.core.users.create({ name: 'Gone', email: `gone-${Date.now()}@example.com` });
    await t.core.users.delete(created.id);
    const spent = await cost(async () => expect(await t.core.users.load([created.id])).toEqual([null]));
    expect(spent).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it('costs one Redis command for the cache write of an update', async () => {
    const spent = await cost(() => t.core.users.update(ids[8]!, { name: 'Counted' }));
    // commandstats also counts the commands the script runs inside Redis.
    expect(spent.redis).toEqual({ evalsha: 1, time: 1, get: 1, set: 1 });
  });
});
