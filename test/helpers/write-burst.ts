import { count, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../../src/db/client';
import { orders, products, users } from '../../src/db/schema';
import type { TestCoreOptions } from './core';

/**
 * How a core under a write burst meets a dying Redis: ten MySQL connections for the
 * concurrent writes, a breaker that opens after a few failures and probes again soon,
 * one quick retry per cache write, and the repair worker running with short backoff,
 * so that a test sees failures recorded and repaired within seconds. Each test sets
 * its own command timeout (a cluster node needs longer to redirect than one server).
 */
export const BURST_CORE_OPTIONS = {
  poolSize: 10,
  breaker: { minRequests: 5, errorPercent: 50, resetMs: 300 },
  settings: { writeRetries: 1, writeRetryDelayMs: 5 },
  repairs: true,
  repair: { maxBackoffMs: 500 },
} satisfies TestCoreOptions;

/** The mutations a write burst mixes, in the proportions of BURST_OPS. */
export type BurstOp = 'updateUser' | 'updateProduct' | 'placeOrder' | 'createUser';

/** Write i of a burst is BURST_OPS[i % length]: mostly updates, some orders, a few creates. */
export const BURST_OPS: BurstOp[] = ['updateUser', 'updateUser', 'updateUser', 'updateUser', 'updateProduct', 'updateProduct', 'placeOrder', 'placeOrder', 'placeOrder', 'createUser'];

/** What a burst's write did, as far as the test needs to tally it. */
export interface BurstWrite {
  op: BurstOp;
  target: number;
}

/**
 * MySQL holds every answered write of a burst: each row's version and stock account
 * for every update and order made on it, and no order or user is missing or extra.
 */
export async function expectMysqlHasEveryWrite(
  db: Database,
  done: readonly BurstWrite[],
  seeded: { userIds: readonly number[]; productIds: readonly number[]; users: number; stock: number },
): Promise<void> {
  const tally = (op: BurstOp, target?: number) => done.filter((d) => d.op === op && (target === undefined || d.target === target)).length;
  for (const id of seeded.userIds) {
    const [row] = await db.select().from(users).where(eq(users.id, id));
    expect(row!.version).toBe(1 + tally('updateUser', id));
  }
  for (const id of seeded.productIds) {
    const [row] = await db.select().from(products).where(eq(products.id, id));
    expect(row).toMatchObject({ version: 1 + tally('updateProduct', id) + tally('placeOrder', id), stock: seeded.stock - tally('placeOrder', id) });
  }
  expect((await db.select({ n: count() }).from(orders))[0]!.n).toBe(tally('placeOrder'));
  expect((await db.select({ n: count() }).from(users))[0]!.n).toBe(seeded.users + tally('createUser'));
}
