import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../src/auth/principal';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { subscribeToFailures } from '../helpers/failure-subscriber';
import { pollUntil } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Every operation of the API against every kind of caller, with reads requiring the
 * `read` scope (REQUIRE_AUTH_FOR_READS=true): only a valid token with the right scope
 * gets through, and a refused call changes nothing in MySQL or Redis.
 */
let s: TestServer;
let ids: { user: string; product: string; order: string; spareUser: string; spareProduct: string };

beforeAll(async () => {
  s = await startTestServer({ requireAuthForReads: true });
  const user = (await s.gql(`mutation { createUser(input: { name: "Owner", email: "owner-${Date.now()}@example.com" }) { id } }`)).data!.createUser.id;
  const spareUser = (await s.gql(`mutation { createUser(input: { name: "Spare", email: "spare-${Date.now()}@example.com" }) { id } }`)).data!.createUser.id;
  const product = (await s.gql(`mutation { createProduct(input: { sku: "AUTH-1-${Date.now()}", name: "Lock", priceCents: 500, stock: 100 }) { id } }`)).data!.createProduct.id;
  const spareProduct = (await s.gql(`mutation { createProduct(input: { sku: "AUTH-2-${Date.now()}", name: "Key", priceCents: 5, stock: 1 }) { id } }`)).data!.createProduct.id;
  const order = (await s.gql(`mutation($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }`, { u: user, p: product })).data!.placeOrder.id;
  ids = { user, product, order, spareUser, spareProduct };
});
afterAll(() => s?.close());

interface Operation {
  name: string;
  scope: Scope;
  query: string;
  variables?: () => Record<string, unknown>;
}

const OPERATIONS: Operation[] = [
  { name: 'user', scope: 'read', query: 'query($id: ID!) { user(id: $id) { id } }', variables: () => ({ id: ids.user }) },
  { name: 'users', scope: 'read', query: 'query($ids: [ID!]!) { users(ids: $ids) { id } }', variables: () => ({ ids: [ids.user] }) },
  { name: 'product', scope: 'read', query: 'query($id: ID!) { product(id: $id) { id } }', variables: () => ({ id: ids.product }) },
  { name: 'products', scope: 'read', query: 'query($ids: [ID!]!) { products(ids: $ids) { id } }', variables: () => ({ ids: [ids.product] }) },
  { name: 'order', scope: 'read', query: 'query($id: ID!) { order(id: $id) { id user { id } product { id } } }', variables: () => ({ id: ids.order }) },
  { name: 'recentOrders', scope: 'read', query: '{ recentOrders(limit: 5) { id } }' },
  { name: 'createUser', scope: 'write', query: `mutation { createUser(input: { name: "New", email: "new-${Date.now()}@example.com" }) { id } }` },
  { name: 'updateUser', scope: 'write', query: 'mutation($id: ID!) { updateUser(id: $id, input: { name: "Renamed" }) { id } }', variables: () => ({ id: ids.user }) },
  { name: 'deleteUser', scope: 'write', query: 'mutation($id: ID!) { deleteUser(id: $id) }', variables: () => ({ id: ids.spareUser }) },
  { name: 'createProduct', scope: 'write', query: `mutation { createProduct(input: { sku: "AUTH-3-${Date.now()}", name: "New", priceCents: 1, stock: 1 }) { id } }` },
  { name: 'updateProduct', scope: 'write', query: 'mutation($id: ID!) { updateProduct(id: $id, input: { stock: 50 }) { id } }', variables: () => ({ id: ids.product }) },
  { name: 'deleteProduct', scope: 'write', query: 'mutation($id: ID!) { deleteProduct(id: $id) }', variables: () => ({ id: ids.spareProduct }) },
  {
    name: 'placeOrder',
    scope: 'write',
    query: 'mutation($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }',
    variables: () => ({ u: ids.user, p: ids.product }),
  },
  { name: 'unrepairedWriteThroughFailures', scope: 'admin', query: '{ unrepairedWriteThroughFailures { id } }' },
];

const ALL_SCOPES: Scope[] = ['read', 'write', 'admin'];

/** The four ways to be refused, and the code each must get. */
async function refusedCallers(scope: Scope): Promise<Array<[string, string | null, string]>> {
  return [
    ['no token', null, 'UNAUTHENTICATED'],
    ['a bad signature', await issueToken(makeUpSecret(), ALL_SCOPES), 'UNAUTHENTICATED'],
    ['an expired token', await s.token(ALL_SCOPES, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'UNAUTHENTICATED'],
    ['a token without the scope', await s.token(ALL_SCOPES.filter((x) => x !== scope)), 'FORBIDDEN'],
  ];
}

/** Everything a refused call could have changed: every table's rows, and every key of this server's prefix. */
async function snapshot() {
  const rows: Record<string, unknown> = {};
  for (const table of ['users', 'products', 'orders', 'write_through_failures']) {
    const [result] = (await s.pool.query(`SELECT * FROM \`${table}\` ORDER BY id`)) as unknown as [unknown[]];
    rows[table] = result;
  }
  const keys = (await s.redis.keys(`${s.settings.keyPrefix}*`)).sort();
  const values = keys.length > 0 ? await s.redis.mget(...keys) : [];
  return { rows, cache: Object.fromEntries(keys.map((k, i) => [k, values[i]])) };
}

describe('every operation', () => {
  it.each(OPERATIONS.map((op) => [op.name, op] as const))('%s: only a valid token with its scope gets through, and refused calls change nothing', async (_, op) => {
    const before = await snapshot();
    for (const [caller, token, code] of await refusedCallers(op.scope)) {
      const res = await s.gql(op.query, op.variables?.(), { token });
      // A nullable field answers null beside its error; a non-null one nulls `data`.
      const delivered = Object.values(res.data ?? {}).filter((v) => v !== null);
      expect({ caller, delivered, code: res.errors?.[0]?.extensions?.code }).toEqual({ caller, delivered: [], code });
    }
    expect(await snapshot()).toEqual(before);

    const allowed = await s.gql(op.query, op.variables?.(), { token: await s.token([op.scope]) });
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data).not.toBeNull();
  });

  it('writeThroughFailures: only an admin token may subscribe', async () => {
    const wsUrl = s.url.replace(/^http/, 'ws');
    for (const [caller, token, code] of await refusedCallers('admin')) {
      const subscriber = subscribeToFailures(wsUrl, {}, token ? { token } : {});
      try {
        const error = await pollUntil(`${caller} to be refused`, () => subscriber.error);
        expect({ caller, code: (error as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code }).toEqual({ caller, code });
      } finally {
        await subscriber.dispose();
      }
    }
    const admin = subscribeToFailures(wsUrl, { after: '0' }, { token: await s.token(['admin']) });
    try {
      // Accepted: nothing to deliver yet, and no error after a round trip of the socket.
      await s.gql('{ __typename }');
      expect(admin.error).toBeUndefined();
    } finally {
      await admin.dispose();
    }
  });
});

describe('reads, when REQUIRE_AUTH_FOR_READS is off', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer();
  });
  afterAll(() => open?.close());

  it('are public without a token', async () => {
    const res = await open.gql('{ recentOrders(limit: 1) { id } }', undefined, { token: null });
    expect(res).toMatchObject({ data: { recentOrders: [] } });
    expect(res.errors).toBeUndefined();
  });

  it('are refused with a bad token, so a broken client hears about it', async () => {
    const res = await open.gql('{ recentOrders(limit: 1) { id } }', undefined, { token: await issueToken(makeUpSecret(), ['read']) });
    expect(res.errors?.[0]).toMatchObject({ message: 'Unauthenticated: the token signature is invalid', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('still refuse a malformed Authorization header', async () => {
    const res = await fetch(open.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      body: JSON.stringify({ query: '{ recentOrders { id } }' }),
    });
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});
