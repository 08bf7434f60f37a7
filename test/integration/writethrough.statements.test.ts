import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { products, users } from '../../src/db/schema';
import { WriteStatements } from '../../src/writethrough/statements';
import { createTestCore, type TestCore } from '../helpers/core';

let t: TestCore;
beforeAll(async () => {
  t = await createTestCore();
});
afterAll(async () => {
  await t?.close();
});

const newUser = async () => (await t.core.users.create({ name: 'Stated', email: `st-${Date.now()}-${Math.random()}@example.com`, bio: 'b' })).id;
/** The UPDATE statements Drizzle has logged so far. */
const updatesLogged = () => t.statements.statements.filter((s) => s.startsWith('update'));

describe('WriteStatements', () => {
  it('reads a row exactly as Drizzle select() does: every column, dates as Dates, nulls as nulls', async () => {
    const id = await newUser();
    await t.db.update(users).set({ bio: null }).where(eq(users.id, id));
    const statements = new WriteStatements(t.db, users, 'user');
    const ours = await t.db.transaction((tx) => statements.select(tx, id));
    const drizzles = (await t.db.select().from(users).where(eq(users.id, id)))[0];
    expect(ours).toEqual(drizzles);
    expect(ours!.createdAt).toBeInstanceOf(Date);
    expect(ours!.bio).toBeNull();
  });

  it('answers undefined for an id with no row', async () => {
    const statements = new WriteStatements(t.db, users, 'user');
    expect(await t.db.transaction((tx) => statements.select(tx, 999_999_977))).toBeUndefined();
  });

  it("sends the UPDATE Drizzle's builder would send for the same patch, then the SELECT by id and the COMMIT, in one round trip", async () => {
    const id = await newUser();
    const statements = new WriteStatements(t.db, products, 'product');
    await t.serverStatements();
    const sentBefore = t.statements.count;
    await t.db.transaction((tx) => statements.updateAndRead(tx, id, { name: 'x', stock: 3 }, { expectedVersion: 4 }));
    // BEGIN, UPDATE, SELECT, COMMIT, and Drizzle's COMMIT (which finds nothing left to commit), as MySQL counts them…
    expect(await t.serverStatements()).toBe(5);
    // …sent in three round trips: the UPDATE, SELECT and first COMMIT together.
    expect(t.statements.count - sentBefore).toBe(3);
    const [update, select] = updatesLogged().at(-1)!.split('; ');
    const built = t.db
      .update(products)
      .set({ name: 'x', stock: 3, version: sql`${products.version} + 1` })
      .where(and(eq(products.id, id), eq(products.version, 4)))
      .toSQL().sql;
    expect(update).toBe(built);
    expect(select).toBe(t.db.select().from(products).where(eq(products.id, id)).toSQL().sql);
  });

  it('sets the patched fields (null included), bumps the version and stamps updatedAt, only where the version matches, and reads the row back', async () => {
    const id = await newUser();
    const statements = new WriteStatements(t.db, users, 'user');
    await t.db.update(users).set({ updatedAt: new Date('2001-01-01T00:00:00Z'), version: 1 }).where(eq(users.id, id));
    const [before] = await t.db.select().from(users).where(eq(users.id, id));
    // Setting version 1 again does not keep it there: the database bumps every UPDATE (db/version-triggers.ts).
    expect(before!.version).toBe(2);
    const missed = await t.db.transaction((tx) => statements.updateAndRead(tx, id, { name: 'Renamed', bio: null }, { expectedVersion: 1 }));
    expect(missed).toEqual({ matched: 0, row: before });
    const renamed = await t.db.transaction((tx) => statements.updateAndRead(tx, id, { name: 'Renamed', bio: null }, { expectedVersion: 2 }));
    expect(renamed).toMatchObject({ matched: 1, row: { name: 'Renamed', bio: null, version: 3 } });
    const moved = await t.db.transaction((tx) => statements.updateAndRead(tx, id, { email: `moved-${id}@example.com` }));
    const [after] = await t.db.select().from(users).where(eq(users.id, id));
    expect(moved).toEqual({ matched: 1, row: after });
    expect(after).toMatchObject({ name: 'Renamed', bio: null, email: `moved-${id}@example.com`, version: 4 });
    expect(after!.updatedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(after!.createdAt).toEqual(before!.createdAt);
  });
});
