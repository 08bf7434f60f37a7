import { desc, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../../src/cache/redis-client';
import { orders, reviews } from '../../../src/db/schema';
import type { ListRow } from '../../../src/writethrough/association-list';
import type { RepositoryHooks } from '../../../src/writethrough/repository';
import type { TestCore } from '../../helpers/core';
import { auditList } from '../../../src/tools/audit';
import { pollUntil } from '../../helpers/poll';

/**
 * Association lists (src/writethrough/association-list.ts) written through by the
 * mutations that add and remove their edges, on real MySQL and Redis: a write leaves
 * every list it touched warm, at its new version; a backfill that read an older
 * version can neither replace it nor bring a removed edge back. One suite for any
 * Redis the core can use: lists.writethrough.test.ts runs it on a single server,
 * cluster.lists.test.ts on a Redis Cluster. `openCore` builds a core with `hooks`;
 * the suite closes it.
 */
export function describeListRaces(openCore: (hooks: RepositoryHooks) => Promise<TestCore<RedisClient>>): void {
  const hooks: RepositoryHooks = {};
  let t: TestCore<RedisClient>;
  let userId: number;
  let productId: number;

  beforeAll(async () => {
    t = await openCore(hooks);
    userId = (await t.core.users.create({ name: 'Lister', email: `lister-${Date.now()}@example.com`, bio: null })).id;
    productId = (await t.core.products.create({ sku: `LIST-${Date.now()}`, name: 'Listed', priceCents: 100, stock: 1_000_000 })).id;
  });
  afterEach(() => {
    delete hooks.beforeBackfill;
  });
  afterAll(() => t?.close());

  const cached = async (list: keyof TestCore<RedisClient>['core']['lists'], owner: number): Promise<ListRow | null> => {
    const raw = await t.redis.get(t.core.lists[list].cacheLayout.key(owner));
    return raw === null ? null : (JSON.parse(raw) as { row: ListRow }).row;
  };
  const userOrderIds = async (user: number) => (await t.db.select({ id: orders.id }).from(orders).where(eq(orders.userId, user)).orderBy(desc(orders.id)).limit(100)).map((r) => r.id);
  const place = (user = userId, product = productId) => t.core.ordering.place({ userId: user, productId: product, quantity: 1 });

  describe('placeOrder', () => {
    it("writes the user's, the product's and the newest orders' lists through: the next read is a hit with the order", async () => {
      const order = await place();
      for (const [list, owner] of [['userOrders', userId], ['productOrders', productId], ['recentOrders', 1]] as const) {
        expect((await cached(list, owner))!.ids[0]).toBe(order.id);
      }
      const before = t.statements.count;
      const [list] = await t.core.lists.userOrders.load([userId]);
      expect(t.statements.count).toBe(before); // no SQL: the write left it warm
      expect(list!.ids).toEqual(await userOrderIds(userId));
    });

    it('leaves the cached list equal to MySQL\'s after 50 concurrent orders race cold-list backfills held back', async () => {
      const user = (await t.core.users.create({ name: 'Racer', email: `racer-${Date.now()}@example.com`, bio: null })).id;
      const key = t.core.lists.userOrders.cacheLayout.key(user);
      // Each backfill of this list is held until every order has been placed, so each
      // lands with an older version than the writers cached.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let held = 0;
      hooks.beforeBackfill = async ({ entity }) => {
        if (entity !== 'user_orders') return;
        held++;
        await released;
      };
      const reads: Array<Promise<unknown>> = [];
      const placed = Array.from({ length: 50 }, async (_, i) => {
        if (i % 5 === 0) {
          await t.redis.del(key); // cold: the next read misses and backfills
          reads.push(t.core.lists.userOrders.load([user]));
        }
        return place(user);
      });
      const done = await Promise.all(placed);
      await pollUntil('the held backfills', () => held > 0);
      release();
      await Promise.all(reads);
      const inMysql = await userOrderIds(user);
      expect(inMysql).toHaveLength(50);
      expect(inMysql).toEqual(done.map((o) => o.id).sort((a, b) => b - a));
      // The late backfills could not set the list back; a key deleted after the last
      // write is cold, and the read backfills it.
      const [read] = await t.core.lists.userOrders.load([user]);
      expect(read!.ids).toEqual(inMysql);
      expect(await cached('userOrders', user)).toMatchObject({ ids: inMysql, version: 50 });
    });

    it('answers every read after an order is acknowledged with a list that holds it', async () => {
      const user = (await t.core.users.create({ name: 'Reader', email: `reader-${Date.now()}@example.com`, bio: null })).id;
      const acknowledged: number[] = [];
      let missing = 0;
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const known = [...acknowledged];
          if (Math.random() < 0.3) await t.redis.del(t.core.lists.userOrders.cacheLayout.key(user));
          const [list] = await t.core.lists.userOrders.load([user]);
          missing += known.filter((id) => !list!.ids.includes(id)).length;
        }
      })();
      await Promise.all(Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 8; i++) acknowledged.push((await place(user)).id);
      }));
      writing = false;
      await reader;
      expect(missing).toBe(0);
    });
  });

  describe('deleteReview', () => {
    it('never brings the review back with a backfill held back', async () => {
      const review = await t.core.reviews.create({ userId, productId, rating: 4, body: 'Soon gone' });
      const key = t.core.lists.productReviews.cacheLayout.key(productId);
      await t.redis.del(key);
      let reached!: () => void;
      const atBackfill = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      hooks.beforeBackfill = async ({ entity }) => {
        if (entity !== 'product_reviews') return;
        reached();
        await released;
      };
      const slowRead = t.core.lists.productReviews.load([productId]); // has read the list with the review
      await atBackfill;
      delete hooks.beforeBackfill;
      expect(await t.core.reviews.delete(review.id)).toBe(true);
      expect((await cached('productReviews', productId))!.ids).not.toContain(review.id);
      release();
      const [stale] = await slowRead;
      expect(stale!.ids).toContain(review.id); // the read answers what it read…
      expect((await cached('productReviews', productId))!.ids).not.toContain(review.id); // …but cannot plant it
      const [now] = await t.core.lists.productReviews.load([productId]);
      expect(now!.ids).not.toContain(review.id);
      const inMysql = await t.db.select({ id: reviews.id }).from(reviews).where(eq(reviews.productId, productId)).orderBy(desc(reviews.id));
      expect(now!.ids).toEqual(inMysql.map((r) => r.id));
    });

    it('refuses to move a review to another product (its lists would not follow)', async () => {
      const review = await t.core.reviews.create({ userId, productId, rating: 4, body: 'Stays' });
      await expect(t.core.reviews.update(review.id, { productId: productId + 1 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('cache:audit', () => {
    it('finds a list set back behind the service, and repairs it with --fix', async () => {
      const user = (await t.core.users.create({ name: 'Audited', email: `audited-${Date.now()}@example.com`, bio: null })).id;
      const first = await place(user);
      await place(user);
      const list = t.core.lists.userOrders;
      // The state after the first order, as if a late write had set it back.
      await t.redis.set(list.cacheLayout.key(user), list.cacheLayout.rowWrite({ id: user, version: 1, ids: [first.id], more: false }, Date.now()).value, 'PX', 60_000);
      const deps = { db: t.db, cache: t.core.cache, redis: t.redis };
      const found = await auditList(deps, list);
      expect(found.stale).toContain(user);
      const fixed = await auditList(deps, list, { fix: true });
      expect(fixed.stale).toContain(user);
      expect(fixed.fixed).toMatchObject({ stale: fixed.stale.length, failed: 0 });
      expect((await cached('userOrders', user))!.ids).toEqual(await userOrderIds(user));
      expect((await auditList(deps, list)).drift).toBe(0);
    });
  });

  describe('page', () => {
    it('neither repeats nor skips an order while new ones are placed, and a cursor stays valid', async () => {
      const user = (await t.core.users.create({ name: 'Pager', email: `pager-${Date.now()}@example.com`, bio: null })).id;
      for (let i = 0; i < 30; i++) await place(user);
      const before = await userOrderIds(user);
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const [list] = await t.core.lists.userOrders.load([user]);
        const page = await t.core.lists.userOrders.page(list!, 7, after);
        seen.push(...page.ids);
        await place(user); // a new edge above every cursor
        if (!page.hasNextPage) break;
        after = page.ids[page.ids.length - 1];
      }
      expect(seen).toEqual(before);
    });

    it('reads the pages past the cached ids from MySQL by cursor', async () => {
      const small = t.core.lists.userOrders.definition.cachedLength;
      const user = (await t.core.users.create({ name: 'Long', email: `long-${Date.now()}@example.com`, bio: null })).id;
      for (let i = 0; i < small + 15; i++) await place(user);
      const all = (await t.db.select({ id: orders.id }).from(orders).where(eq(orders.userId, user)).orderBy(desc(orders.id))).map((r) => r.id);
      const [list] = await t.core.lists.userOrders.load([user]);
      expect(list!.ids).toEqual(all.slice(0, small));
      expect(list!.more).toBe(true);
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await t.core.lists.userOrders.page(list!, 40, after);
        seen.push(...page.ids);
        if (!page.hasNextPage) break;
        after = page.ids[page.ids.length - 1];
      }
      expect(seen).toEqual(all);
    });
  });
}
