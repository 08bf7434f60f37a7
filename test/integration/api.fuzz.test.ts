import { count } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { decodeEnvelope } from '../../src/cache/envelope';
import { orders, products, users } from '../../src/db/schema';
import { auditEntity } from '../../src/tools/audit';
import { cachedEntities } from '../../src/tools/entities';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { CLIENT_ERROR_CODES } from '../helpers/error-codes';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A few thousand requests made by mutating valid operations and their variables
 * (deletions, swaps, huge numbers, unicode, deep nesting, thousands of aliases, SQL
 * and Lua injection), with random tokens, against a server in production mode on a
 * redis-server of its own. FUZZ_SEED reruns a failing case; FUZZ_RUNS changes the count.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

/** What must never reach a client: stacks, SQL, driver errors, connection strings. */
const LEAKS = /stacktrace|\bat [\w.]+ \(|SELECT .*? FROM|INSERT INTO|\bER_[A-Z_]+|mysql:\/\/|redis:\/\/|ECONNREFUSED|Failed query/gi;

/**
 * Leak-shaped text in a response that the request did not contain: GraphQL quotes a
 * bad variable back to its sender ("got invalid value …"), and an injection string
 * quoted back is the caller's own text, not ours.
 */
function leaked(response: string, request: string): string[] {
  return [...response.matchAll(LEAKS)].map((m) => m[0]).filter((text) => !request.includes(text));
}

const INJECTIONS = [
  `' OR '1'='1`,
  `1; DROP TABLE users; --`,
  `"; DELETE FROM products WHERE "1"="1`,
  `') UNION SELECT password FROM mysql.user --`,
  `]] redis.call('FLUSHALL') --[[`,
  `{"v":99999999,"row":{"id":1}}`,
  `\\"); os.exit(1); --`,
  `\${jndi:ldap://x}`,
  `<script>alert(1)</script>`,
];
const WEIRD_STRINGS = ['', ' ', '\u0000', '\uD800', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 🚀', 'ي‎ ‮RTL', 'a'.repeat(10_000), '9'.repeat(400), '-0', 'NaN', '1e309', '0x1F'];
const WEIRD_NUMBERS = [0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_VALUE, -Number.MAX_VALUE];

let redis: PrivateRedis;
let s: TestServer;
let ids: { user: string; product: string; order: string };
let tokens: Record<string, string | null>;
let before: { rows: Record<string, number>; keysOutsidePrefix: number };
const accepted = { createUser: 0, deleteUser: 0, createProduct: 0, deleteProduct: 0, placeOrder: 0 };
/** How the responses ended, so the test can show the fuzz reached every layer. */
const outcomes = new Map<string, number>();
const tally = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

beforeAll(async () => {
  redis = await startPrivateRedis();
  s = await startTestServer({ production: true, redisUrl: redis.url, poolSize: 4 });
  const all = await s.token(['read', 'write', 'admin']);
  const user = (await s.gql(`mutation { createUser(input: { name: "Fuzz", email: "fuzz@example.com" }) { id } }`, {}, { token: all })).data!.createUser.id;
  const product = (await s.gql(`mutation { createProduct(input: { sku: "FUZZ-1", name: "Fuzz", priceCents: 10, stock: 1000000 }) { id } }`, {}, { token: all })).data!.createProduct.id;
  const order = (await s.gql(`mutation($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }`, { u: user, p: product }, { token: all })).data!.placeOrder.id;
  ids = { user, product, order };
  tokens = {
    none: null,
    read: await s.token(['read']),
    write: await s.token(['write']),
    admin: await s.token(['admin']),
    all,
    badSignature: await issueToken(makeUpSecret(), ['read', 'write', 'admin']),
    expired: await s.token(['read', 'write', 'admin'], { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
  };
  before = { rows: await rowCounts(), keysOutsidePrefix: await keysOutsidePrefix() };
});
afterAll(async () => {
  await s?.close();
  await redis?.kill();
});

async function rowCounts(): Promise<Record<string, number>> {
  const n = async (table: typeof users | typeof products | typeof orders) => (await s.db.select({ n: count() }).from(table))[0]!.n;
  return { users: await n(users), products: await n(products), orders: await n(orders) };
}

async function keysOutsidePrefix(): Promise<number> {
  return (await redis.commandCounts(), (await s.redis.keys('*')).filter((k) => !k.startsWith(s.settings.keyPrefix)).length);
}

interface Seed {
  name: keyof typeof accepted | 'read' | 'admin';
  query: string;
  variables: () => Record<string, unknown>;
}

const SEEDS: Seed[] = [
  { name: 'read', query: 'query($id: ID!) { user(id: $id) { id name email bio version createdAt updatedAt } }', variables: () => ({ id: ids.user }) },
  { name: 'read', query: 'query($ids: [ID!]!) { users(ids: $ids) { id name } products(ids: $ids) { id sku } }', variables: () => ({ ids: [ids.user, ids.product] }) },
  { name: 'read', query: 'query($id: ID!) { order(id: $id) { id quantity totalCents user { id } product { id stock } } }', variables: () => ({ id: ids.order }) },
  { name: 'read', query: 'query($n: Int!) { recentOrders(limit: $n) { id user { name } product { name } } }', variables: () => ({ n: 5 }) },
  { name: 'admin', query: '{ unrepairedWriteThroughFailures(limit: 10) { id entity } }', variables: () => ({}) },
  { name: 'createUser', query: 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', variables: () => ({ input: { name: 'N', email: 'n@example.com', bio: 'b' } }) },
  {
    name: 'read',
    query: 'mutation($id: ID!, $input: UpdateUserInput!, $v: Int) { updateUser(id: $id, input: $input, expectedVersion: $v) { version } }',
    variables: () => ({ id: ids.user, input: { name: 'Renamed', bio: null }, v: 1 }),
  },
  { name: 'deleteUser', query: 'mutation($id: ID!) { deleteUser(id: $id) }', variables: () => ({ id: ids.user }) },
  {
    name: 'createProduct',
    query: 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    variables: () => ({ input: { sku: 'SKU-X', name: 'X', priceCents: 1, stock: 1 } }),
  },
  { name: 'read', query: 'mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { stock } }', variables: () => ({ id: ids.product, input: { stock: 5, priceCents: 3 } }) },
  { name: 'deleteProduct', query: 'mutation($id: ID!) { deleteProduct(id: $id) }', variables: () => ({ id: ids.product }) },
  {
    name: 'placeOrder',
    query: 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id totalCents } }',
    variables: () => ({ input: { userId: ids.user, productId: ids.product, quantity: 2 } }),
  },
];

// ── how a valid request is bent out of shape ──────────────────────────────────────

const weirdValue = fc.oneof(
  fc.constantFrom<unknown>(...INJECTIONS, ...WEIRD_STRINGS, ...WEIRD_NUMBERS, null, true, [], {}, [1, 2], { $ne: 1 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer(),
  fc.double(),
  fc.anything({ maxDepth: 3 }),
);

/** Replaces, deletes or keeps each value of a variables object, at any depth. */
function mutateVariables(vars: unknown, picks: number[], values: unknown[], depth = 0): unknown {
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) return vars;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vars)) {
    const pick = picks[(key.length + depth) % picks.length] ?? 0;
    if (pick === 0) out[key] = mutateVariables(value, picks, values, depth + 1);
    else if (pick === 1) continue; // deleted
    else out[key] = values[(pick + depth) % values.length];
  }
  return out;
}

const queryMutation = fc.oneof(
  fc.constant((q: string) => q),
  fc.tuple(fc.nat(), fc.nat({ max: 20 })).map(([at, len]) => (q: string) => q.slice(0, at % q.length) + q.slice((at % q.length) + len)),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (q: string) => {
    const words = q.split(/(\s+)/);
    const [i, j] = [a % words.length, b % words.length];
    [words[i], words[j]] = [words[j]!, words[i]!];
    return words.join('');
  }),
  fc.tuple(fc.nat(), fc.string({ unit: 'grapheme', maxLength: 20 })).map(([at, text]) => (q: string) => q.slice(0, at % q.length) + text + q.slice(at % q.length)),
  fc.integer({ min: 5, max: 2_000 }).map((n) => (q: string) => q.replace('{', `{ ${'a: user(id: "1") { '.repeat(Math.min(n, 300))}id${' }'.repeat(Math.min(n, 300))} `)),
  fc.integer({ min: 16, max: 5_000 }).map((n) => (q: string) => q.replace('{', `{ ${Array.from({ length: n }, (_, i) => `x${i}: __typename`).join(' ')} `)),
  fc.integer({ min: 1, max: 200 }).map((n) => (q: string) => q.replace(/\) \{/, `) ${'@include(if: true) '.repeat(n)}{`)),
  fc.constantFrom(...INJECTIONS).map((text) => (q: string) => q.replace(/"[^"]*"|\$\w+/, JSON.stringify(text))),
);

const request = fc.record({
  seed: fc.constantFrom(...SEEDS),
  mutateQuery: queryMutation,
  picks: fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 6 }),
  values: fc.array(weirdValue, { minLength: 1, maxLength: 4 }),
  token: fc.constantFrom('none', 'read', 'write', 'admin', 'all', 'badSignature', 'expired'),
});

describe('fuzzed requests', () => {
  it(`${RUNS} of them: no 5xx, no crash, every error with a code, nothing leaked, and nothing changed that was not accepted`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ seed, mutateQuery, picks, values, token }) => {
        const query = mutateQuery(seed.query);
        const variables = mutateVariables(seed.variables(), picks, values);
        const body = JSON.stringify({ query, variables });
        const response = await fetch(s.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(tokens[token] ? { authorization: `Bearer ${tokens[token]}` } : {}) },
          body,
        });
        const text = await response.text();
        expect(response.status, text.slice(0, 500)).toBeLessThan(500);
        expect(leaked(text, body), text.slice(0, 500)).toEqual([]);
        if (response.status === 413) {
          tally('413');
          return;
        }
        const result = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
        for (const error of result.errors ?? []) expect(CLIENT_ERROR_CODES, JSON.stringify(error)).toContain(error.extensions?.code);
        tally(result.errors?.[0]?.extensions?.code ?? 'ok');
        if (!result.errors && result.data && seed.name in accepted) {
          const value = Object.values(result.data)[0];
          if (value !== false && value !== null) accepted[seed.name as keyof typeof accepted]++;
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );

    // The fuzz got past every gate: parsing, validation, limits, authentication, scopes, input checks, and into the core.
    for (const outcome of ['ok', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT']) {
      expect(outcomes.get(outcome) ?? 0, `${outcome} in ${JSON.stringify([...outcomes])}`).toBeGreaterThan(RUNS / 100);
    }
    expect(Object.values(accepted).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    // Still alive and well.
    expect((await fetch(s.url.replace(/\/graphql$/, '/healthz'))).status).toBe(200);
    // Every change in MySQL is one an accepted request made.
    expect(await rowCounts()).toEqual({
      users: before.rows.users! + accepted.createUser - accepted.deleteUser,
      products: before.rows.products! + accepted.createProduct - accepted.deleteProduct,
      orders: before.rows.orders! + accepted.placeOrder,
    });
    // Every key is one of ours, well formed, and agrees with MySQL; nothing was written elsewhere.
    for (const key of await s.redis.keys(`${s.settings.keyPrefix}*`)) {
      expect(key).toMatch(new RegExp(`^${s.settings.keyPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(user|product|order|user_orders|product_orders|product_reviews|recent_orders):\\d+$`));
      expect(decodeEnvelope((await s.redis.get(key))!), key).toBeDefined();
    }
    expect(await keysOutsidePrefix()).toBe(before.keysOutsidePrefix);
    for (const entity of Object.values(cachedEntities(s.core))) {
      const report = await auditEntity({ db: s.db, cache: s.core.cache, redis: s.redis }, entity);
      expect({ entity: entity.name, drift: report.drift }).toEqual({ entity: entity.name, drift: 0 });
    }
  }, 300_000);
});
