import { count, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { products, reviews, users, writeThroughFailures } from '../../src/db/schema';
import { auditEntity } from '../../src/tools/audit';
import { cachedEntities } from '../../src/tools/entities';
import { subscribeToFailures, type Subscriber } from '../helpers/failure-subscriber';
import { pollUntil } from '../helpers/poll';
import { reinspectEverything } from '../helpers/reinspect';
import { BURST_CORE_OPTIONS, BURST_OPS, burstTarget, expectMysqlHasEveryWrite, seedBurstRows, type BurstOp, type BurstRows } from '../helpers/write-burst';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * 1,000 mixed writes from 16 concurrent clients over HTTP; a fifth of the way in
 * Redis stops answering (SIGSTOP), half way it is killed (SIGKILL), and after the
 * burst it comes back with what it had persisted, stale values included. Then the
 * ledger is checked: MySQL, the failure log, the subscriber, the cache.
 */
const WRITES = 1_000;
const CLIENTS = 16;
const USERS = 40;
const PRODUCTS = 10;
const STOCK = 100_000;

let redis: PrivateRedis;
let s: TestServer;
let subscriber: Subscriber;
let recordedHere = 0;

beforeAll(async () => {
  redis = await startPrivateRedis({ persistent: true });
  s = await startTestServer({
    redisUrl: redis.url,
    ...BURST_CORE_OPTIONS,
    commandTimeoutMs: 100,
    // Every write checked against MySQL soon after it settles, and again before it counts.
    inspector: { sampleRate: 1, delayMs: 50, recheckMs: 300, maxChecksPerSecond: 100_000, tickMs: 50 },
    inspect: true,
  });
  s.core.failureLog.onRecorded(() => recordedHere++);
  subscriber = subscribeToFailures(s.url.replace(/^http/, 'ws'), { after: '0' }, { token: await s.token(['admin']) });
});
afterAll(async () => {
  await subscriber?.dispose();
  await s?.close();
  await redis?.dispose();
});

interface Done {
  op: BurstOp;
  target: number;
  ok: boolean;
}


async function write(i: number, rows: BurstRows): Promise<Done> {
  const op = BURST_OPS[i % BURST_OPS.length]!;
  const user = burstTarget('updateUser', i, rows);
  const product = burstTarget('updateProduct', i, rows);
  const requests: Record<BurstOp, () => Promise<{ data?: unknown; errors?: unknown }>> = {
    updateUser: () => s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "burst ${i}" }) { version } }`, { id: user }),
    updateProduct: () => s.gql(`mutation($id: ID!) { updateProduct(id: $id, input: { priceCents: ${100 + i} }) { version } }`, { id: product }),
    updateReview: () => s.gql(`mutation($id: ID!) { updateReview(id: $id, input: { body: "burst ${i}" }) { version } }`, { id: burstTarget(op, i, rows) }),
    placeOrder: () => s.gql(`mutation($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }`, { u: user, p: product }),
    createUser: () => s.gql(`mutation { createUser(input: { name: "new ${i}", email: "burst${i}-${Date.now()}@example.com" }) { id } }`),
  };
  const res = await requests[op]();
  return { op, target: burstTarget(op, i, rows), ok: res.errors === undefined && res.data != null };
}

describe('a burst of writes while Redis stalls and dies', () => {
  it('loses nothing: MySQL has every write, every failure is reported once, and the repaired cache matches MySQL', async () => {
    const rows = await seedBurstRows(s.core, { users: USERS, products: PRODUCTS, stock: STOCK }, 'burst');
    const { userIds, productIds, reviewIds } = rows;
    await s.core.users.load(userIds); // every row cached, and persisted by Redis
    await s.core.reviews.load(reviewIds);

    const done: Done[] = [];
    let next = 0;
    const client = async () => {
      while (next < WRITES) {
        const i = next++;
        done.push(await write(i, rows));
        if (done.length === WRITES / 5) redis.pause();
        if (done.length === WRITES / 2) await redis.kill();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    // 1. Every write was answered with its committed result.
    expect(done).toHaveLength(WRITES);
    expect(done.filter((d) => !d.ok)).toEqual([]);

    // 2. MySQL has every one of them.
    await expectMysqlHasEveryWrite(s.db, done, { ...rows, users: USERS, stock: STOCK });

    // 3. Redis comes back with what it had; the repair worker repairs every failure.
    await redis.restart();
    await pollUntil('every failure repaired', async () => (await s.db.select({ n: count() }).from(writeThroughFailures).where(isNull(writeThroughFailures.repairedAt)))[0]!.n === 0, 30_000);

    // 4. One event per failed cache write, and one repair for each, reached the subscriber.
    const failures = (await s.db.select({ n: count() }).from(writeThroughFailures))[0]!.n;
    expect(failures).toBeGreaterThan(WRITES / 2); // everything after the pause failed
    expect(recordedHere).toBe(failures);
    await pollUntil('every event delivered', () => subscriber.events.length === 2 * failures, 10_000);
    const failed = subscriber.events.filter((e) => e.repairedAt === null).map((e) => e.failureId);
    const repaired = subscriber.events.filter((e) => e.repairedAt !== null).map((e) => e.failureId);
    expect(new Set(failed).size).toBe(failures);
    expect(failed).toHaveLength(failures);
    expect(new Set(repaired)).toEqual(new Set(failed));

    // 5. The cache agrees with MySQL everywhere.
    const entities = cachedEntities(s.core);
    for (const entity of Object.values(entities)) {
      const report = await auditEntity({ db: s.db, cache: s.core.cache, redis: s.redis }, entity);
      expect({ entity: entity.name, stale: report.stale, orphaned: report.orphaned }).toEqual({ entity: entity.name, stale: [], orphaned: [] });
    }

    // 6. The consistency inspector found nothing the failure log did not know of: every
    // key it saw behind had its failure recorded, and after the repairs none is wrong.
    const checked = await pollUntil('the inspector to check every write', () => {
      const total = s.core.inspector!.figures.snapshot().total;
      return total.checked >= WRITES ? total : undefined;
    }, 30_000);
    console.log(`inspector over the burst: ${JSON.stringify(checked)}; ${failures} failures recorded`);
    expect(checked.inconsistent, JSON.stringify(checked)).toBe(0);
    expect(checked.recorded).toBeLessThanOrEqual(failures);
    // Every row checked once more now that the failures are repaired: all consistent.
    const again = await reinspectEverything(s.core, s.db);
    expect(again).toEqual({ handed: again.handed, checked: again.handed, consistent: again.handed, inFlight: 0, recorded: 0, inconsistent: 0 });

    // 7. No read returns a value older than MySQL's.
    const read = await s.gql(`query($u: [ID!]!, $p: [ID!]!, $r: [ID!]!) { users(ids: $u) { id version } products(ids: $p) { id version stock } reviews(ids: $r) { id version } }`, {
      u: userIds.map(String),
      p: productIds.map(String),
      r: reviewIds.map(String),
    });
    for (const user of read.data!.users) {
      const [row] = await s.db.select().from(users).where(eq(users.id, Number(user.id)));
      expect(user.version).toBe(row!.version);
    }
    for (const product of read.data!.products) {
      const [row] = await s.db.select().from(products).where(eq(products.id, Number(product.id)));
      expect([product.version, product.stock]).toEqual([row!.version, row!.stock]);
    }
    for (const review of read.data!.reviews) {
      const [row] = await s.db.select().from(reviews).where(eq(reviews.id, Number(review.id)));
      expect(review.version).toBe(row!.version);
    }
  }, 120_000);
});
