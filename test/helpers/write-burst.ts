import { count, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../../src/db/client';
import { orders, products, reviews, users } from '../../src/db/schema';
import type { Core } from '../../src/core';
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
export type BurstOp = 'updateUser' | 'updateProduct' | 'updateReview' | 'placeOrder' | 'createUser';

/** Write i of a burst is BURST_OPS[i % length]: mostly updates (of every updatable entity), some orders, a few creates. */
export const BURST_OPS: BurstOp[] = [
  'updateUser',
  'updateUser',
  'updateUser',
  'updateUser',
  'updateProduct',
  'updateProduct',
  'updateReview',
  'placeOrder',
  'placeOrder',
  'placeOrder',
  'createUser',
];

/** The rows a burst writes to, made through `core` before it. */
export interface BurstRows {
  userIds: number[];
  productIds: number[];
  reviewIds: number[];
}

/** Seeds `counts` users and products (each with `stock`), and one review per user, each of a product. */
export async function seedBurstRows(core: Core, counts: { users: number; products: number; stock: number }, tag: string): Promise<BurstRows> {
  const rows: BurstRows = { userIds: [], productIds: [], reviewIds: [] };
  for (let i = 0; i < counts.users; i++) rows.userIds.push((await core.users.create({ name: `u${i}`, email: `${tag}${i}-${Date.now()}@example.com` })).id);
  for (let i = 0; i < counts.products; i++) {
    rows.productIds.push((await core.products.create({ sku: `${tag.toUpperCase()}-${i}-${Date.now()}`, name: `p${i}`, priceCents: 100, stock: counts.stock })).id);
  }
  for (const [i, userId] of rows.userIds.entries()) {
    rows.reviewIds.push((await core.reviews.create({ userId, productId: rows.productIds[i % counts.products]!, rating: (i % 5) + 1, body: `r${i}` })).id);
  }
  return rows;
}

/** The row write i of a burst writes to: its user, product or review (placeOrder: its product). */
export function burstTarget(op: BurstOp, i: number, rows: BurstRows): number {
  if (op === 'updateProduct' || op === 'placeOrder') return rows.productIds[(i * 3) % rows.productIds.length]!;
  if (op === 'updateReview') return rows.reviewIds[(i * 5) % rows.reviewIds.length]!;
  return rows.userIds[(i * 7) % rows.userIds.length]!;
}

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
  seeded: BurstRows & { users: number; stock: number },
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
  for (const id of seeded.reviewIds) {
    const [row] = await db.select().from(reviews).where(eq(reviews.id, id));
    expect(row!.version).toBe(1 + tally('updateReview', id));
  }
  expect((await db.select({ n: count() }).from(orders))[0]!.n).toBe(tally('placeOrder'));
  expect((await db.select({ n: count() }).from(users))[0]!.n).toBe(seeded.users + tally('createUser'));
}
