import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { readLeases } from '../../src/writethrough/tables';
import { createTestCore, type TestCore, type TestCoreOptions } from '../helpers/core';
import { createTestDatabase, REDIS_URL, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * Two instances, A and B, on one database and one Redis. A reaches Redis through a
 * proxy the test cuts, so A's cache writes fail while B still reads the old value
 * from Redis. B polls the feed slowly (every 400 ms), so without the fence B would go
 * on answering with the old version well after A acknowledged the new one.
 */
const SLOW_POLL_MS = 400;
const LEASE_MS = 2_000;

let database: TestDatabase;
let redisProxy: TcpProxy;
const opened: TestCore[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const { hostname, port } = new URL(REDIS_URL);
  redisProxy = await startTcpProxy({ host: hostname, port: Number(port) });
});
afterEach(async () => {
  await redisProxy.restore();
  while (opened.length > 0) await opened.pop()!.close();
  await leasesTable().then((c) => c.query('DELETE FROM read_leases').finally(() => c.end()));
});
afterAll(async () => {
  await redisProxy.close();
  await database.drop();
});

const leasesTable = () => mysql.createConnection(database.url);

/** The core's Prometheus text, as GET /metrics would serve it. */
const metricsOf = (t: TestCore) =>
  t.observability.bind(t.core, { mysql: () => t.pool.query('SELECT 1'), redis: () => t.redis.ping() }, 'test-instance').registry.metrics();

async function instance(name: string, options: TestCoreOptions): Promise<TestCore> {
  const t = await createTestCore({ database, instanceId: name, pollFeed: true, ...options });
  opened.push(t);
  return t;
}

/** A (cut off from Redis on demand) and B, sharing keys; B polls the feed slowly. */
async function pair(readLeaseMs: number | undefined) {
  const keyPrefix = testKeyPrefix();
  const lease = readLeaseMs ? { readLeaseMs } : {};
  const common = { keyPrefix, commandTimeoutMs: 200, settings: { writeRetries: 0 }, ...lease };
  const a = await instance('A', { ...common, redisUrl: `redis://127.0.0.1:${redisProxy.port}`, feedPollMs: 50 });
  const b = await instance('B', { ...common, feedPollMs: SLOW_POLL_MS });
  return { a, b };
}

/** A user cached at version 1 on both instances, then A's Redis cut: A's next write fails. */
async function cachedUserThenCut(a: TestCore, b: TestCore) {
  const user = await a.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
  expect((await b.core.users.load([user.id]))[0]?.version).toBe(1);
  await redisProxy.cut();
  return user;
}

describe('fenced acknowledgements', () => {
  it("answers a failed write only once the other instance treats its key as suspect: B's next read has the new version", async () => {
    const { a, b } = await pair(LEASE_MS);
    const user = await cachedUserThenCut(a, b);
    const updated = await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    expect(updated.version).toBe(2);
    // Acknowledged: B, which still reads the old value in Redis, must not answer with it.
    expect(b.core.suspects.has('user', user.id)).toBe(true);
    expect((await b.core.users.load([user.id]))[0]).toMatchObject({ version: 2, name: 'Ada Lovelace' });
  });

  it('answers a failed delete only once the other instance will not serve the deleted row', async () => {
    const { a, b } = await pair(LEASE_MS);
    const user = await cachedUserThenCut(a, b);
    expect(await a.core.users.delete(user.id)).toBe(true);
    expect(await b.core.users.load([user.id])).toEqual([null]);
  });

  it('without a lease (READ_LEASE_MS=0), the other instance answers with the old version until it polls the feed', async () => {
    const { a, b } = await pair(undefined);
    const user = await cachedUserThenCut(a, b);
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    // What the fence prevents: the version before an acknowledged write.
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(1);
  });

  it('waits at most one lease for an instance that renews but does not read the failure', async () => {
    const { a, b } = await pair(LEASE_MS);
    const user = await cachedUserThenCut(a, b);
    // An instance stuck behind the failure: its lease runs, its cursor never passes.
    await a.db.insert(readLeases).values({ instance: 'stuck', cursor: 0, expiresAt: new Date(Date.now() + 60_000) });
    const started = performance.now();
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS);
    expect(waited).toBeLessThan(LEASE_MS + 2_000);
    await expect(b.core.users.load([user.id])).resolves.toMatchObject([{ version: 2 }]);
  });

  it('does not wait for instances whose lease has run out, nor for one that stopped', async () => {
    const { a, b } = await pair(60_000);
    const user = await cachedUserThenCut(a, b);
    await a.db.insert(readLeases).values({ instance: 'gone', cursor: 0, expiresAt: new Date(Date.now() - 1_000) });
    await b.close();
    opened.splice(opened.indexOf(b), 1);
    const started = performance.now();
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    // A 60 s lease: anything but an immediate answer would be a wait for one of them.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('reports how long failed writes waited, by outcome, in /metrics', async () => {
    const { a, b } = await pair(LEASE_MS);
    const user = await cachedUserThenCut(a, b);
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    const text = await metricsOf(a);
    expect(text).toMatch(/throughline_fence_wait_seconds_count\{outcome="passed"\} 1/);
  });

  it('is not paid by a write whose cache write succeeds: it records no failure and waits for nobody', async () => {
    const { a, b } = await pair(60_000);
    await a.db.insert(readLeases).values({ instance: 'stuck', cursor: 0, expiresAt: new Date(Date.now() + 60_000) });
    const user = await a.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
    const started = performance.now();
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(2);
  });
});

describe('the read lease', () => {
  it('is held in MySQL with the feed cursor, and given up when the instance stops', async () => {
    const { a, b } = await pair(LEASE_MS);
    const rows = await a.db.select().from(readLeases);
    expect(rows.map((r) => r.instance).sort()).toEqual(['A', 'B']);
    expect(a.core.lease!.fresh()).toBe(true);
    await b.close();
    opened.splice(opened.indexOf(b), 1);
    expect((await a.db.select().from(readLeases)).map((r) => r.instance)).toEqual(['A']);
  });

  it('once it cannot be renewed and has run out, reads answer from MySQL, not from the cache', async () => {
    const { a } = await pair(LEASE_MS);
    const user = await a.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
    await a.core.users.load([user.id]);
    // Stopping the lease ends the trust at once, as a lease run out does.
    await a.core.lease!.stop();
    expect(a.core.lease!.fresh()).toBe(false);
    await expect(a.core.users.load([user.id])).resolves.toMatchObject([{ version: 1 }]);
    expect(await metricsOf(a)).toMatch(/throughline_cache_lookups_total\{entity="user",result="bypassed"\} 1/);
  });

  it('is not extended while the feed is held at a hole in its ids: what lies beyond may be a failure a writer waits on', async () => {
    const { a, b } = await pair(1_000);
    const user = await cachedUserThenCut(a, b);
    // A failure recorded in a transaction still open: its event id is taken, not visible.
    const open = await leasesTable();
    try {
      await open.beginTransaction();
      const [failure] = await open.query(
        "INSERT INTO write_through_failures (entity, entity_id, operation, version, error, instance, occurred_at, next_attempt_at) VALUES ('user', 999999, 'update', 2, 'held', 'elsewhere', NOW(3), NOW(3))",
      );
      await open.query("INSERT INTO write_through_events (failure_id, kind, occurred_at, instance) VALUES (?, 'failed', NOW(3), 'elsewhere')", [
        (failure as { insertId: number }).insertId,
      ]);
      const started = performance.now();
      await a.core.users.update(user.id, { name: 'Ada Lovelace' });
      // B's cursor stopped before the hole, so A waited out B's lease...
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
      // ...by which time B no longer trusts the cache (the feed's gap grace is 2 s).
      expect(b.core.lease!.fresh()).toBe(false);
      expect((await b.core.users.load([user.id]))[0]?.version).toBe(2);
    } finally {
      await open.rollback();
      await open.end();
    }
  });

  it('runs out on an instance cut off from MySQL, which then answers reads with an error, never the cache', async () => {
    const { hostname, port } = new URL(database.url);
    const mysqlProxy = await startTcpProxy({ host: hostname, port: Number(port) });
    try {
      const keyPrefix = testKeyPrefix();
      const c = await instance('C', { keyPrefix, readLeaseMs: 400, feedPollMs: 100, mysqlThroughPort: mysqlProxy.port, deadlines: { statementMs: 500, transactionMs: 1_000 } });
      const user = await c.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
      await expect(c.core.users.load([user.id])).resolves.toMatchObject([{ version: 1 }]);
      await mysqlProxy.cut();
      await pollUntil('the lease to run out', () => !c.core.lease!.fresh(), 5_000);
      await expect(c.core.users.load([user.id])).rejects.toThrow();
    } finally {
      await mysqlProxy.close();
    }
  });
});

describe('a Redis stall: late compare-and-sets', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.dispose();
  });

  /** A and B both on the private Redis, which the test pauses: their writes time out, their outcome unknown. */
  async function stalledPair() {
    const keyPrefix = testKeyPrefix();
    const common = { keyPrefix, redisUrl: redis.url, commandTimeoutMs: 150, settings: { writeRetries: 0 }, readLeaseMs: LEASE_MS };
    const a = await instance('A', { ...common, feedPollMs: 50 });
    const b = await instance('B', { ...common, feedPollMs: SLOW_POLL_MS });
    return { a, b };
  }

  async function cachedVersion(t: TestCore, id: number): Promise<number | undefined> {
    const raw = await t.redis.get(t.core.users.cacheLayout.key(id));
    return raw ? (JSON.parse(raw) as { v: number }).v : undefined;
  }

  /** A user cached at version 1 on both A and B, before the stall. */
  async function cachedOnBoth(a: TestCore, b: TestCore) {
    const user = await a.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
    await b.core.users.load([user.id]);
    return user;
  }

  /** Runs `work` with Redis paused, and resumes it whatever happens. */
  async function whilePaused(work: () => Promise<void>): Promise<void> {
    redis.pause();
    try {
      await work();
    } finally {
      redis.resume();
    }
  }

  it('lets a timed-out write land after the stall only at its own version, which no reader ever sees go back', async () => {
    const { a, b } = await stalledPair();
    const user = await cachedOnBoth(a, b);
    await whilePaused(async () => {
      // Two writers on two connections: after the stall Redis may run their queued
      // compare-and-sets in either order.
      await a.core.users.update(user.id, { name: 'v2' });
      expect((await b.core.users.update(user.id, { name: 'v3' })).version).toBe(3);
      await expect(a.core.users.load([user.id])).resolves.toMatchObject([{ version: 3 }]);
    });
    // No repair runs here: what lands now is the writers' own late compare-and-sets.
    await pollUntil('the late writes to land', async () => (await cachedVersion(a, user.id)) === 3);
    for (const t of [a, b]) await expect(t.core.users.load([user.id])).resolves.toMatchObject([{ version: 3, name: 'v3' }]);
  });

  it('keeps a read right after the stall from the version before a write acknowledged during it', async () => {
    const { a, b } = await stalledPair();
    const user = await cachedOnBoth(a, b);
    await whilePaused(async () => void (await a.core.users.update(user.id, { name: 'v2' })));
    // B's MGET may run before A's queued compare-and-set: B must not trust what it finds.
    await expect(b.core.users.load([user.id])).resolves.toMatchObject([{ version: 2 }]);
  });

  it('never brings back a row deleted during the stall, before or after its late tombstone lands', async () => {
    const { a, b } = await stalledPair();
    const user = await cachedOnBoth(a, b);
    await whilePaused(async () => expect(await a.core.users.delete(user.id)).toBe(true));
    expect(await b.core.users.load([user.id])).toEqual([null]);
    await pollUntil('the late tombstone to land', async () => (await cachedVersion(a, user.id)) === 2);
    for (const t of [a, b]) expect(await t.core.users.load([user.id])).toEqual([null]);
  });
});
