import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll';
import { startTestServer, useServerOnPrivateRedis, type TestServer } from '../helpers/server';

/**
 * Limits checked while the query is parsed and validated: a query over one of them
 * is refused before any resolver runs, so it costs no SQL statement and no Redis
 * command (counted on the servers). Depth and cost are tested on servers with low
 * limits: this schema has no cycles, so no valid query gets deep at the defaults.
 */
const env = useServerOnPrivateRedis();
const deep = useServerOnPrivateRedis({ graphql: { maxDepth: 2 } });
const costly = useServerOnPrivateRedis({ graphql: { maxCost: 20 } });

const NESTED = '{ recentOrders(limit: 50) { id quantity totalCents createdAt user { id name email bio version createdAt updatedAt } product { id sku name priceCents stock version createdAt updatedAt } } }';

async function refusedUnrun(server: typeof env, query: string) {
  const { result, sql, redis } = await server.cost(() => server.s.gql(query));
  expect({ sql, redis }).toEqual({ sql: 0, redis: {} });
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(result.status).toBeLessThan(500);
  expect(result.data ?? null).toBeNull();
  return result.errors![0]!;
}

describe('query limits', () => {
  it("let the contract's deepest query through at the defaults", async () => {
    const res = await env.s.gql(NESTED);
    expect(res.errors).toBeUndefined();
  });

  it('refuse more aliases than MAX_QUERY_ALIASES (15) before running anything', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: user(id: "${i + 1}") { id }`).join(' ');
    const error = await refusedUnrun(env, `{ ${aliases} }`);
    expect(error).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(error.message).toMatch(/aliases/i);
  });

  it('refuse thousands of aliases just the same', async () => {
    const aliases = Array.from({ length: 3000 }, (_, i) => `a${i}: __typename`).join(' ');
    const error = await refusedUnrun(env, `{ ${aliases} }`);
    expect(error.extensions?.code).toMatch(/^GRAPHQL_(PARSE|VALIDATION)_FAILED$/);
  });

  it('refuse more tokens than MAX_QUERY_TOKENS (1000) while parsing', async () => {
    const fields = Array.from({ length: 1200 }, () => 'id').join(' ');
    const error = await refusedUnrun(env, `{ user(id: "1") { ${fields} } }`);
    expect(error.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(error.message).toMatch(/token/i);
  });

  it('answer a syntax error with 400 and its code', async () => {
    const error = await refusedUnrun(env, 'query books / { books { title } }');
    expect(error.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('refuse more directives than MAX_QUERY_DIRECTIVES (50)', async () => {
    const directives = Array.from({ length: 51 }, () => '@include(if: true)').join(' ');
    const error = await refusedUnrun(env, `{ user(id: "1") ${directives} { id } }`);
    expect(error).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  });

  it('refuse a query deeper than MAX_QUERY_DEPTH', async () => {
    const error = await refusedUnrun(deep, NESTED);
    expect(error.message).toMatch(/depth/i);
  });

  it('refuse a query costlier than MAX_QUERY_COST', async () => {
    const error = await refusedUnrun(costly, NESTED);
    expect(error.message).toMatch(/cost/i);
  });

  it('apply to subscriptions too', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: writeThroughFailures { id }`).join(' ');
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const client = createClient({
      url: env.s.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${await env.s.token(['admin'])}` },
    });
    let error: unknown;
    const dispose = client.subscribe({ query: `subscription { ${aliases} }` }, { next: () => {}, error: (e) => (error = e), complete: () => {} });
    try {
      const refused = await pollUntil('the subscription to be refused', () => error);
      expect(JSON.stringify(refused)).toMatch(/aliases/i);
    } finally {
      dispose();
      await client.dispose();
    }
  });
});

describe('HTTP hardening', () => {
  it('keeps CSRF prevention on: a simple cross-site POST is refused unexecuted', async () => {
    const { result, sql, redis } = await env.cost(async () => {
      const res = await fetch(env.s.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ user(id: \\"1\\") { id } }"}' });
      return { status: res.status, text: await res.text() };
    });
    expect(result.status).toBe(400);
    expect({ sql, redis }).toEqual({ sql: 0, redis: {} });
  });

  it('refuses a GET that carries cookies but no preflight header, unexecuted', async () => {
    const { result, sql, redis } = await env.cost(async () => {
      const res = await fetch(`${env.s.url}?query=${encodeURIComponent('{ recentOrders { id } }')}`, { headers: { cookie: 'session=1' } });
      return { status: res.status, body: (await res.json()) as { errors: Array<{ extensions: { code: string } }> } };
    });
    expect(result.status).toBe(400);
    expect(result.body.errors[0]!.extensions.code).toBe('CSRF_PREVENTED');
    expect({ sql, redis }).toEqual({ sql: 0, redis: {} });
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const res = await fetch(env.s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(200 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await fetch(env.s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
  });

  it('suggests field names in development', async () => {
    const res = await env.s.gql('{ usr(id: "1") { id } }');
    expect(res.errors?.[0]?.message).toMatch(/Did you mean "user"/);
  });
});

describe('in production', () => {
  let prod: TestServer;
  beforeAll(async () => {
    prod = await startTestServer({ production: true });
  });
  afterAll(() => prod?.close());

  it('suggests no field names', async () => {
    const res = await prod.gql('{ usr(id: "1") { id } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});
