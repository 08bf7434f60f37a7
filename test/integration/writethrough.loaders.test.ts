import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/db/schema';
import { EntityLoader, MAX_BATCH_IDS, createLoader } from '../../src/writethrough/loaders';
import { createTestCore, type TestCore } from '../helpers/core';
import { measureCost } from '../helpers/cost';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/** Counted by the servers: a private redis-server's commandstats, MySQL's `Questions` on a pool of one. */
let redisServer: PrivateRedis;
let t: TestCore;
let ids: number[];

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  t = await createTestCore({ redisUrl: redisServer.url });
  ids = [];
  for (let i = 0; i < 12; i++) {
    ids.push((await t.core.users.create({ name: `Loaded ${i}`, email: `ld${i}-${Date.now()}@example.com` })).id);
  }
});
afterAll(async () => {
  await t?.close();
  await redisServer?.kill();
});

const cost = async (work: () => Promise<unknown>) => {
  const { sql, redis } = await measureCost(redisServer, t, work);
  return { sql, redis };
};
const evict = (some: number[]) => t.redis.del(...some.map((id) => t.core.users.cacheLayout.key(id)));
const names = (rows: Array<UserRow | null>) => rows.map((row) => row?.name ?? null);

describe('EntityLoader', () => {
  it('answers two lists and a single id asked in one tick with one MGET and, cold, one SELECT', async () => {
    await evict(ids.slice(0, 6));
    const loader = createLoader(t.core.users);
    const spent = await cost(() =>
      Promise.all([loader.loadMany(ids.slice(0, 3)), loader.loadMany(ids.slice(2, 5)), loader.load(ids[5]!)]),
    );
    expect(spent.sql).toBe(1);
    expect(spent.redis.mget).toBe(1);
  });

  it('answers an id asked again in the same request from what it was answered, with no round trip', async () => {
    const loader = createLoader(t.core.users);
    await loader.loadMany(ids.slice(0, 4));
    const spent = await cost(() => Promise.all([loader.load(ids[1]!), loader.loadMany(ids.slice(2, 4))]));
    expect(spent).toEqual({ sql: 0, redis: {} });
  });

  it('keeps the order of a list, repeats its duplicates and answers null for ids with no row', async () => {
    const loader = createLoader(t.core.users);
    const rows = await loader.loadMany([ids[3]!, 999_999_991, ids[0]!, ids[3]!]);
    expect(names(rows)).toEqual(['Loaded 3', null, 'Loaded 0', 'Loaded 3']);
  });

  it('waits for a fetch in flight instead of fetching the same id again', async () => {
    const fetched: number[][] = [];
    const loader = new EntityLoader<UserRow>((some) => {
      fetched.push([...some]);
      return t.core.users.load(some);
    });
    const first = loader.loadMany(ids.slice(0, 2));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is out
    const [a, b] = await Promise.all([first, loader.loadMany(ids.slice(1, 3))]);
    expect(fetched).toEqual([ids.slice(0, 2), [ids[2]]]);
    expect(b[0]).toBe(a[1]); // the very same row object: one answer per id per request
  });

  it('gives later asks the row a write primed, even when a fetch that read the older row comes back after it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const loader = new EntityLoader<UserRow>(async (some) => {
      const rows = await t.core.users.load(some);
      await held; // comes back only after the write below was primed
      return rows;
    });
    const stale = loader.load(ids[6]!);
    await new Promise((resolve) => setImmediate(resolve)); // the fetch is out
    loader.prime(ids[6]!, await t.core.users.update(ids[6]!, { name: 'Primed' }));
    release();
    expect((await stale)?.name).toBe('Loaded 6'); // asked before the write
    expect((await loader.load(ids[6]!))?.name).toBe('Primed');
    expect((await loader.loadMany([ids[6]!]))[0]?.name).toBe('Primed');
  });

  it('fetches a cleared id again', async () => {
    const loader = createLoader(t.core.users);
    await loader.load(ids[7]!);
    await t.core.users.update(ids[7]!, { name: 'Changed elsewhere' });
    loader.clear(ids[7]!);
    expect((await loader.load(ids[7]!))?.name).toBe('Changed elsewhere');
  });

  it('answers a cleared id from the fetch sent after the clear, not from the earlier one', async () => {
    const fetched: number[][] = [];
    const loader = new EntityLoader<UserRow>((some) => {
      fetched.push([...some]);
      return t.core.users.load(some);
    });
    await loader.loadMany([ids[10]!, ids[11]!]);
    await t.core.users.update(ids[10]!, { name: 'Refetched' });
    loader.clear(ids[10]!);
    expect(names(await loader.loadMany([ids[11]!, ids[10]!]))).toEqual(['Loaded 11', 'Refetched']);
    expect((await loader.load(ids[10]!))?.name).toBe('Refetched');
    expect(fetched).toEqual([[ids[10], ids[11]], [ids[10]]]);
  });

  it('fails every ask of a batch whose fetch failed, and fetches those ids again when next asked', async () => {
    let failNext = true;
    const loader = new EntityLoader<UserRow>(async (some) => {
      if (failNext) {
        failNext = false;
        throw new Error('MySQL went away');
      }
      return t.core.users.load(some);
    });
    const asks = [loader.load(ids[8]!), loader.loadMany(ids.slice(8, 10))];
    for (const ask of asks) await expect(ask).rejects.toThrow('MySQL went away');
    expect(names(await loader.loadMany(ids.slice(8, 10)))).toEqual(['Loaded 8', 'Loaded 9']);
  });

  it(`splits a batch into fetches of at most ${MAX_BATCH_IDS} ids`, async () => {
    const sizes: number[] = [];
    const loader = new EntityLoader<UserRow>((some) => {
      sizes.push(some.length);
      return t.core.users.load(some);
    });
    const many = Array.from({ length: MAX_BATCH_IDS + 20 }, (_, i) => 900_000_000 + i);
    const rows = await Promise.all([loader.loadMany(many.slice(0, 300)), loader.loadMany(many.slice(300))]);
    expect(sizes).toEqual([MAX_BATCH_IDS, 20]);
    expect(rows.flat().every((row) => row === null)).toBe(true);
  });
});
