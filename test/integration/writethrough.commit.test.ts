import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { users, writeIntents } from '../../src/db/schema';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/errors';
import type { FailureEvent } from '../../src/failures/failure-event';
import type { RepositoryHooks } from '../../src/writethrough/repository';
import { createTestCore, type TestCore } from '../helpers/core';

const hooks: RepositoryHooks = {};
let t: TestCore;
let failures: FailureEvent[];

beforeAll(async () => {
  t = await createTestCore({ hooks });
  t.core.failureLog.onRecorded((f) => failures.push(f));
});
afterAll(() => t.close());
afterEach(() => {
  delete hooks.beforeCommit;
  delete hooks.afterCommit;
  failures = [];
});
failures = [];

let seq = 0;
const newUser = (name = 'Ada') => ({ name, email: `user${++seq}-${Date.now()}@example.com`, bio: null });
const cached = async (id: number) => t.redis.get(t.core.users.cacheLayout.key(id));
const inMysql = async (id: number) => (await t.db.select().from(users).where(eq(users.id, id)))[0];

describe('create', () => {
  it('commits the row at version 1 and caches exactly what MySQL holds', async () => {
    const row = await t.core.users.create(newUser());
    expect(row.version).toBe(1);
    expect(row.createdAt).toBeInstanceOf(Date);
    const stored = await inMysql(row.id);
    expect(stored).toEqual(row);
    // Dates are cached as epoch milliseconds (see writethrough/codec.ts).
    expect(JSON.parse((await cached(row.id))!)).toEqual({ v: 1, row: { ...row, createdAt: row.createdAt.getTime(), updatedAt: row.updatedAt.getTime() } });
  });

  it('rejects a duplicate email as a CONFLICT naming the field, and caches nothing', async () => {
    const first = await t.core.users.create(newUser());
    const dup = t.core.users.create({ ...newUser(), email: first.email });
    await expect(dup).rejects.toBeInstanceOf(ConflictError);
    await expect(dup).rejects.toMatchObject({ code: 'CONFLICT', details: { field: 'email' } });
    expect(await t.db.select().from(users).where(eq(users.email, first.email))).toHaveLength(1);
  });

  it('refuses to let a caller set the id or version', async () => {
    await expect(t.core.users.create({ ...newUser(), version: 99 } as never)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(t.core.users.create({ ...newUser(), id: 5 } as never)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('update', () => {
  it('bumps the version in the same statement and caches the committed row', async () => {
    const row = await t.core.users.create(newUser());
    const updated = await t.core.users.update(row.id, { name: 'Grace' });
    expect(updated).toMatchObject({ id: row.id, name: 'Grace', version: 2 });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(row.updatedAt.getTime());
    expect(await inMysql(row.id)).toEqual(updated);
    expect(JSON.parse((await cached(row.id))!).v).toBe(2);
  });

  it('leaves MySQL and the cache untouched when its transaction rolls back', async () => {
    const row = await t.core.users.create(newUser());
    const before = await cached(row.id);
    hooks.beforeCommit = () => {
      throw new Error('injected failure in the transaction, before its statements and COMMIT');
    };
    await expect(t.core.users.update(row.id, { name: 'Never' })).rejects.toThrow('injected failure');
    expect(await inMysql(row.id)).toEqual(row);
    expect(await cached(row.id)).toBe(before);
    expect(failures).toEqual([]);
  });

  it('commits nothing when a statement of its round trip fails, and leaves no transaction open on the connection', async () => {
    // The UPDATE, SELECT, intent and COMMIT go in one round trip: MySQL stops at the
    // failing UPDATE, so the COMMIT never runs, and Drizzle's ROLLBACK ends the rest.
    const taken = await t.core.users.create(newUser());
    const row = await t.core.users.create(newUser());
    const before = await cached(row.id);
    await expect(t.core.users.update(row.id, { email: taken.email })).rejects.toBeInstanceOf(ConflictError);
    expect(await inMysql(row.id)).toEqual(row);
    expect(await cached(row.id)).toBe(before);
    expect((await t.db.select().from(writeIntents).where(eq(writeIntents.entityId, row.id))).map((i) => i.operation)).toEqual(['create']);
    // Every connection of the pool writes again, none stuck in the failed transaction.
    const rows = await Promise.all(Array.from({ length: 10 }, () => t.core.users.create(newUser())));
    const updated = await Promise.all(rows.map((r) => t.core.users.update(r.id, { name: 'Afterwards' })));
    expect(updated.map((u) => u.version)).toEqual(rows.map(() => 2));
    for (const u of updated) expect(await inMysql(u.id)).toEqual(u);
  });

  it('writes the cache only after COMMIT, so the cache never holds an uncommitted version', async () => {
    const row = await t.core.users.create(newUser());
    let cachedBeforeCommit: string | null = null;
    let cachedAfterCommit: string | null = null;
    hooks.beforeCommit = async () => {
      cachedBeforeCommit = await cached(row.id);
    };
    hooks.afterCommit = async () => {
      cachedAfterCommit = await cached(row.id);
    };
    await t.core.users.update(row.id, { name: 'Later' });
    expect(JSON.parse(cachedBeforeCommit!).v).toBe(1);
    expect(JSON.parse(cachedAfterCommit!).v).toBe(1);
    expect(JSON.parse((await cached(row.id))!).v).toBe(2);
  });

  it('applies a write whose expectedVersion matches', async () => {
    const row = await t.core.users.create(newUser());
    await expect(t.core.users.update(row.id, { name: 'Match' }, { expectedVersion: 1 })).resolves.toMatchObject({ version: 2 });
  });

  it('rejects a stale expectedVersion as a CONFLICT and changes nothing', async () => {
    const row = await t.core.users.create(newUser());
    await t.core.users.update(row.id, { name: 'Second' });
    const before = await cached(row.id);
    const stale = t.core.users.update(row.id, { name: 'Lost' }, { expectedVersion: 1 });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({ details: { expectedVersion: 1, actualVersion: 2 } });
    expect(await inMysql(row.id)).toMatchObject({ name: 'Second', version: 2 });
    expect(await cached(row.id)).toBe(before);
  });

  it('reports NOT_FOUND for an id with no row, and caches nothing', async () => {
    await expect(t.core.users.update(987654, { name: 'Ghost' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await cached(987654)).toBeNull();
  });

  it.each([
    ['zero', 0],
    ['negative', -3],
    ['fractional', 1.5],
    ['unsafe', 2 ** 60],
    ['NaN', Number.NaN],
  ])('rejects a %s id as BAD_USER_INPUT before touching MySQL', async (_, id) => {
    const before = t.statements.count;
    await expect(t.core.users.update(id, { name: 'x' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(t.statements.count).toBe(before);
  });

  it('rejects an empty patch as BAD_USER_INPUT', async () => {
    const row = await t.core.users.create(newUser());
    await expect(t.core.users.update(row.id, {})).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await inMysql(row.id)).toEqual(row);
  });

  it('rejects a value too long for its column as BAD_USER_INPUT naming the column', async () => {
    const row = await t.core.users.create(newUser());
    await expect(t.core.users.update(row.id, { name: 'x'.repeat(101) })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'name',
    });
    expect(await inMysql(row.id)).toEqual(row);
  });
});

describe('delete', () => {
  it('removes the row and leaves a tombstone that outranks its last version', async () => {
    const row = await t.core.users.create(newUser());
    await t.core.users.update(row.id, { name: 'Two' });
    expect(await t.core.users.delete(row.id)).toBe(true);
    expect(await inMysql(row.id)).toBeUndefined();
    expect(JSON.parse((await cached(row.id))!)).toEqual({ v: 3, deleted: true });
    const ttl = await t.redis.pttl(t.core.users.cacheLayout.key(row.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(t.settings.tombstoneTtlSeconds * 1000);
  });

  it('returns false for an id with no row', async () => {
    expect(await t.core.users.delete(876543)).toBe(false);
  });

  it('keeps the row and its cache entry when the delete rolls back', async () => {
    const row = await t.core.users.create(newUser());
    const before = await cached(row.id);
    hooks.beforeCommit = () => {
      throw new Error('injected failure before COMMIT');
    };
    await expect(t.core.users.delete(row.id)).rejects.toThrow('injected failure');
    expect(await inMysql(row.id)).toEqual(row);
    expect(await cached(row.id)).toBe(before);
  });
});
