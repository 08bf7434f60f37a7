import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IDLE_CLOSE } from '../../src/graphql/websocket-bounds';
import { RawSocket } from '../helpers/raw-socket';
import { startTestServer, type TestServer } from '../helpers/server';

const MAX = 3;
const IDLE_MS = 300;
let s: TestServer;
const opened: RawSocket[] = [];

beforeAll(async () => {
  s = await startTestServer({ graphql: { websocket: { maxConnections: MAX, idleMs: IDLE_MS } } });
});
afterAll(async () => {
  opened.forEach((socket) => socket.close());
  await s?.close();
});

const open = async (options: Parameters<typeof RawSocket.open>[1] = {}) => {
  const socket = await RawSocket.open(s.url, options);
  opened.push(socket);
  return socket;
};

/** The HTTP answer to an upgrade the server refuses. */
function refusedUpgrade(): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(s.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('error', () => {});
  });
}

describe('graphql-ws sockets', () => {
  it(`closes one with no operation running after ${IDLE_MS} ms idle, with a normal closure that clients reopen`, async () => {
    const idle = await open(); // connection_init without a token: accepted, as reads are public
    const started = Date.now();
    expect(await idle.closed(IDLE_MS * 10)).toEqual(IDLE_CLOSE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });

  it('keeps one open while its subscription is live, however long nothing arrives', async () => {
    const live = await open({ token: await s.token(['admin']) });
    live.subscribe('1', { query: 'subscription { writeThroughFailures { id } }' });
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 4));
    expect(live.open).toBe(true);
    live.send({ id: '1', type: 'complete' });
    expect(await live.closed(IDLE_MS * 10)).toEqual(IDLE_CLOSE); // idle once it has nothing running
  });

  it(`refuses the upgrade past ${MAX} open sockets with a coded 503 in JSON, and takes one again once a socket closes`, async () => {
    // Each with a live subscription, so that none goes idle meanwhile.
    const token = await s.token(['admin']);
    const held = [await open({ token }), await open({ token }), await open({ token })];
    held.forEach((socket) => socket.subscribe('1', { query: 'subscription { writeThroughFailures { id } }' }));
    const refused = await refusedUpgrade();
    expect(refused.status).toBe(503);
    expect(refused.type).toBe('application/json');
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');
    held[0]!.close();
    await held[0]!.closed();
    await expect(open()).resolves.toBeInstanceOf(RawSocket);
  });
});
