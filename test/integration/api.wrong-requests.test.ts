import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema';
import { sha256 } from '../../src/http/safelist';
import { captureLogs, type CapturedLogs } from '../helpers/captured-logs';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Every request that is merely wrong gets a 4xx, a JSON body and a specific code,
 * is not logged as an error of ours, and changes nothing: in development (where a
 * stack trace would help a developer, but the answer is still JSON) and production.
 */
interface WrongRequest {
  name: string;
  /** Appended to the GraphQL URL (a query string), or a path of its own. */
  path?: string;
  init: RequestInit;
  status: number;
  code: string;
  /** Sent without the test's Bearer token (which would prove a preflight). */
  anonymous?: boolean;
}

const json = { 'content-type': 'application/json' };
const post = (body: unknown, headers: Record<string, string> = json): RequestInit => ({ method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const CREATE = 'mutation A { createUser(input: { name: "W", email: "w@example.com" }) { id } }';

const WRONG: WrongRequest[] = [
  { name: 'two operations and no operationName', init: post({ query: `${CREATE} query B { __typename }` }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'an operationName that matches nothing', init: post({ query: CREATE, operationName: 'Nope' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'a body that is not JSON', init: post('{"query": "{ __typename }"'), status: 400, code: 'INVALID_REQUEST_BODY' },
  { name: 'a JSON body that is a string', init: post('"{ __typename }"'), status: 400, code: 'INVALID_REQUEST_BODY' },
  { name: 'a body over the limit', init: post({ query: '{ __typename }', pad: 'x'.repeat(200_000) }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'a body in another charset', init: post({ query: '{ __typename }' }, { 'content-type': 'application/json; charset=latin1' }), status: 415, code: 'INVALID_REQUEST_BODY' },
  { name: 'an empty JSON object', init: post({}), status: 400, code: 'BAD_REQUEST' },
  { name: 'a batch (batching is off)', init: post([{ query: '{ __typename }' }]), status: 400, code: 'BAD_REQUEST' },
  { name: 'a subscription over HTTP, from an anonymous caller', init: post({ query: 'subscription { writeThroughFailures { id } }' }), status: 400, code: 'SUBSCRIPTION_NEEDS_WEBSOCKET' },
  {
    name: 'an APQ hash that is not the query’s',
    init: post({ query: CREATE, extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ __typename }') } } }),
    status: 400,
    code: 'PERSISTED_QUERY_HASH_MISMATCH',
  },
  {
    name: 'an APQ version other than 1',
    init: post({ query: CREATE, extensions: { persistedQuery: { version: 2, sha256Hash: sha256(CREATE) } } }),
    status: 400,
    code: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
  },
  { name: 'a mutation over GET', path: `?query=${encodeURIComponent(CREATE)}`, init: { method: 'GET', headers: json }, status: 405, code: 'BAD_REQUEST' },
  { name: 'a text/plain POST (a cross-site form could send it)', init: post({ query: CREATE }, { 'content-type': 'text/plain' }), status: 400, code: 'CSRF_PREVENTED', anonymous: true },
  {
    name: 'a GET with cookies and no preflight header',
    path: `?query=${encodeURIComponent('{ __typename }')}`,
    init: { method: 'GET', headers: { cookie: 'session=1' } },
    status: 400,
    code: 'CSRF_PREVENTED',
    anonymous: true,
  },
  { name: 'a PUT', init: { ...post({ query: '{ __typename }' }), method: 'PUT' }, status: 405, code: 'BAD_REQUEST' },
  { name: 'a path nothing is served at', path: '/../nothing-here', init: { method: 'GET' }, status: 404, code: 'ROUTE_NOT_FOUND' },
];

describe.each([
  ['development', false],
  ['production', true],
])('a wrong request, in %s', (_mode, production) => {
  let s: TestServer;
  let logs: CapturedLogs;
  beforeAll(async () => {
    logs = captureLogs();
    s = await startTestServer({ production, serverLogger: logs.logger });
  });
  afterAll(() => s?.close());

  it.each(WRONG)('gets $status $code for $name, as JSON, and changes nothing', async ({ path, init, status, code, anonymous }) => {
    const before = (await s.db.select({ n: count() }).from(users))[0]!.n;
    const url = path?.startsWith('/') ? new URL(path, s.url).href : s.url + (path ?? '');
    const token: Record<string, string> = anonymous ? {} : { authorization: `Bearer ${await s.token(['read', 'write', 'admin'])}` };
    const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...token } });
    const text = await response.text();
    expect({ status: response.status, type: response.headers.get('content-type') }, text).toEqual({ status, type: expect.stringMatching(/^application\/(graphql-response\+)?json/) });
    const body = JSON.parse(text) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors.map((e) => e.extensions.code)).toEqual([code]);
    // Development adds Apollo's stack traces to help a developer; production shows no path of ours.
    expect(text).not.toMatch(production ? /<html|node_modules|stacktrace/i : /<html/i);
    expect((await s.db.select({ n: count() }).from(users))[0]!.n).toBe(before);
    expect(logs.errors()).toEqual([]);
  });

  it('logs each refusal below error level, with its code', () => {
    const refusals = logs.lines.filter((l) => l.msg === 'request refused before GraphQL' || l.msg === 'graphql request');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((l) => l.level < 50)).toBe(true);
    expect(refusals.some((l) => l.code === 'INVALID_REQUEST_BODY')).toBe(true);
  });

  it('echoes the caller’s x-request-id on every refusal, whichever layer refuses it', async () => {
    for (const { path, init } of WRONG) {
      const url = path?.startsWith('/') ? new URL(path, s.url).href : s.url + (path ?? '');
      const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-request-id': 'refused-1' } });
      expect(response.headers.get('x-request-id'), `${init.method} ${url}`).toBe('refused-1');
    }
  });

  it('answers the operational routes for HEAD as for GET, without a body', async () => {
    const head = await fetch(new URL('/healthz', s.url), { method: 'HEAD' });
    expect({ status: head.status, body: await head.text() }).toEqual({ status: 200, body: '' });
  });

  it('answers a GET query without any preflight header (urql’s default), and the same GET with cookies once it has one', async () => {
    const query = `?query=${encodeURIComponent('{ __typename }')}`;
    const bare = await fetch(s.url + query);
    expect({ status: bare.status, body: await bare.json() }).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    const withCookie = await fetch(s.url + query, { headers: { cookie: 'session=1', 'apollo-require-preflight': 'true' } });
    expect(withCookie.status).toBe(200);
  });

  it('refuses a cross-site-shaped POST even without cookies, and lets the same POST through with a Bearer token', async () => {
    const form = post('query={ __typename }', { 'content-type': 'application/x-www-form-urlencoded' });
    expect((await fetch(s.url, form)).status).toBe(400);
    const bearer = await fetch(s.url, { ...form, headers: { ...(form.headers as Record<string, string>), authorization: `Bearer ${await s.token(['read'])}` } });
    // Past the CSRF check, Apollo refuses the form body for what it is.
    expect((await bearer.json()) as unknown).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });
});
