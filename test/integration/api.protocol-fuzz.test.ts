import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntity } from '../../src/tools/audit';
import { cachedEntities } from '../../src/tools/entities';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { captureLogs, type CapturedLogs } from '../helpers/captured-logs';
import { RawSocket } from '../helpers/raw-socket';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { CLIENT_ERROR_CODES } from '../helpers/error-codes';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The protocol around the operation, fuzzed: methods, content types, accept headers,
 * bodies that are not JSON, batches, and every field of a request (`query`,
 * `operationName`, `variables`, `extensions` and the persisted-query hash and
 * version) bent out of shape, over HTTP and over graphql-ws, against a production
 * server on a redis-server of its own. No token it sends may write (none, read-only,
 * forged, expired; a write token only over GET, where nothing writes), so "nothing
 * written" is exact: MySQL's rows are the same afterwards and every cache key agrees
 * with them; and none of it is logged as an error of ours. PROTOCOL_FUZZ_SEED reruns a failing case; PROTOCOL_FUZZ_RUNS changes the count.
 */
const RUNS = Number(process.env.PROTOCOL_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.PROTOCOL_FUZZ_SEED ?? 20261202);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let redis: PrivateRedis;
let s: TestServer;
let tokens: Record<'none' | 'read' | 'forged' | 'expired' | 'write', string | null>;
let snapshot: string;
let logs: CapturedLogs;

/** Every row of every table the API writes, as one string. */
async function rows(): Promise<string> {
  const all = await Promise.all(['users', 'products', 'orders'].map((table) => s.db.execute(sql.raw(`SELECT * FROM ${table} ORDER BY id`))));
  return JSON.stringify(all.map(([result]) => result));
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  logs = captureLogs();
  s = await startTestServer({ production: true, redisUrl: redis.url, poolSize: 4, serverLogger: logs.logger });
  const all = await s.token(['read', 'write', 'admin']);
  await s.gql(`mutation { createUser(input: { name: "Fuzz", email: "pfuzz@example.com" }) { id } }`, {}, { token: all });
  await s.gql(`mutation { createProduct(input: { sku: "PFUZZ", name: "Fuzz", priceCents: 10, stock: 100 }) { id } }`, {}, { token: all });
  await s.gql(`mutation { placeOrder(input: { userId: "1", productId: "1", quantity: 1 }) { id } }`, {}, { token: all });
  tokens = {
    none: null,
    read: await s.token(['read']),
    forged: await issueToken(makeUpSecret(), ['read', 'write', 'admin']),
    expired: await s.token(['read', 'write', 'admin'], { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
    write: await s.token(['read', 'write', 'admin']),
  };
  snapshot = await rows();
});
afterAll(async () => {
  await s?.close();
  await redis?.kill();
});

// ── what a request is made of ───────────────────────────────────────────────────

const QUERIES = [
  'query One($id: ID!) { user(id: $id) { id name version } }',
  'query Many($ids: [ID!]!) { users(ids: $ids) { id } products(ids: $ids) { id sku } }',
  'query Recent($n: Int!) { recentOrders(limit: $n) { id user { name } product { name } } }',
  '{ __typename }',
  'mutation Rename($id: ID!, $name: String) { updateUser(id: $id, input: { name: $name }) { version } }',
  'mutation Drop($id: ID!) { deleteUser(id: $id) }',
  'mutation Order($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }',
  'subscription Failures { writeThroughFailures { id } }',
  'query A { __typename } mutation B { deleteProduct(id: "1") }',
  '{ user(id: "1") { ',
  '{ nope }',
];

const weird = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 2 ** 53, 1.5, '', '1', 'x'.repeat(3000), [], {}, [1, '2'], { $ne: 1 }, '{"id":"1"}', '\u0000'),
  fc.string({ maxLength: 40 }),
  fc.anything({ maxDepth: 2 }),
);
const GOOD_VARIABLES = { id: '1', ids: ['1', '2'], n: 5, name: 'X', u: '1', p: '1' };

/**
 * Each dimension of a request, as a well-behaved client sends it (`sane`) and bent
 * (`bent`). A request bends a few dimensions at once and keeps the rest sane, so the
 * fuzz reaches execution often, not only the first gate that refuses it.
 */
const DIMENSIONS = {
  method: { sane: fc.constantFrom<string>('POST', 'GET'), bent: fc.constantFrom<string>('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET') },
  contentType: {
    sane: fc.constant<string | undefined>('application/json'),
    bent: fc.constantFrom<string | undefined>(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/graphql',
      'application/graphql-response+json',
      '*/*; nonsense',
    ),
  },
  accept: {
    sane: fc.constantFrom<string | undefined>(undefined, 'application/graphql-response+json, application/json;q=0.9', '*/*'),
    bent: fc.constantFrom<string | undefined>('application/json', 'application/graphql-response+json', 'text/html', 'multipart/mixed', 'text/event-stream', 'image/png', ';;;'),
  },
  token: { sane: fc.constantFrom('none', 'read') as fc.Arbitrary<keyof typeof tokens>, bent: fc.constantFrom('forged', 'expired', 'write') as fc.Arbitrary<keyof typeof tokens> },
  query: { sane: fc.constant('seed'), bent: fc.oneof(fc.constant<unknown>(undefined), weird) },
  operationName: { sane: fc.constant<unknown>(undefined), bent: fc.constantFrom<unknown>('One', 'Many', 'Rename', 'A', 'B', 'Nope', '', null, 7, {}, ['One']) },
  variables: { sane: fc.constant<unknown>(GOOD_VARIABLES), bent: fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom('id', 'ids', 'n', 'name', 'u', 'p', 'zz'), weird, { maxKeys: 4 }), weird) },
  extensions: {
    sane: fc.constant<unknown>(undefined),
    // A persisted-query extension: the right hash or another, versions right and wrong, shapes right and wrong.
    bent: fc.oneof(
      fc.record({ persistedQuery: fc.record({ version: fc.constantFrom<unknown>(1, 1, 2, 0, '1', null, undefined), sha256Hash: fc.constantFrom<unknown>('seed', sha256('other'), 'not-hex', '', 42, null) }) }),
      weird,
    ),
  },
  shape: {
    sane: fc.constant<'single' | 'batch' | 'hash only' | string>('single'),
    bent: fc.oneof(fc.constantFrom('batch', 'hash only'), fc.string({ maxLength: 200 }), fc.constantFrom('', '{', '{"query":', 'null', '42', '"{ __typename }"', '[[]]', 'query=%7B__typename%7D', '\uFEFF{}')),
  },
} as const;
type Dimension = keyof typeof DIMENSIONS;
type Picked = { [K in Dimension]: (typeof DIMENSIONS)[K]['sane'] extends fc.Arbitrary<infer T> ? T : never };

const httpRequest = fc
  .record({ seed: fc.constantFrom(...QUERIES), bends: fc.subarray(Object.keys(DIMENSIONS) as Dimension[], { minLength: 0, maxLength: 3 }) })
  .chain(({ seed, bends }) =>
    fc.record(Object.fromEntries((Object.keys(DIMENSIONS) as Dimension[]).map((d) => [d, bends.includes(d) ? DIMENSIONS[d].bent : DIMENSIONS[d].sane])) as { [K in Dimension]: fc.Arbitrary<Picked[K]> }).map((picked) => ({ seed, ...picked })),
  );
type HttpRequest = Picked & { seed: string };

/** The GraphQL parameters of a request: the seed where a dimension says 'seed'. */
function paramsOf(r: HttpRequest): Record<string, unknown> {
  const query = r.query === 'seed' ? r.seed : r.query;
  const extensions = JSON.parse(JSON.stringify(r.extensions ?? null)?.replace('"seed"', JSON.stringify(sha256(String(query)))) ?? 'null') ?? undefined;
  return { query: r.shape === 'hash only' ? undefined : query, operationName: r.operationName, variables: r.variables, extensions };
}

/** The request as fetch sends it. A write token goes only with GET, where nothing can write. */
function toFetch(r: HttpRequest): { url: string; init: RequestInit } {
  const method = r.token === 'write' ? 'GET' : r.method;
  const headers: Record<string, string> = {};
  if (r.contentType && method !== 'GET') headers['content-type'] = r.contentType;
  if (r.accept) headers.accept = r.accept;
  if (tokens[r.token]) headers.authorization = `Bearer ${tokens[r.token]}`;
  const params = paramsOf(r);
  const raw = r.shape === 'single' || r.shape === 'batch' || r.shape === 'hash only' ? undefined : r.shape;
  if (method === 'GET' || method === 'HEAD') {
    const url = new URL(s.url);
    if (raw !== undefined) url.search = raw.slice(0, 500);
    else {
      for (const [key, value] of Object.entries(params)) {
        if (value !== undefined) url.searchParams.set(key, typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
      }
    }
    return { url: url.href, init: { method, headers } };
  }
  const body = raw ?? JSON.stringify(r.shape === 'batch' ? [params, params] : params);
  return { url: s.url, init: { method, headers, body } };
}

/** The codes a response's errors carry (undefined where one has none). */
function codes(body: unknown): unknown[] {
  const errors = (body as { errors?: Array<{ extensions?: { code?: unknown } }> } | null)?.errors ?? [];
  return errors.map((e) => e.extensions?.code);
}

describe('the protocol, fuzzed', () => {
  it(`over HTTP, ${RUNS} requests: no 5xx, every error coded, JSON wherever there is a body`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(httpRequest, async (r) => {
        const { url, init } = toFetch(r);
        const response = await fetch(url, init);
        const text = await response.text();
        const where = `${init.method} ${url.slice(0, 200)} ${JSON.stringify(init.headers)} ${String(init.body ?? '').slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, where).toBeLessThan(500);
        seen.set(String(response.status), (seen.get(String(response.status)) ?? 0) + 1);
        // A preflight (OPTIONS) and HEAD answer without a body; everything else is JSON.
        if (text === '' && (init.method === 'OPTIONS' || init.method === 'HEAD')) return;
        expect(response.headers.get('content-type'), where).toMatch(/^application\/(graphql-response\+)?json/);
        const found = codes(JSON.parse(text));
        for (const code of found) expect(CLIENT_ERROR_CODES, where).toContain(code);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // The fuzz reached past the protocol into execution as well as being refused by it.
    expect(seen.get('200') ?? 0, JSON.stringify([...seen])).toBeGreaterThan(RUNS / 20);
    expect(seen.get('400') ?? 0, JSON.stringify([...seen])).toBeGreaterThan(RUNS / 20);
  }, 240_000);

  it(`over graphql-ws, ${Math.round(RUNS / 2)} operations: each answered on its own id and coded, the socket closed only for protocol violations`, async () => {
    let socket = await RawSocket.open(s.url, { token: tokens.read! });
    const closes = new Map<number, number>();
    const endings = new Map<string, number>();
    let n = 0;
    const frame = fc.oneof(
      { weight: 20, arbitrary: httpRequest.map((r) => ({ kind: 'subscribe' as const, f: paramsOf(r) })) },
      { weight: 1, arbitrary: fc.constantFrom('{"type":"subscribe","id":1,"payload":{}}', '{"type":"nope"}', 'not json', '{"type":"subscribe","id":"x","payload":{"query":7}}').map((raw) => ({ kind: 'raw' as const, raw })) },
    );
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        if (f.kind === 'raw') {
          socket.send(f.raw);
          const closed = await socket.closed();
          expect([4400], `${f.raw} → ${JSON.stringify(closed)}`).toContain(closed.code);
          closes.set(closed.code, (closes.get(closed.code) ?? 0) + 1);
          socket = await RawSocket.open(s.url, { token: tokens.read! });
          return;
        }
        const id = `op-${++n}`;
        // graphql-ws requires a string query (its message check closes the socket otherwise, as the protocol says).
        const payload = { ...f.f, query: typeof f.f.query === 'string' ? f.f.query : '{ __typename }' };
        socket.subscribe(id, JSON.parse(JSON.stringify(payload)) as never);
        // The operation ends (error or complete), or the socket closes.
        const ended = await socket.settled(id);
        const where = `${JSON.stringify(payload).slice(0, 300)} → ${JSON.stringify(socket.frames.filter((fr) => fr.id === id)).slice(0, 300)} ${JSON.stringify(socket.closeEvent)}`;
        if (socket.closeEvent) {
          // Only a message the protocol itself rejects (variables or a name that are not what it allows) closes the socket, with 4400.
          expect(socket.closeEvent.code, where).toBe(4400);
          closes.set(4400, (closes.get(4400) ?? 0) + 1);
          socket = await RawSocket.open(s.url, { token: tokens.read! });
          return;
        }
        expect(ended, where).toBeDefined();
        endings.set(ended!.type, (endings.get(ended!.type) ?? 0) + 1);
        for (const fr of socket.frames.filter((fr) => fr.id === id)) {
          const found = fr.type === 'error' ? codes({ errors: fr.payload }) : codes(fr.payload);
          for (const code of found) expect(CLIENT_ERROR_CODES, where).toContain(code);
        }
      }),
      { numRuns: Math.round(RUNS / 2), seed: SEED, endOnFailure: true },
    );
    socket.close();
    // Operations ran to completion as well as being refused.
    const tally = JSON.stringify({ endings: [...endings], closes: [...closes] });
    expect(endings.get('complete') ?? 0, tally).toBeGreaterThan(RUNS / 20);
    expect(endings.get('error') ?? 0, tally).toBeGreaterThan(RUNS / 20);
  }, 240_000);

  it('logs none of it as an error of the service’s own', () => {
    expect(logs.errors()).toEqual([]);
  });

  it('leaves every row as it was and every cache key agreeing with MySQL, and the service still answers', async () => {
    expect(await rows()).toBe(snapshot);
    for (const entity of Object.values(cachedEntities(s.core))) {
      const report = await auditEntity({ db: s.db, cache: s.core.cache, redis: s.redis }, entity);
      expect({ entity: entity.name, drift: report.drift }).toEqual({ entity: entity.name, drift: 0 });
    }
    expect((await s.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    expect((await fetch(new URL('/healthz', s.url))).status).toBe(200);
  });
});
