import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InspectorSettings } from '../../src/inspector/consistency-inspector';
import { createTestCore, type TestCore, type TestCoreOptions } from '../helpers/core';
import { createTestDatabase, REDIS_URL, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { startTestServer } from '../helpers/server';
import { startFollowingCore, type FollowingCore } from '../helpers/following-core';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/** Every settled write checked, at once, and again soon after if wrong: the tests drive the timer or tick themselves. */
const EVERY_WRITE: InspectorSettings = { sampleRate: 1, delayMs: 0, recheckMs: 50, maxChecksPerSecond: 100_000, tickMs: 20 };

let database: TestDatabase;
let proxy: TcpProxy;
const opened: TestCore[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const { hostname, port } = new URL(REDIS_URL);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
});
afterEach(async () => {
  await proxy.restore();
  while (opened.length > 0) await opened.pop()!.close();
});
afterAll(async () => {
  await proxy.close();
  await database.drop();
});

async function instance(options: Partial<TestCoreOptions> = {}): Promise<TestCore> {
  const t = await createTestCore({ database, keyPrefix: testKeyPrefix(), inspector: EVERY_WRITE, inspect: true, ...options });
  opened.push(t);
  return t;
}

const metricsOf = (t: TestCore) => t.observability.bind(t.core, { mysql: () => t.pool.query('SELECT 1'), redis: () => t.redis.ping() }, 'test').registry.metrics();
const figures = (t: TestCore) => t.core.inspector!.figures.snapshot().total;
const keyOf = (t: TestCore, id: number) => t.core.byName.user!.cacheLayout.key(id);
const cachedVersion = async (t: TestCore, id: number) => JSON.parse((await t.redis.get(keyOf(t, id)))!).v as number;
const newUser = (t: TestCore) => t.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });

/** Until every sampled write has been judged: nothing due, nothing running. */
async function drained(t: TestCore, checks: number) {
  return pollUntil(`${checks} checks to end`, () => {
    const f = figures(t);
    return f.checked >= checks ? f : undefined;
  });
}

describe('the consistency inspector', () => {
  it('finds a key set back to an older version behind the service, counts it once, and repairs it', async () => {
    const t = await instance({ inspector: { ...EVERY_WRITE, delayMs: 300 } });
    const user = await newUser(t);
    const v1 = (await t.redis.get(keyOf(t, user.id)))!;
    await t.core.users.update(user.id, { name: 'Ada Lovelace' });
    // Behind the service's back, before the inspector's first look at the update.
    await t.redis.set(keyOf(t, user.id), v1);
    await pollUntil('the inconsistency to be found and repaired', () => t.core.inspector!.figures.snapshot().repaired === 1, 5_000);
    expect(await cachedVersion(t, user.id)).toBe(2);
    const f = await drained(t, 2);
    expect(f).toMatchObject({ inconsistent: 1, consistent: 1, checked: 2 });
    // Its age: from the update settling to the second check, past the first look's delay.
    const text = await metricsOf(t);
    expect(text).toMatch(/throughline_consistency_inconsistency_age_seconds_count\{entity="user"\} 1/);
    expect(text).toMatch(/throughline_consistency_inconsistency_age_seconds_bucket\{le="0.5",entity="user"\} 1/);
  });

  it('finds a cached row with content MySQL never had at that version, and takes it away', async () => {
    const t = await instance({ inspector: { ...EVERY_WRITE, delayMs: 300 } });
    const user = await newUser(t);
    const forged = (await t.redis.get(keyOf(t, user.id)))!.replace('"Ada"', '"Mallory"');
    await t.redis.set(keyOf(t, user.id), forged);
    await pollUntil('the forged row to be repaired', () => t.core.inspector!.figures.snapshot().repaired === 1, 5_000);
    expect(await t.core.users.load([user.id])).toMatchObject([{ name: 'Ada', version: 1 }]);
    expect(figures(t).inconsistent).toBe(1);
  });

  it('counts a key whose cache write failed as recorded, not as a new inconsistency', async () => {
    const t = await instance({ redisUrl: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 200, settings: { writeRetries: 0 }, inspector: { ...EVERY_WRITE, delayMs: 1_000 } });
    const user = await newUser(t);
    await drained(t, 1);
    await proxy.cut();
    await t.core.users.update(user.id, { name: 'Ada Lovelace' });
    await proxy.restore();
    // No repair worker here: the failure stays open while the inspector looks.
    const f = await drained(t, 2);
    expect(f).toMatchObject({ recorded: 1, inconsistent: 0 });
    expect(await cachedVersion(t, user.id)).toBe(1);
  });

  it('reports no inconsistency while two instances race writes and backfills on hot rows', async () => {
    const keyPrefix = testKeyPrefix();
    const [a, b] = [await instance({ keyPrefix, instanceId: 'A' }), await instance({ keyPrefix, instanceId: 'B' })];
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser(a)));
    const ids = users.map((u) => u.id);
    let writes = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 25; i++) {
          const t = (worker + i) % 2 === 0 ? a : b;
          const id = ids[(worker * 7 + i) % ids.length]!;
          if (i % 5 === 0) await t.redis.del(keyOf(t, id)); // evicted: the next read backfills while writes race it
          await Promise.all([t.core.users.update(id, { name: `w${worker}-${i}` }), (t === a ? b : a).core.users.load(ids)]);
          writes++;
        }
      }),
    );
    const [fa, fb] = [await drained(a, 5 + writes / 2 - 10), await drained(b, writes / 2 - 10)];
    await pollUntil('every check to end', () => figures(a).checked + figures(b).checked === 5 + writes, 10_000);
    expect(figures(a).inconsistent + figures(b).inconsistent, JSON.stringify({ fa, fb })).toBe(0);
    expect(figures(a).recorded + figures(b).recorded).toBe(0);
  });

  it('checks at most INSPECTOR_MAX_CHECKS_PER_S keys a second, dropping the rest of the sample', async () => {
    const t = await instance({ inspector: { ...EVERY_WRITE, maxChecksPerSecond: 3 } });
    const started = Date.now();
    const user = await newUser(t);
    for (let i = 0; i < 10; i++) await t.core.users.update(user.id, { name: `n${i}` });
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
    await drained(t, 3);
    expect(figures(t).checked).toBeLessThanOrEqual(3 * seconds);
  });

  it('records what it found as a failure of operation inspection, which the subscription reports and the repair worker closes', async () => {
    const t = await instance({ repairs: true, inspector: { ...EVERY_WRITE, delayMs: 300 } });
    const recorded: Array<{ operation: string; entityId: string; version: number }> = [];
    t.core.failureLog.onRecorded((e) => void recorded.push({ operation: e.operation, entityId: String(e.entityId), version: e.version }));
    const user = await newUser(t);
    const v1 = (await t.redis.get(keyOf(t, user.id)))!;
    await t.core.users.update(user.id, { name: 'Ada Lovelace' });
    await t.redis.set(keyOf(t, user.id), v1);
    await pollUntil('the finding to be recorded', () => recorded.length === 1, 5_000);
    expect(recorded).toEqual([{ operation: 'inspection', entityId: String(user.id), version: 2 }]);
    await pollUntil('the failure to be repaired', async () => (await t.core.failureLog.countUnrepaired()) === 0, 10_000);
  });

  it('finds a row changed in MySQL behind the service (no follower) through a sampled read: a stale read, repaired', async () => {
    const t = await instance({ inspector: { ...EVERY_WRITE, sampleRate: 0, readSampleRate: 1 } });
    const user = await newUser(t);
    await t.core.users.load([user.id]);
    await t.pool.query('UPDATE users SET name = ? WHERE id = ?', ['Changed behind', user.id]);
    // The cache still says version 1: this read serves it, and is the one sampled.
    expect(await t.core.users.load([user.id])).toMatchObject([{ version: 1 }]);
    await pollUntil('the stale read to be confirmed and repaired', () => t.core.inspector!.figures.snapshot().repaired === 1, 5_000);
    expect(t.core.inspector!.figures.snapshot().reads.stale).toBe(1);
    expect(await t.core.users.load([user.id])).toMatchObject([{ version: 2, name: 'Changed behind' }]);
    const { reads, total } = t.core.inspector!.figures.snapshot();
    expect(reads.checked).toBeGreaterThanOrEqual(2);
    expect(total.inconsistent).toBe(0);
  });

  it('counts sampled reads of an unchanged row as fresh', async () => {
    const t = await instance({ inspector: { ...EVERY_WRITE, sampleRate: 0, readSampleRate: 1 } });
    const user = await newUser(t);
    for (let i = 0; i < 5; i++) await t.core.users.load([user.id]);
    await pollUntil('the reads to be checked', () => t.core.inspector!.figures.snapshot().reads.checked >= 4, 5_000);
    expect(t.core.inspector!.figures.snapshot().reads.stale).toBe(0);
  });

  it('publishes its counts in /metrics', async () => {
    const t = await instance();
    const user = await newUser(t);
    await t.core.users.update(user.id, { name: 'Ada Lovelace' });
    await drained(t, 2);
    const text = await metricsOf(t);
    expect(text).toMatch(/throughline_consistency_checks_total\{entity="user",result="consistent"\} 2/);
  });
});

describe('cacheStatus.consistency', () => {
  it("gives an admin the inspector's counts and nines, and null when it is off", async () => {
    const on = await startTestServer({ database, keyPrefix: testKeyPrefix(), inspector: EVERY_WRITE, inspect: true });
    const off = await startTestServer({ database, keyPrefix: testKeyPrefix() });
    try {
      const created = await on.gql('mutation { createUser(input: { name: "Ada", email: "ada-status@example.com" }) { id } }', undefined, { token: await on.token(['write']) });
      expect(created.errors).toBeUndefined();
      const query = '{ cacheStatus { consistency { total { checked consistent inFlight recorded inconsistent nines } lastHour { checked } repaired } } }';
      const status = await pollUntil('the write to be checked', async () => {
        const res = await on.gql(query, undefined, { token: await on.token(['admin']) });
        expect(res.errors).toBeUndefined();
        const c = res.data!.cacheStatus.consistency;
        return c.total.checked === 1 ? c : undefined;
      });
      expect(status).toEqual({ total: { checked: 1, consistent: 1, inFlight: 0, recorded: 0, inconsistent: 0, nines: 0 }, lastHour: { checked: 1 }, repaired: 0 });
      const none = await off.gql(query, undefined, { token: await off.token(['admin']) });
      expect(none.data!.cacheStatus.consistency).toBeNull();
    } finally {
      await Promise.all([on.close(), off.close()]);
    }
  });
});

describe('the consistency inspector, fed by the change follower', () => {
  let f: FollowingCore;
  beforeAll(async () => {
    f = await startFollowingCore({ inspector: { ...EVERY_WRITE, delayMs: 300 }, inspect: true });
  }, 60_000);
  afterAll(async () => {
    await f?.close();
  });

  it('checks a row changed behind the API once the follower has written it through, and finds it set back after', async () => {
    const { t, sql } = f;
    const user = await newUser(t);
    const v1 = (await t.redis.get(keyOf(t, user.id)))!;
    // The create is checked twice: as the unit of work's write, and as the follower's change.
    await pollUntil('the create to be checked from both', () => figures(t).checked === 2, 10_000);
    await sql.query('UPDATE users SET name = ? WHERE id = ?', ['Changed behind', user.id]);
    await pollUntil('the follower to write the change through', async () => (await cachedVersion(t, user.id)) === 2, 10_000);
    await t.redis.set(keyOf(t, user.id), v1);
    await pollUntil('the set-back key to be found and repaired', () => t.core.inspector!.figures.snapshot().repaired === 1, 10_000);
    expect(figures(t)).toMatchObject({ checked: 3, consistent: 2, inconsistent: 1 });
    expect(await cachedVersion(t, user.id)).toBe(2);
  }, 30_000);
});
