import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema';
import type { FailureEvent } from '../../src/failures/failure-event';
import { createTestCore, type TestCore } from '../helpers/core';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

let redisServer: PrivateRedis;
let t: TestCore;
let failures: FailureEvent[];
const listenerErrors: unknown[] = [];

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  t = await createTestCore({
    redisUrl: redisServer.url,
    commandTimeoutMs: 100,
    settings: { writeRetries: 2, writeRetryDelayMs: 10 },
    logger: { debug() {}, info() {}, warn() {}, error: (obj) => listenerErrors.push(obj) },
  });
  t.core.failureLog.onRecorded((f) => failures.push(f));
});
afterAll(async () => {
  await t?.close();
  await redisServer?.kill();
});
beforeEach(() => {
  failures = [];
});
afterEach(async () => {
  redisServer.resume();
  if ((await t.redis.ping().catch(() => null)) !== 'PONG') {
    await redisServer.restart();
    await pollUntil('the client to reconnect', () => t.redis.status === 'ready');
  }
});

let seq = 0;
const newUser = () => ({ name: 'Faulty', email: `fault${++seq}-${Date.now()}@example.com` });
const inMysql = async (id: number) => (await t.db.select().from(users).where(eq(users.id, id)))[0];

describe('a cache write that fails', () => {
  it('is reported once, after the retries, while the committed row stays in MySQL (Redis stopped)', async () => {
    const row = await t.core.users.create(newUser());
    await redisServer.kill();
    const updated = await t.core.users.update(row.id, { name: 'Committed anyway' });
    expect(updated).toMatchObject({ name: 'Committed anyway', version: 2 });
    expect(await inMysql(row.id)).toEqual(updated);
    expect(failures).toEqual([
      {
        id: '1',
        failureId: '1',
        kind: 'failed',
        repairedAt: null,
        repairedBy: null,
        entity: 'user',
        entityId: row.id,
        operation: 'update',
        version: 2,
        error: expect.any(String),
        occurredAt: expect.any(Date),
        instance: 'test-instance',
      },
    ]);
  });

  it('is retried, then reported with an unknown outcome when Redis stops answering (paused)', async () => {
    const row = await t.core.users.create(newUser());
    const before = await redisServer.commandCounts();
    redisServer.pause();
    const started = Date.now();
    const updated = await t.core.users.update(row.id, { name: 'Timed out' });
    const took = Date.now() - started;
    expect(updated.version).toBe(2);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ entityId: row.id, version: 2 });
    expect(failures[0]!.error).toMatch(/timed out.*outcome unknown/);
    // Three attempts of 100 ms each, plus backoff: bounded, not hung.
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(5_000);

    // The paused server still has the three sends in its socket buffer; once it runs
    // again they execute, and the compare-and-set makes the late ones harmless.
    redisServer.resume();
    const after = await pollUntil('the buffered attempts to run', async () => {
      const counts = await redisServer.commandCounts();
      const calls = (counts.evalsha ?? 0) + (counts.eval ?? 0) - (before.evalsha ?? 0) - (before.eval ?? 0);
      return calls >= 3 ? calls : 0;
    });
    expect(after).toBe(3);
    const raw = await t.redis.get(t.core.users.cacheLayout.key(row.id));
    expect(JSON.parse(raw!).v).toBe(2);
  });

  it('does not fail the write when a failure listener throws', async () => {
    const unsubscribe = t.core.failureLog.onRecorded(() => {
      throw new Error('listener bug');
    });
    try {
      const row = await t.core.users.create(newUser());
      await redisServer.kill();
      await expect(t.core.users.update(row.id, { name: 'Still fine' })).resolves.toMatchObject({ version: 2 });
      expect(failures).toHaveLength(1);
      expect(listenerErrors).toContainEqual(expect.objectContaining({ err: expect.objectContaining({ message: 'listener bug' }) }));
    } finally {
      unsubscribe();
    }
  });

  it('reports a failed tombstone with the version it should have written', async () => {
    const row = await t.core.users.create(newUser());
    await redisServer.kill();
    expect(await t.core.users.delete(row.id)).toBe(true);
    expect(failures).toMatchObject([{ operation: 'delete', entityId: row.id, version: 2 }]);
    expect(await inMysql(row.id)).toBeUndefined();
  });
});

describe('load while Redis is down', () => {
  it('reads from MySQL instead, and caches again once Redis is back', async () => {
    const row = await t.core.users.create(newUser());
    await redisServer.kill();
    expect(await t.core.users.load([row.id])).toEqual([row]);
    expect(failures).toEqual([]); // reads report nothing: no committed write was lost

    await redisServer.restart();
    await pollUntil('the client to reconnect', () => t.redis.status === 'ready');
    expect(await t.core.users.load([row.id])).toEqual([row]); // miss on the empty server, backfilled
    const before = t.statements.count;
    expect(await t.core.users.load([row.id])).toEqual([row]);
    expect(t.statements.count).toBe(before);
  });
});
