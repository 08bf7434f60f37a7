import { isNull } from 'drizzle-orm';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeThroughFailures } from '../../src/db/schema';
import { createTestCore, type TestCore } from '../helpers/core';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * Redis refusing writes (out of memory: `maxmemory` with `noeviction`, on a
 * redis-server of this file's own) while reads still answer, then recovering. The
 * repair worker runs on its own timer (every 50 ms), with a backoff that could reach
 * a minute. Redis refuses for REDIS_REFUSAL_MS at least (`npm run test:faults`: 40 s).
 */
const REFUSAL_MS = Number(process.env.REDIS_REFUSAL_MS ?? 0);
let redisServer: PrivateRedis;
let admin: Redis;
let t: TestCore;

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  admin = new Redis(redisServer.url);
  t = await createTestCore({ redisUrl: redisServer.url, repairs: true, repair: { maxBackoffMs: 60_000 }, settings: { writeRetries: 0 } });
});
afterAll(async () => {
  await t?.close();
  admin?.disconnect();
  await redisServer?.kill();
});

let seq = 0;
const unrepaired = () => t.db.select().from(writeThroughFailures).where(isNull(writeThroughFailures.repairedAt));
const refuseWrites = () => admin.config('SET', 'maxmemory', '1');
const takeWrites = () => admin.config('SET', 'maxmemory', '0');

describe('repairs after Redis refused writes', () => {
  it('are retried as soon as Redis takes writes again, not when their backoff runs out', async () => {
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await t.core.users.create({ name: 'Refused', email: `oom${++seq}-${Date.now()}@example.com` }));
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await refuseWrites();
    try {
      for (const user of users) await t.core.users.update(user.id, { name: 'Written while Redis refused' });
      // Each failed attempt doubles the wait before the next: after the fourth, 8 s or more.
      const refusing = Date.now();
      await pollUntil('every failure postponed four times', async () => (await unrepaired()).every((f) => f.repairAttempts >= 4), 30_000);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, REFUSAL_MS - (Date.now() - refusing))));
    } finally {
      await takeWrites();
    }
    const recoveredAt = Date.now();
    await pollUntil('every failure repaired', async () => (await unrepaired()).length === 0, 10_000);
    // Within 2 s of recovery plus a round, though each backoff had up to 8 s or more to run.
    expect(Date.now() - recoveredAt).toBeLessThan(2_000 + 50 + 500);
    const rows = await t.core.users.load(users.map((u) => u.id));
    expect(rows.map((r) => r?.name)).toEqual(users.map(() => 'Written while Redis refused'));
  }, 40_000 + REFUSAL_MS);
});
