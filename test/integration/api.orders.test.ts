import { count, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { orders, products } from '../../src/db/schema';
import { useServerOnPrivateRedis } from '../helpers/server';

const env = useServerOnPrivateRedis();

let seq = 0;
const orderCount = async () => (await env.s.db.select({ n: count() }).from(orders))[0]!.n;
const productInMysql = async (id: string) => (await env.s.db.select().from(products).where(eq(products.id, Number(id))))[0]!;

async function createUser() {
  const res = await env.s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
    input: { name: `Buyer ${++seq}`, email: `buyer${seq}-${Date.now()}@example.com` },
  });
  return res.data!.createUser.id as string;
}

async function createProduct(stock = 10, priceCents = 250) {
  const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
    input: { sku: `ORD-${++seq}-${Date.now()}`, name: `Thing ${seq}`, priceCents, stock },
  });
  return res.data!.createProduct.id as string;
}

const PLACE = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id quantity totalCents createdAt user { id } product { id stock version } }
}`;
const place = (userId: string, productId: string, quantity: number) => env.s.gql(PLACE, { input: { userId, productId, quantity } });

describe('placeOrder', () => {
  it('takes the stock and records the order, with the price times the quantity', async () => {
    const [userId, productId] = [await createUser(), await createProduct(10, 250)];
    const res = await place(userId, productId, 3);
    expect(res.errors).toBeUndefined();
    expect(res.data!.placeOrder).toMatchObject({
      quantity: 3,
      totalCents: 750,
      user: { id: userId },
      product: { id: productId, stock: 7, version: 2 },
    });
    expect(await productInMysql(productId)).toMatchObject({ stock: 7, version: 2 });
  });

  it("writes the product, the order and the order's three lists through in one pipeline after the commit", async () => {
    const [userId, productId] = [await createUser(), await createProduct()];
    const pipelines = vi.spyOn(env.s.redis, 'pipeline');
    const { result, redis } = await env.cost(() => place(userId, productId, 1));
    expect(result.errors).toBeUndefined();
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();
    // Five compare-and-sets, the product, the order, and the user's, the product's and
    // the newest orders' lists (commandstats also counts the commands each script
    // runs), then one MGET for the response's nested user and product (their two
    // batches are made in the same turn, so they go out together): both hits.
    expect(redis).toEqual({ evalsha: 5, time: 5, get: 5, set: 5, mget: 1 });
  });

  it('leaves both the order and the product in the cache: reading them back costs no SQL', async () => {
    const [userId, productId] = [await createUser(), await createProduct()];
    const order = (await place(userId, productId, 2)).data!.placeOrder;
    const { result, sql } = await env.cost(() =>
      env.s.gql(`query($o: ID!, $p: ID!) { order(id: $o) { id quantity } product(id: $p) { stock version } }`, { o: order.id, p: productId }),
    );
    expect(result.data).toEqual({ order: { id: order.id, quantity: 2 }, product: { stock: 8, version: 2 } });
    expect(sql).toBe(0);
  });

  it('refuses an order for more than the stock as CONFLICT, and changes nothing', async () => {
    const [userId, productId] = [await createUser(), await createProduct(2)];
    const before = await orderCount();
    const res = await place(userId, productId, 3);
    expect(res.errors?.[0]).toMatchObject({
      message: `product ${productId} has 2 in stock, not the 3 ordered`,
      extensions: { code: 'CONFLICT', available: 2, requested: 3 },
    });
    expect(await orderCount()).toBe(before);
    expect(await productInMysql(productId)).toMatchObject({ stock: 2, version: 1 });
    const cached = await env.s.gql(`query($p: ID!) { product(id: $p) { stock version } }`, { p: productId });
    expect(cached.data).toEqual({ product: { stock: 2, version: 1 } });
  });

  it.each([
    ['user', () => ['999999', null] as const],
    ['product', () => [null, '999999'] as const],
  ])('reports a missing %s as NOT_FOUND, and changes nothing', async (entity, ids) => {
    const [userId, productId] = [await createUser(), await createProduct(5)];
    const [u, p] = ids();
    const before = await orderCount();
    const res = await place(u ?? userId, p ?? productId, 1);
    expect(res.errors?.[0]).toMatchObject({ message: `${entity} 999999 does not exist`, extensions: { code: 'NOT_FOUND' } });
    expect(await orderCount()).toBe(before);
    expect(await productInMysql(productId)).toMatchObject({ stock: 5, version: 1 });
  });

  it.each([
    ['a zero quantity', 0],
    ['a negative quantity', -2],
    ['a huge quantity', 10_001],
  ])('rejects %s as BAD_USER_INPUT', async (_, quantity) => {
    const [userId, productId] = [await createUser(), await createProduct()];
    const res = await env.s.gql(PLACE, { input: { userId, productId, quantity } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field: 'quantity' })] });
  });

  it('rejects a userId that is not a positive integer as BAD_USER_INPUT naming it', async () => {
    const res = await env.s.gql(PLACE, { input: { userId: 'me', productId: '1', quantity: 1 } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
  });
});

describe('placeOrder at the limits of an order’s total', () => {
  const MAX = 2 ** 31 - 1;

  it('accepts the largest total, which round-trips through the cache and recentOrders', async () => {
    const [userId, productId] = [await createUser(), await createProduct(10, MAX)];
    const res = await place(userId, productId, 1);
    expect(res.errors).toBeUndefined();
    const id = res.data!.placeOrder.id as string;
    expect(res.data!.placeOrder).toMatchObject({ totalCents: MAX, product: { stock: 9 } });
    const read = await env.s.gql(`query($id: ID!) { order(id: $id) { totalCents } recentOrders(limit: 5) { id totalCents } }`, { id });
    expect(read.errors).toBeUndefined();
    expect(read.data!.order).toEqual({ totalCents: MAX });
    expect(read.data!.recentOrders).toContainEqual({ id, totalCents: MAX });
  });

  it('refuses one cent past it with BAD_USER_INPUT and writes nothing: no order, the stock untouched', async () => {
    const [userId, productId] = [await createUser(), await createProduct(10, 2 ** 30)];
    const [ordersBefore, productBefore] = [await orderCount(), await productInMysql(productId)];
    const res = await place(userId, productId, 2);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    expect(await orderCount()).toBe(ordersBefore);
    expect(await productInMysql(productId)).toEqual(productBefore);
    // recentOrders still answers for everyone.
    expect((await env.s.gql('{ recentOrders(limit: 5) { id totalCents } }')).errors).toBeUndefined();
  });
});

describe('order', () => {
  it('answers null for an id with no order', async () => {
    expect((await env.s.gql(`{ order(id: "999999") { id } }`)).data).toEqual({ order: null });
  });
});

describe('recentOrders', () => {
  const RECENT = `query($limit: Int!) { recentOrders(limit: $limit) { id quantity user { id name } product { id name stock } } }`;
  let placed: string[];

  beforeAll(async () => {
    const buyers = [await createUser(), await createUser(), await createUser()];
    const things = [await createProduct(1000), await createProduct(1000)];
    placed = [];
    for (let i = 0; i < 50; i++) placed.push((await place(buyers[i % 3]!, things[i % 2]!, 1)).data!.placeOrder.id);
  });

  it('lists the newest first', async () => {
    const res = await env.s.gql(RECENT, { limit: 5 });
    expect(res.data!.recentOrders.map((o: { id: string }) => o.id)).toEqual(placed.slice(-5).reverse());
  });

  it('costs no SQL and one MGET per level when warm: the cached list, the orders, then their users and products together', async () => {
    const { result, sql, redis } = await env.cost(() => env.s.gql(RECENT, { limit: 50 }));
    expect(result.data!.recentOrders).toHaveLength(50);
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 3 } });
  });

  it('costs one SELECT … IN per type for its misses when cold, and is warm again after', async () => {
    const keys = await env.s.redis.keys(`${env.s.settings.keyPrefix}*`);
    await env.s.redis.del(...keys);
    const cold = await env.cost(() => env.s.gql(RECENT, { limit: 50 }));
    expect(cold.result.data!.recentOrders).toHaveLength(50);
    expect(cold.sql).toBe(4); // the list, then orders, users and products IN (…)
    expect(cold.redis.mget).toBe(3);
    const warm = await env.cost(() => env.s.gql(RECENT, { limit: 50 }));
    expect({ sql: warm.sql, redis: warm.redis }).toEqual({ sql: 0, redis: { mget: 3 } });
  });

  it.each([0, 101])('rejects limit %i as BAD_USER_INPUT', async (limit) => {
    const res = await env.s.gql(RECENT, { limit });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
  });

  it('refuses to delete a user or product that orders refer to, as CONFLICT', async () => {
    const order = (await env.s.gql(`query { recentOrders(limit: 1) { user { id } product { id } } }`)).data!.recentOrders[0];
    const user = await env.s.gql(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: order.user.id });
    expect(user.errors?.[0]).toMatchObject({ message: 'this user is still referenced by other records', extensions: { code: 'CONFLICT' } });
    const product = await env.s.gql(`mutation($id: ID!) { deleteProduct(id: $id) }`, { id: order.product.id });
    expect(product.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await env.s.gql(`query($id: ID!) { user(id: $id) { id } }`, { id: order.user.id })).data).toEqual({ user: { id: order.user.id } });
  });
});
