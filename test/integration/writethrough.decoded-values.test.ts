import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../helpers/core';

/**
 * A warm read decodes each cached value once per process and shares the row while
 * Redis keeps returning the same bytes (src/writethrough/decoded-values.ts). These
 * check that sharing never hides a write: Redis is asked every time, and any change
 * to the bytes, by this core or another, is what the next read returns.
 */
let t: TestCore;
let other: TestCore;

beforeAll(async () => {
  t = await createTestCore();
  // A second instance on the same database and keys, with its own decoded values.
  other = await createTestCore({ database: t.database, keyPrefix: t.settings.keyPrefix });
});
afterAll(async () => {
  await other?.close();
  await t?.close();
});

async function newUser(name: string) {
  return t.core.users.create({ name, email: `${name.replace(/\W/g, '')}-${Date.now()}-${Math.random()}@example.com` });
}

describe('load (rows decoded once and shared)', () => {
  it('answers repeated warm reads with the same row object, frozen', async () => {
    const { id } = await newUser('Shared');
    const [first] = await t.core.users.load([id]);
    const [second] = await t.core.users.load([id]);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ id, name: 'Shared', createdAt: expect.any(Date) });
  });

  it('refuses a change to a shared row, so no request can alter what another one reads', async () => {
    const { id } = await newUser('Frozen');
    const [row] = await t.core.users.load([id]);
    expect(() => {
      (row as { name: string }).name = 'Changed';
    }).toThrow(TypeError);
    const [again] = await t.core.users.load([id]);
    expect(again?.name).toBe('Frozen');
  });

  it('returns this instance’s own update on the next read', async () => {
    const { id } = await newUser('Before');
    await t.core.users.load([id]);
    const updated = await t.core.users.update(id, { name: 'After' });
    const [row] = await t.core.users.load([id]);
    expect(row).toEqual(updated);
    expect(row?.version).toBe(updated.version);
  });

  it('returns another instance’s update on the next read: the bytes in Redis changed', async () => {
    const { id } = await newUser('Mine');
    const [mine] = await t.core.users.load([id]);
    const theirs = await other.core.users.update(id, { name: 'Theirs' });
    const [row] = await t.core.users.load([id]);
    expect(row).not.toBe(mine);
    expect(row).toEqual(theirs);
  });

  it('answers null once another instance deleted the row (the tombstone replaced the bytes)', async () => {
    const { id } = await newUser('Doomed');
    expect((await t.core.users.load([id]))[0]).not.toBeNull();
    await other.core.users.delete(id);
    expect(await t.core.users.load([id])).toEqual([null]);
  });

  it('reads MySQL when the key is gone from Redis, not the row it decoded before', async () => {
    const { id } = await newUser('Evicted');
    await t.core.users.load([id]);
    await t.pool.query('UPDATE users SET name = ?, version = version + 1 WHERE id = ?', ['Changed behind the cache', id]);
    await t.redis.del(t.core.users.cacheLayout.key(id));
    const [row] = await t.core.users.load([id]);
    expect(row?.name).toBe('Changed behind the cache');
  });
});

describe('load with CACHE_DECODED_VALUES=0', () => {
  it('decodes every read: equal rows, never the same object', async () => {
    const plain = await createTestCore({ database: t.database, keyPrefix: t.settings.keyPrefix, settings: { decodedValues: 0 } });
    try {
      const { id } = await newUser('Unshared');
      const [first] = await plain.core.users.load([id]);
      const [second] = await plain.core.users.load([id]);
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
    } finally {
      await plain.close();
    }
  });
});
