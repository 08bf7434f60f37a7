import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema';
import { subscribeToFailures, type Subscriber } from '../helpers/failure-subscriber';
import { watchFeed, type FeedWatch } from '../helpers/feed-watch';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

// Each test gets a server of its own (its own database, key prefix and event
// sequence, so event ids start at "1"), over a redis-server it may kill.


/** What a test must undo, run newest first after each test even when it fails. */
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
});

interface Env {
  redis: PrivateRedis;
  s: TestServer;
  wsUrl: string;
  feed: FeedWatch;
  /** A token with the admin scope, which the subscription needs. */
  adminToken: string;
  /** Stops the server; safe to call again (the cleanup does). */
  close(): Promise<void>;
}

/** A private redis-server and a test server on it, with fast-failing cache writes. */
async function startEnv(): Promise<Env> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.kill());
  const s = await startTestServer({
    redisUrl: redis.url,
    commandTimeoutMs: 100,
    settings: { writeRetries: 1, writeRetryDelayMs: 10 },
  });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= s.close());
  cleanups.push(close);
  return { redis, s, wsUrl: s.url.replace(/^http/, 'ws'), feed: watchFeed(s.core.feed), adminToken: await s.token(['admin']), close };
}

function subscribe(env: Env, variables: { entity?: string; after?: string } = {}, token = env.adminToken): Subscriber {
  const subscriber = subscribeToFailures(env.wsUrl, variables, { token });
  cleanups.push(() => subscriber.dispose());
  return subscriber;
}

/** Subscribes, and returns once the server has registered the subscription. */
async function subscribed(env: Env, variables: { entity?: string; after?: string } = {}): Promise<Subscriber> {
  const expected = env.feed.open + 1;
  const subscriber = subscribe(env, variables);
  await env.feed.untilOpen(expected);
  return subscriber;
}

let seq = 0;
const unique = () => `${++seq}-${Date.now()}`;

async function createUser(s: TestServer): Promise<{ id: string; version: number }> {
  const res = await s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id version } }`, {
    input: { name: 'Ada', email: `sub${unique()}@example.com` },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createUser;
}

async function updateUser(s: TestServer, id: string, name: string): Promise<{ id: string; name: string; version: number }> {
  const res = await s.gql(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id name version } }`, {
    id,
    input: { name },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.updateUser;
}

async function createProduct(s: TestServer): Promise<{ id: string; version: number }> {
  const res = await s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id version } }`, {
    input: { sku: `SKU-${unique()}`, name: 'Mug', priceCents: 1200, stock: 10 },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createProduct;
}

describe('Subscription: writeThroughFailures', () => {
  it('delivers a failed cache write to a subscriber within a second, while the mutation returns the committed row', async () => {
    const env = await startEnv();
    const { s } = env;
    const user = await createUser(s); // Redis is up: this write goes through, and reports nothing
    const subscriber = await subscribed(env);

    await env.redis.kill();
    const updated = await updateUser(s, user.id, 'Committed anyway');
    const respondedAt = Date.now();

    expect(updated).toEqual({ id: user.id, name: 'Committed anyway', version: 2 });
    const [row] = await s.db.select().from(users).where(eq(users.id, Number(user.id)));
    expect(row).toMatchObject({ name: 'Committed anyway', version: 2 });

    const event = await subscriber.next(2_000);
    expect(event).toEqual({
      id: '1',
      failureId: '1',
      repairedAt: null,
      repairedBy: null,
      entity: 'user',
      entityId: user.id,
      operation: 'update',
      version: 2,
      error: expect.stringMatching(/\S/),
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      instance: 'test-instance',
      receivedAt: expect.any(Number),
    });
    // The event may well arrive before the mutation's response: it is published
    // before the resolver returns. Either way, it is not more than a second late.
    expect(event.receivedAt - respondedAt).toBeLessThan(1_000);
    expect(subscriber.events).toHaveLength(1);
  });

  it('filters by entity', async () => {
    const env = await startEnv();
    const { s } = env;
    const user = await createUser(s);
    const products = await subscribed(env, { entity: 'product' });
    const everything = await subscribed(env);

    await env.redis.kill();
    // user, product, user, product: ids 1 to 4.
    await updateUser(s, user.id, 'First');
    const first = await createProduct(s);
    await updateUser(s, user.id, 'Second');
    const second = await createProduct(s);

    // The unfiltered subscriber proves all four failures were published...
    const all = [await everything.next(), await everything.next(), await everything.next(), await everything.next()];
    expect(all.map((e) => [e.id, e.entity])).toEqual([
      ['1', 'user'],
      ['2', 'product'],
      ['3', 'user'],
      ['4', 'product'],
    ]);
    // ...and, since a subscription delivers in order, the product subscriber having
    // received #4 means it would have received #1 and #3 by now, had they matched.
    await products.next();
    await products.next();
    expect(products.events.map((e) => ({ id: e.id, entity: e.entity, entityId: e.entityId, operation: e.operation }))).toEqual([
      { id: '2', entity: 'product', entityId: first.id, operation: 'create' },
      { id: '4', entity: 'product', entityId: second.id, operation: 'create' },
    ]);
  });

  it("reports a failed association list write under the list's name, and its repair", async () => {
    const env = await startEnv();
    const { s } = env;
    const user = await createUser(s);
    const product = await createProduct(s);
    const lists = await subscribed(env, { entity: 'user_orders' });

    await env.redis.kill();
    const placed = await s.gql(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, { input: { userId: user.id, productId: product.id, quantity: 1 } });
    expect(placed.errors).toBeUndefined();
    const failed = await lists.next(2_000);
    expect(failed).toMatchObject({ entity: 'user_orders', entityId: user.id, operation: 'create', version: 1, repairedAt: null });

    // Redis back: the repair worker sets the list from MySQL, and the repair is reported too.
    await env.redis.restart();
    await pollUntil('the client to reconnect', () => s.redis.status === 'ready');
    await s.core.repairWorker.runOnce();
    const repaired = await lists.next(5_000);
    expect(repaired).toMatchObject({ failureId: failed.failureId, entity: 'user_orders', repairedAt: expect.any(String) });
    const res = await s.gql(`query($id: ID!) { user(id: $id) { orders(first: 5) { edges { node { id } } } } }`, { id: user.id });
    expect(res.data!.user.orders.edges).toEqual([{ node: { id: placed.data!.placeOrder.id } }]);
  });

  it('resumes after the last event id it saw, missing none', async () => {
    const env = await startEnv();
    const { s } = env;
    const user = await createUser(s);
    const a = await subscribed(env);

    await env.redis.kill();
    await updateUser(s, user.id, 'v2');
    await updateUser(s, user.id, 'v3');
    expect([(await a.next()).id, (await a.next()).id]).toEqual(['1', '2']);
    const lastSeen = a.events.at(-1)!.id;

    // A goes away; the server lets go of its subscription.
    await a.dispose();
    await env.feed.untilOpen(0);
    await updateUser(s, user.id, 'v4'); // #3 and #4: nobody is listening
    await updateUser(s, user.id, 'v5');
    expect(a.events).toHaveLength(2);

    const b = await subscribed(env, { after: lastSeen });
    const missed = [await b.next(), await b.next()];
    expect(missed.map((e) => [e.id, e.version])).toEqual([
      ['3', 4],
      ['4', 5],
    ]);
    // Then the live ones, right after the replay, with none twice.
    await updateUser(s, user.id, 'v6');
    const live = await b.next();
    expect([live.id, live.version]).toEqual(['5', 6]);
    expect(b.events.map((e) => e.id)).toEqual(['3', '4', '5']);
  });

  it('refuses an unknown entity when subscribing, before any event', async () => {
    const env = await startEnv();
    const subscriber = subscribe(env, { entity: 'usr' });
    const error = await pollUntil('the subscription to be refused', () => subscriber.error);
    expect(error).toEqual([
      expect.objectContaining({
        message: 'entity must be one of user, product, order, review, user_orders, product_orders, product_reviews, recent_orders, got "usr"',
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'entity' }),
      }),
    ]);
    expect(env.feed.open).toBe(0);
  });

  it('replays every event still kept when resuming after "0"', async () => {
    const env = await startEnv();
    const user = await createUser(env.s);
    await env.redis.kill();
    await updateUser(env.s, user.id, 'before anyone listened');
    const late = await subscribed(env, { after: '0' });
    expect((await late.next()).id).toBe('1');
  });

  it('closes subscriptions when the server stops', async () => {
    const env = await startEnv();
    const subscriber = await subscribed(env);

    const started = Date.now();
    await env.close();
    const closed = await subscriber.closed(2_000);
    expect(closed.code).toBe(1001);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The subscription ended, with that close event (this client does not retry),
    // rather than hanging; and the server let go of its side.
    expect(await pollUntil('the subscription to end', () => subscriber.error, 1_000)).toMatchObject({ code: 1001 });
    await env.feed.untilOpen(0);
  });
});
