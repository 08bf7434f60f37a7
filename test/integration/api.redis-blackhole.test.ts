import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * The service reaches Redis through a TCP proxy the test blackholes: connections stay
 * open but nothing answers, the failure a dropped connection cannot announce. With
 * the circuit breaker as main.ts configures it, only the first few requests wait for
 * Redis's command timeout.
 */
const TIMEOUT_MS = 100;
let s: TestServer;
let proxy: TcpProxy;
let userId: string;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
  s = await startTestServer({
    redisUrl: `redis://127.0.0.1:${proxy.port}`,
    commandTimeoutMs: TIMEOUT_MS,
    breaker: { minRequests: 5, errorPercent: 50, resetMs: 500 },
    settings: { writeRetries: 1, writeRetryDelayMs: 5 },
    repairs: true, // as in the service; while the circuit is half-open its round is the probe
  });
  const res = await s.gql(`mutation { createUser(input: { name: "Steady", email: "steady-${Date.now()}@example.com" }) { id } }`);
  userId = res.data!.createUser.id;
});
afterAll(async () => {
  await proxy?.restore();
  await s?.close();
  await proxy?.close();
});

const read = () => s.gql(`query($id: ID!) { user(id: $id) { name version } }`, { id: userId });

describe('with Redis blackholed', () => {
  it('answers 100 reads from MySQL in far less than 100 command timeouts', async () => {
    proxy.blackhole();
    const took: number[] = [];
    for (let i = 0; i < 100; i++) {
      const started = Date.now();
      expect((await read()).data).toEqual({ user: { name: 'Steady', version: 1 } });
      took.push(Date.now() - started);
    }
    expect(s.core.circuit!.state).not.toBe('closed');
    // Only the reads before the circuit opened waited for Redis's timeout; the rest
    // went straight to MySQL. (Counted, not timed: a loaded machine slows every read.)
    const waited = took.filter((ms) => ms >= TIMEOUT_MS).length;
    expect(waited).toBeLessThanOrEqual(10);
    expect(took.reduce((a, b) => a + b, 0)).toBeLessThan((100 * TIMEOUT_MS) / 2);
  });

  it('keeps committing writes, and records their cache failures without waiting', async () => {
    const res = await s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "During" }) { version } }`, { id: userId });
    expect(res.data).toEqual({ updateUser: { version: 2 } });
    // The circuit refused the cache write outright: no attempt waited for Redis.
    const failures = await s.core.failureLog.unrepaired();
    expect(failures.map((f) => [f.entityId, f.version, f.error])).toContainEqual([Number(userId), 2, expect.stringMatching(/circuit is (open|half-open); not waiting/)]);
    expect((await read()).data).toEqual({ user: { name: 'During', version: 2 } }); // suspect: from MySQL
  });

  it('probes, closes, and repairs once Redis answers again', async () => {
    await proxy.restore();
    await pollUntil('the circuit to close', () => s.core.circuit!.state === 'closed');
    await pollUntil('the repair', async () => (await s.core.failureLog.unrepaired()).length === 0);
    const raw = await s.redis.get(s.core.users.cacheLayout.key(Number(userId)));
    expect(JSON.parse(raw!)).toMatchObject({ v: 2, row: { name: 'During' } });
  });
});
