import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RepositoryHooks } from '../../src/writethrough/repository';
import { createTestCore, type TestCore } from '../helpers/core';

/**
 * The three cache policies side by side on one core: users `invalidate` (cache-aside),
 * products `off`, orders the default `write-through`.
 */
const hooks: RepositoryHooks = {};
let t: TestCore;

beforeAll(async () => {
  t = await createTestCore({ hooks, settings: { policyByEntity: { user: 'invalidate', product: 'off' } } });
});
afterAll(() => t?.close());
afterEach(() => {
  delete hooks.beforeBackfill;
});

let seq = 0;
const newUser = () => ({ name: 'Policy', email: `policy${++seq}-${Date.now()}@example.com` });
const raw = (key: string) => t.redis.get(key);

/** Statements MySQL ran on the core's one connection while `work` ran. */
async function sqlFor(work: () => Promise<unknown>): Promise<number> {
  await t.serverStatements();
  await work();
  return t.serverStatements();
}

describe('the invalidate policy', () => {
  it('marks the key on a write, so the next read misses once, backfills, and then hits', async () => {
    const user = await t.core.users.create(newUser());
    expect(JSON.parse((await raw(t.core.users.cacheLayout.key(user.id)))!)).toEqual({ v: 0.5, invalidated: true });
    const updated = await t.core.users.update(user.id, { name: 'Changed' });
    expect(JSON.parse((await raw(t.core.users.cacheLayout.key(user.id)))!)).toEqual({ v: 1.5, invalidated: true });

    expect(await sqlFor(() => t.core.users.load([user.id]))).toBe(1); // the post-write miss
    expect(await sqlFor(async () => expect(await t.core.users.load([user.id])).toEqual([updated]))).toBe(0);
  });

  it('does not let a read that fetched the old row plant it after the write (the cache-aside race)', async () => {
    const user = await t.core.users.create(newUser());
    await t.core.users.load([user.id]); // version 1 cached
    await t.redis.del(t.core.users.cacheLayout.key(user.id)); // evicted: the next read misses
    let release!: () => void;
    let reached!: () => void;
    const atBackfill = new Promise<void>((resolve) => (reached = resolve));
    hooks.beforeBackfill = () => {
      reached();
      return new Promise<void>((resolve) => (release = resolve));
    };
    const slowRead = t.core.users.load([user.id]); // reads version 1 from MySQL…
    await atBackfill;
    delete hooks.beforeBackfill;
    await t.core.users.update(user.id, { name: 'Version 2' }); // …the write invalidates…
    release();
    await slowRead; // …and the old row must not land.
    expect(JSON.parse((await raw(t.core.users.cacheLayout.key(user.id)))!)).toEqual({ v: 1.5, invalidated: true });
    expect((await t.core.users.load([user.id]))[0]).toMatchObject({ name: 'Version 2', version: 2 });
  });

  it('still leaves a tombstone on delete', async () => {
    const user = await t.core.users.create(newUser());
    await t.core.users.delete(user.id);
    expect(JSON.parse((await raw(t.core.users.cacheLayout.key(user.id)))!)).toEqual({ v: 2, deleted: true });
  });
});

describe('the off policy', () => {
  it('never touches Redis: every read goes to MySQL and writes leave no key', async () => {
    const product = await t.core.products.create({ sku: `OFF-${Date.now()}`, name: 'Uncached', priceCents: 1, stock: 1 });
    await t.core.products.update(product.id, { stock: 2 });
    expect(await sqlFor(() => t.core.products.load([product.id]))).toBe(1);
    expect(await sqlFor(() => t.core.products.load([product.id]))).toBe(1);
    await t.core.products.delete(product.id);
    expect(await t.redis.keys(`${t.settings.keyPrefix}product:*`)).toEqual([]);
  });
});

describe('the write-through policy', () => {
  it('stays the default for entities not named', async () => {
    expect(t.core.orders.policy).toBe('write-through');
  });
});
