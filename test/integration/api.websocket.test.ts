import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { watchFeed, type FeedWatch } from '../helpers/feed-watch';
import { pollUntil } from '../helpers/poll';
import { RawSocket } from '../helpers/raw-socket';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * graphql-ws as the protocol document in the graphql-ws package describes it: a bad
 * operation is answered with an `error` for its own id, coded as over HTTP, while the
 * socket and every other subscription on it live on; the close codes are the
 * protocol's. Driven by the official client and by raw frames, against a server on a
 * redis-server of the file's own, which the live subscription's test kills to make
 * a cache write fail (and so an event to deliver).
 */
let redis: PrivateRedis;
let s: TestServer;
let admin: string;
let feed: FeedWatch;
beforeAll(async () => {
  redis = await startPrivateRedis();
  s = await startTestServer({ redisUrl: redis.url, commandTimeoutMs: 100, settings: { writeRetries: 1, writeRetryDelayMs: 10 } });
  admin = await s.token(['admin']);
  feed = watchFeed(s.core.feed);
});
afterAll(async () => {
  await s?.close();
  await redis?.kill();
});

const FAILURES = 'subscription Failures { writeThroughFailures { id entity entityId version } }';
const OVER_TOKEN_LIMIT = `{ ${Array.from({ length: 600 }, (_, i) => `a${i}: __typename`).join(' ')} }`;

/** The codes of an `error` frame's payload. */
const codesOf = (frame: { type: string; payload?: Array<{ extensions?: { code?: string } }> }) => ({ type: frame.type, codes: frame.payload?.map((e) => e.extensions?.code) });

describe('graphql-ws, with the official client', () => {
  let client: Client;
  const closes: unknown[] = [];
  let connections = 0;
  beforeAll(() => {
    client = createClient({
      url: s.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => void connections++, closed: (event) => void closes.push(event) },
    });
  });
  afterAll(() => client?.dispose());

  /** Runs one operation on the shared socket and gives back the errors it ended with (or its results). */
  function run(payload: { query: string; variables?: Record<string, unknown>; operationName?: string }) {
    return new Promise<{ errors?: Array<{ message: string; extensions?: { code?: string } }>; results: unknown[] }>((resolve) => {
      const results: unknown[] = [];
      client.subscribe(payload, {
        next: (value) => void results.push(value),
        error: (errors) => resolve({ errors: errors as never, results }),
        complete: () => resolve({ results }),
      });
    });
  }

  it('answers a bad document, an over-limit one and an unknown field with a coded error for that operation, while a live subscription on the same socket keeps delivering', async () => {
    const events: Array<{ writeThroughFailures: { entityId: string; version: number } }> = [];
    const opened = feed.open + 1;
    const dispose = client.subscribe<{ writeThroughFailures: { entityId: string; version: number } }>(
      { query: FAILURES },
      { next: (value) => void events.push(value.data!), error: () => {}, complete: () => {} },
    );
    try {
      const created = await s.gql(`mutation { createUser(input: { name: "Live", email: "live@example.com" }) { id } }`);
      const id = created.data!.createUser.id as string;
      // The server holds the live subscription before anything below can race it.
      await feed.untilOpen(opened);

      const parse = await run({ query: '{ user(id: "1") { ' });
      const tooLong = await run({ query: OVER_TOKEN_LIMIT });
      const unknownField = await run({ query: '{ user(id: "1") { shoeSize } }' });
      expect(parse.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(tooLong.errors?.[0]).toMatchObject({ message: expect.stringMatching(/1000 tokens/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      expect(unknownField.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);

      // The live subscription still delivers: a cache write fails, and its event arrives.
      await redis.kill();
      try {
        await s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "Still here" }) { version } }`, { id });
        await pollUntil('the failure event', () => events.find((e) => e.writeThroughFailures.entityId === id));
      } finally {
        await redis.restart();
      }
      expect(events.find((e) => e.writeThroughFailures.entityId === id)!.writeThroughFailures.version).toBe(2);
      expect({ connections, closes }).toEqual({ connections: 1, closes: [] });
    } finally {
      dispose();
    }
  });

  it('refuses what the token does not allow with the code HTTP gives', async () => {
    // The admin-only token has no write scope.
    const refused = await run({ query: 'mutation { updateUser(id: "1", input: { name: "x" }) { id } }' });
    expect(refused.results).toEqual([{ data: null, errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })] }]);
  });
});

describe('graphql-ws, frame by frame', () => {
  let socket: RawSocket;
  beforeAll(async () => {
    socket = await RawSocket.open(s.url, { token: admin });
    socket.subscribe('live', { query: FAILURES });
  });
  afterAll(() => socket?.close());

  it.each([
    ['a document that does not parse', { query: 'subscription {' }, 'GRAPHQL_PARSE_FAILED'],
    ['a document over the token limit', { query: OVER_TOKEN_LIMIT }, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', { query: 'subscription { writeThroughFailures { shoeSize } }' }, 'GRAPHQL_VALIDATION_FAILED'],
    ['an operationName that matches nothing', { query: FAILURES, operationName: 'Nope' }, 'OPERATION_RESOLUTION_FAILURE'],
    ['two operations and no name', { query: `${FAILURES} query Q { __typename }` }, 'OPERATION_RESOLUTION_FAILURE'],
    ['variables of the wrong type', { query: 'subscription($e: String) { writeThroughFailures(entity: $e) { id } }', variables: { e: { not: 'a string' } } }, 'BAD_USER_INPUT'],
    ['a message over the body limit', { query: `{ __typename } # ${'x'.repeat(110 * 1024)}` }, 'PAYLOAD_TOO_LARGE'],
  ] as const)('answers %s with an error for its id, coded, and the socket lives on', async (_what, payload, code) => {
    const id = `op-${code}-${Math.random()}`;
    socket.subscribe(id, payload);
    const frame = await socket.ended(id);
    expect(codesOf(frame)).toEqual({ type: 'error', codes: expect.arrayContaining([code]) });
    expect(socket.open).toBe(true);
    // Nothing ended the live subscription.
    expect(socket.frames.filter((f) => f.id === 'live')).toEqual([]);
  });

  it('gives the core’s errors the codes HTTP gives them (NOT_FOUND, CONFLICT)', async () => {
    const writer = await RawSocket.open(s.url, { token: await s.token(['read', 'write']) });
    try {
      const created = await s.gql(`mutation { createUser(input: { name: "Ws", email: "ws@example.com" }) { id } }`);
      const id = created.data!.createUser.id as string;
      writer.subscribe('missing', { query: 'mutation { updateUser(id: "999999", input: { name: "x" }) { id } }' });
      writer.subscribe('stale', { query: 'mutation($id: ID!) { updateUser(id: $id, input: { name: "x" }, expectedVersion: 9) { id } }', variables: { id } });
      const result = async (opId: string) => (await writer.next((f) => f.id === opId && f.type === 'next')).payload.errors.map((e: { extensions: { code: string } }) => e.extensions.code);
      expect({ missing: await result('missing'), stale: await result('stale') }).toEqual({ missing: ['NOT_FOUND'], stale: ['CONFLICT'] });
    } finally {
      writer.close();
    }
  });

  it('runs a good operation on the same socket afterwards', async () => {
    socket.subscribe('typename', { query: '{ __typename }' });
    expect(await socket.next((f) => f.id === 'typename' && f.type === 'next')).toEqual({ id: 'typename', type: 'next', payload: { data: { __typename: 'Query' } } });
  });
});

describe('graphql-ws close codes, as the protocol document gives them', () => {
  it('4401 for a subscribe before connection_init', async () => {
    const socket = await RawSocket.open(s.url, { init: false });
    socket.subscribe('1', { query: '{ __typename }' });
    expect((await socket.closed()).code).toBe(4401);
  });

  it('4429 for a second connection_init', async () => {
    const socket = await RawSocket.open(s.url);
    socket.send({ type: 'connection_init' });
    expect((await socket.closed()).code).toBe(4429);
  });

  it('4409 for a subscribe whose id is already live', async () => {
    const socket = await RawSocket.open(s.url, { token: admin });
    socket.subscribe('same', { query: FAILURES });
    socket.subscribe('same', { query: FAILURES });
    expect((await socket.closed()).code).toBe(4409);
  });

  it('4400 for a message that is not of the protocol', async () => {
    const socket = await RawSocket.open(s.url);
    socket.send('{"type":"subscribe","id":1,"payload":"not an object"}');
    expect((await socket.closed()).code).toBe(4400);
  });

  it('4406 for a socket opened without the graphql-transport-ws subprotocol', async () => {
    const socket = await RawSocket.open(s.url, { init: false, protocol: null });
    expect((await socket.closed()).code).toBe(4406);
  });

  it('4408 when connection_init does not come within 3 seconds', async () => {
    const socket = await RawSocket.open(s.url, { init: false });
    expect((await socket.closed(6_000)).code).toBe(4408);
  });
});
