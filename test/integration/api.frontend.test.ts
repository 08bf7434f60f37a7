import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sha256 } from '../../src/http/safelist';
import { ServiceResources } from '../helpers/service-process';
import { startTestServer, useServerOnPrivateRedis, type TestServer } from '../helpers/server';

/** What a browser sees of the API: CORS, persisted queries, and the production safelist. */

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

/** Opens a WebSocket to /graphql as a browser on `origin` would; resolves true if the upgrade is accepted. */
async function upgrades(url: string, origin: string): Promise<boolean> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { origin } });
  const outcome = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('error', () => resolve(false)); // "Unexpected server response: 401"
  });
  socket.terminate();
  return outcome;
}

describe('CORS', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ production: true, http: { corsOrigins: [APP] } });
  });
  afterAll(() => s?.close());

  it('answers a preflight from an allowed origin, and gives a disallowed one nothing', async () => {
    const preflight = (origin: string) =>
      fetch(s.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
    const allowed = await preflight(APP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull(); // credentials off unless configured
    expect((await preflight(EVIL)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks a POST readable for an allowed origin only', async () => {
    const post = (origin: string) =>
      fetch(s.url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect((await post(APP)).headers.get('access-control-allow-origin')).toBe(APP);
    expect((await post(EVIL)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts a WebSocket upgrade from an allowed origin and refuses a disallowed one', async () => {
    expect(await upgrades(s.url, APP)).toBe(true);
    expect(await upgrades(s.url, EVIL)).toBe(false);
  });

  it('allows only localhost origins in development when none are listed, and none in production', async () => {
    const dev = await startTestServer();
    try {
      expect(await upgrades(dev.url, 'http://localhost:5173')).toBe(true);
      expect(await upgrades(dev.url, APP)).toBe(false);
    } finally {
      await dev.close();
    }
    const prod = await startTestServer({ production: true });
    try {
      const res = await fetch(prod.url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await prod.close();
    }
  });
});

describe('automatic persisted queries', () => {
  const resources = new ServiceResources();
  afterAll(() => resources.cleanUp());

  it('registers a query on one instance and serves its hash from another', async () => {
    const shared = { MYSQL_URL: resources.database().url, KEY_PREFIX: resources.keyPrefix() };
    const a = await resources.serve(shared);
    const b = await resources.serve({ ...shared, SEED_DEMO_DATA: 'false' });
    const query = 'query Ada { user(id: "1") { name } }';
    const persisted = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    const send = (url: string, body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

    expect(await send(b.url, { extensions: persisted })).toMatchObject({ errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
    expect(await send(a.url, { query, extensions: persisted })).toEqual({ data: { user: { name: 'Ada Lovelace' } } });
    expect(await send(b.url, { extensions: persisted })).toEqual({ data: { user: { name: 'Ada Lovelace' } } });
  });
});

describe('the safelist', () => {
  const LISTED = 'query Listed($id: ID!) { user(id: $id) { id name } }';
  const SUBSCRIPTION = 'subscription Watch { writeThroughFailures { id } }';
  const env = useServerOnPrivateRedis({ safelist: new Map([[sha256(LISTED), LISTED], [sha256(SUBSCRIPTION), SUBSCRIPTION]]) });

  it('runs a listed operation, sent as text or as its hash alone', async () => {
    const user = await env.s.core.users.create({ name: 'Listed', email: `listed-${Date.now()}@example.com` });
    const byText = await env.s.gql(LISTED, { id: String(user.id) });
    expect(byText).toMatchObject({ data: { user: { name: 'Listed' } } });
    const byHash = await fetch(env.s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ variables: { id: String(user.id) }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(LISTED) } } }),
    });
    expect(await byHash.json()).toEqual({ data: { user: { id: String(user.id), name: 'Listed' } } });
  });

  it('runs a listed hash sent alone over GET, as urql’s persisted exchange sends it, without any APQ registration', async () => {
    const user = await env.s.core.users.create({ name: 'Listed GET', email: `listed-get-${Date.now()}@example.com` });
    const search = new URLSearchParams({
      variables: JSON.stringify({ id: String(user.id) }),
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(LISTED) } }),
    });
    const byHash = await fetch(`${env.s.url}?${search}`);
    expect(await byHash.json()).toEqual({ data: { user: { id: String(user.id), name: 'Listed GET' } } });
  });

  it('refuses anything else before parsing it: no SQL, no Redis command', async () => {
    const { result, sql, redis } = await env.cost(() => env.s.gql('query Unlisted { user(id: "1") { id name email } }'));
    expect(result.status).toBe(400);
    expect(result.errors).toEqual([{ message: 'this operation is not on the safelist of persisted queries', extensions: { code: 'PERSISTED_QUERY_NOT_IN_SAFELIST' } }]);
    expect({ sql, redis }).toEqual({ sql: 0, redis: {} });
  });

  it('refuses an unlisted subscription too', async () => {
    const { createClient } = await import('graphql-ws');
    const client = createClient({
      url: env.s.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${await env.s.token(['admin'])}` },
    });
    try {
      const refused = await new Promise<unknown>((resolve) =>
        client.subscribe({ query: 'subscription Other { writeThroughFailures { id entity } }' }, { next: () => {}, error: resolve, complete: () => {} }),
      );
      expect(JSON.stringify(refused)).toMatch(/PERSISTED_QUERY_NOT_IN_SAFELIST/);
    } finally {
      await client.dispose();
    }
  });
});
