import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntents } from '../../src/db/schema';
import { ConflictError } from '../../src/errors';
import { createTestCore, type TestCore } from '../helpers/core';

/** The intents are only recorded here: no sweep runs, so every one stays to be looked at. */
let t: TestCore;
let untraced: TestCore;
beforeAll(async () => {
  t = await createTestCore();
  untraced = await createTestCore({ intents: false, database: t.database });
});
afterAll(async () => {
  await untraced?.close();
  await t?.close();
});

let seq = 0;
const newUser = () => ({ name: 'Intended', email: `int${++seq}-${Date.now()}@example.com` });
const intentsOf = (entity: string, id: number) =>
  t.db
    .select({ entity: writeIntents.entity, operation: writeIntents.operation, version: writeIntents.version })
    .from(writeIntents)
    .where(and(eq(writeIntents.entity, entity), eq(writeIntents.entityId, id)))
    .orderBy(asc(writeIntents.id));

describe('write intents', () => {
  it('are recorded by every write, one per key, with the version its key must reach', async () => {
    const user = await t.core.users.create(newUser());
    await t.core.users.update(user.id, { name: 'Renamed' });
    await t.core.users.delete(user.id);
    expect(await intentsOf('user', user.id)).toEqual([
      { entity: 'user', operation: 'create', version: 1 },
      { entity: 'user', operation: 'update', version: 2 },
      { entity: 'user', operation: 'delete', version: 3 }, // the tombstone outranks version 2
    ]);
  });

  it('are recorded for each key of a transaction that writes two, such as placeOrder', async () => {
    const user = await t.core.users.create(newUser());
    const product = await t.core.products.create({ sku: `INT-${++seq}-${Date.now()}`, name: 'Thing', priceCents: 100, stock: 5 });
    const order = await t.core.ordering.place({ userId: user.id, productId: product.id, quantity: 2 });
    expect(await intentsOf('order', order.id)).toEqual([{ entity: 'order', operation: 'create', version: 1 }]);
    expect((await intentsOf('product', product.id)).map((i) => [i.operation, i.version])).toEqual([
      ['create', 1],
      ['update', 2],
    ]);
  });

  it('go in the same round trip as an update, and are counted by MySQL as a statement of their own', async () => {
    const user = await t.core.users.create(newUser());
    await t.serverStatements();
    const sent = t.statements.count;
    await t.core.users.update(user.id, { bio: 'x' });
    expect(t.statements.count - sent).toBe(3); // BEGIN; UPDATE, INSERT, SELECT, COMMIT; Drizzle's COMMIT (nothing left to commit)
    expect(await t.serverStatements()).toBe(6);
  });

  it('roll back with a write that fails: no intent without its write', async () => {
    const user = await t.core.users.create(newUser());
    await expect(t.core.users.update(user.id, { name: 'Late' }, { expectedVersion: 7 })).rejects.toBeInstanceOf(ConflictError);
    expect((await intentsOf('user', user.id)).map((i) => i.operation)).toEqual(['create']);
  });

  it('are not recorded when turned off', async () => {
    const user = await untraced.core.users.create(newUser());
    await untraced.core.users.update(user.id, { name: 'Untraced' });
    expect(await intentsOf('user', user.id)).toEqual([]);
  });
});
