import { beforeAll, describe, expect, it } from 'vitest';
import { useServerOnPrivateRedis } from '../helpers/server';

/**
 * The association lists over GraphQL: `User.orders`, `Product.orders`,
 * `Product.reviews` and `latestOrders` as Relay connections, read from the cached
 * lists (counted by MySQL and by the private redis-server).
 */
const env = useServerOnPrivateRedis();

let seq = 0;
let userId: string;
let productId: string;
let placed: string[];

const gql = async (query: string, variables?: Record<string, unknown>) => {
  const res = await env.s.gql(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
};
const place = async (user: string, product: string) =>
  (await gql(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, { input: { userId: user, productId: product, quantity: 1 } })).placeOrder.id as string;

beforeAll(async () => {
  userId = (await gql(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, { i: { name: 'Lists', email: `lists-${Date.now()}@example.com` } })).createUser.id;
  const products: string[] = [];
  for (let i = 0; i < 3; i++) {
    products.push((await gql(`mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }`, { i: { sku: `LST-${++seq}-${Date.now()}`, name: `Listed ${seq}`, priceCents: 100, stock: 1000 } })).createProduct.id);
  }
  productId = products[0]!;
  placed = [];
  for (let i = 0; i < 30; i++) placed.push(await place(userId, products[i % 3]!));
});

const USER_ORDERS = `query($id: ID!, $first: Int!, $after: String) {
  user(id: $id) { orders(first: $first, after: $after) { edges { cursor node { id product { name } } } pageInfo { hasNextPage endCursor } } }
}`;

describe('User.orders', () => {
  it('costs no SQL and at most 3 Redis round trips when warm: the user with its list, the orders, their products', async () => {
    await gql(USER_ORDERS, { id: userId, first: 20 }); // warms the products (the orders and lists were written through)
    const { result, sql, redis } = await env.cost(() => env.s.gql(USER_ORDERS, { id: userId, first: 20 }));
    expect(result.errors).toBeUndefined();
    expect(result.data!.user.orders.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(placed.slice(-20).reverse());
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 3 } });
  });

  it('costs the same when the list is asked for inside a fragment, as Apollo Client and urql send it', async () => {
    const query = `query($id: ID!) { user(id: $id) { __typename ...Orders } }
      fragment Orders on User { orders(first: 20) { edges { node { id product { name } } } } }`;
    await gql(query, { id: userId });
    const { result, sql, redis } = await env.cost(() => env.s.gql(query, { id: userId }));
    expect(result.data!.user.orders.edges).toHaveLength(20);
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 3 } });
  });

  it('pages with opaque cursors to the end, newest first, and says when there is no next page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } = (await gql(USER_ORDERS, { id: userId, first: 7, after })).user.orders;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...placed].reverse());
  });

  it('refuses a cursor from another list, and a `first` out of range, as BAD_USER_INPUT', async () => {
    const reviews = await env.s.gql(`query($id: ID!) { product(id: $id) { reviews(first: 1, after: "bm90LWEtY3Vyc29y") { edges { cursor } } } }`, { id: productId });
    expect(reviews.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    for (const first of [0, 101]) {
      const res = await env.s.gql(USER_ORDERS, { id: userId, first });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });

  it('answers a new order on the next read without SQL: the write left the list warm', async () => {
    const id = await place(userId, productId);
    const { result, sql } = await env.cost(() => env.s.gql(USER_ORDERS, { id: userId, first: 1 }));
    expect(result.data!.user.orders.edges[0].node.id).toBe(id);
    expect(sql).toBe(0);
    placed.push(id);
  });
});

describe('lists of many parents', () => {
  it("reads every user's list at one level in one MGET, then all their orders in one more", async () => {
    const others = [];
    for (let i = 0; i < 3; i++) {
      const id = (await gql(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, { i: { name: `Many ${i}`, email: `many-${i}-${Date.now()}@example.com` } })).createUser.id;
      await place(id, productId);
      others.push(id);
    }
    const query = `query($ids: [ID!]!) { users(ids: $ids) { id orders(first: 5) { edges { node { id quantity } } } } }`;
    const ids = [userId, ...others];
    await gql(query, { ids });
    const { result, sql, redis } = await env.cost(() => env.s.gql(query, { ids }));
    expect(result.data!.users.map((u: { orders: { edges: unknown[] } }) => u.orders.edges.length)).toEqual([5, 1, 1, 1]);
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 3 } }); // the users, their four lists, the orders
  });
});

describe('latestOrders', () => {
  it('costs no SQL and 3 MGETs when warm for 50 orders with their users and products', async () => {
    const query = `{ latestOrders(first: 50) { edges { node { id user { name } product { name } } } } }`;
    await gql(query);
    const { result, sql, redis } = await env.cost(() => env.s.gql(query));
    expect(result.data!.latestOrders.edges).toHaveLength(34); // every order placed in this file so far
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 3 } });
  });
});

describe('Product.reviews', () => {
  it('lists a review once created and drops it once deleted, each time without SQL', async () => {
    const created = (await gql(`mutation($i: CreateReviewInput!) { createReview(input: $i) { id } }`, { i: { userId, productId, rating: 5, body: 'Listed' } })).createReview.id;
    const query = `query($id: ID!) { product(id: $id) { reviews(first: 10) { edges { node { id rating } } } } }`;
    const after = await env.cost(() => env.s.gql(query, { id: productId }));
    expect(after.result.data!.product.reviews.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([created]);
    expect(after.sql).toBe(0);
    expect((await gql(`mutation($id: ID!) { deleteReview(id: $id) }`, { id: created })).deleteReview).toBe(true);
    const gone = await env.cost(() => env.s.gql(query, { id: productId }));
    expect(gone.result.data!.product.reviews.edges).toEqual([]);
    expect(gone.sql).toBe(0);
  });
});
