import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeRow } from '../../src/cache/envelope';
import { createDatabase, createPool } from '../../src/db/client';
import { writeThroughEvents, writeThroughFailures } from '../../src/db/schema';
import { entities } from '../../src/entities';
import { FailureLog } from '../../src/failures/failure-log';
import type { RepositoryHooks, Row, VersionedTable } from '../../src/writethrough/repository';
import { createTestCore, silentLogger, type TestCore } from '../helpers/core';
import { ENTITY_KEYS, entitySample, type EntityKey, type EntitySample } from '../helpers/entity-samples';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTcpProxy } from '../helpers/tcp-proxy';

let redisServer: PrivateRedis;
let t: TestCore;

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  t = await createTestCore({ redisUrl: redisServer.url, commandTimeoutMs: 100, settings: { writeRetries: 1, writeRetryDelayMs: 5 } });
});
afterAll(async () => {
  await t?.close();
  await redisServer?.kill();
});
afterEach(async () => {
  await redisUp();
  // Leave no failure due for the next test's worker rounds.
  await t.db.update(writeThroughFailures).set({ repairedAt: new Date(), repairedBy: 'cleanup' });
  for (const e of await t.core.failureLog.unrepaired()) t.core.suspects.apply({ ...e, kind: 'repaired' });
});

async function redisUp(): Promise<void> {
  if ((await t.redis.ping().catch(() => null)) === 'PONG') return;
  await redisServer.restart();
  await pollUntil('the client to reconnect', () => t.redis.status === 'ready');
}

/** Runs `write` with Redis stopped, so its cache write fails, then brings Redis back (empty). */
async function withRedisDown<T>(write: () => Promise<T>): Promise<T> {
  await redisServer.kill();
  const result = await write();
  await redisUp();
  return result;
}

// Every entity of the registry (src/entities.ts) fails and is repaired the same way:
// the failure log, the suspects and the repair worker know entities only by name.
for (const entityKey of ENTITY_KEYS) describe(entities[entityKey].name, () => describeRepairs(entityKey));

function describeRepairs(entityKey: EntityKey): void {
  let e: EntitySample;
  beforeAll(async () => {
    e = await entitySample(t.core, entityKey); // an order's or a review's user and product are made here
  });

  const key = (id: number) => e.repository.cacheLayout.key(id);
  const cachedVersion = async (id: number) => {
    const raw = await t.redis.get(key(id));
    return raw === null ? null : (JSON.parse(raw) as { v: number }).v;
  };
  // Ids repeat across entities' tables: a failure is this entity's and this id's.
  const failureRows = (entityId: number) =>
    t.db
      .select()
      .from(writeThroughFailures)
      .where(and(eq(writeThroughFailures.entity, e.name), eq(writeThroughFailures.entityId, entityId)));

  /** What a Redis that survived the outage would still hold: the row at its old version. */
  async function plantStale(row: Row<VersionedTable>): Promise<void> {
    await t.redis.set(key(row.id), encodeRow(row.version, JSON.stringify(row)), 'PX', 60_000);
  }

  describe('a failed cache write', () => {
    it('is recorded in MySQL, with a feed event, before the mutation answers', async () => {
      const row = await e.create();
      await withRedisDown(() => e.update(row.id, 2));
      expect(await failureRows(row.id)).toEqual([
        expect.objectContaining({ entity: e.name, operation: 'update', version: 2, instance: 'test-instance', repairedAt: null, repairAttempts: 0 }),
      ]);
      const [failure] = await failureRows(row.id);
      const events = await t.db.select().from(writeThroughEvents).where(eq(writeThroughEvents.failureId, failure!.id));
      expect(events).toEqual([expect.objectContaining({ kind: 'failed', instance: 'test-instance' })]);
    });

    it('makes reads of that key go to MySQL, not to the stale cache, and not backfill it', async () => {
      const row = await e.create();
      const updated = await withRedisDown(() => e.update(row.id, 2));
      await plantStale(row);
      expect(t.core.suspects.has(e.name, row.id)).toBe(true);
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([updated]);
      expect(t.statements.count).toBe(before + 1);
      expect(await cachedVersion(row.id)).toBe(1); // left for the repair worker
    });

    it('stays suspect for an instance that starts after it, until repaired', async () => {
      const row = await e.create();
      await withRedisDown(() => e.update(row.id, 2));
      const restarted = await createTestCore({ database: t.database, redisUrl: redisServer.url, keyPrefix: t.settings.keyPrefix });
      try {
        expect(restarted.core.suspects.has(e.name, row.id)).toBe(true);
        await plantStale(row);
        expect((await restarted.core.repositories[entityKey].load([row.id]))[0]!.version).toBe(2);
      } finally {
        await restarted.close();
      }
    });
  });

  /** A commit that bypasses the API (what a newer write looks like before its own failure is known). */
  async function commitBehindTheApi(id: number): Promise<Row<VersionedTable>> {
    await t.db.update(e.table).set({ version: sql`${e.table.version} + 1` } as never).where(eq(e.table.id, id));
    return (await e.repository.selectByIds([id]))[0]!;
  }
  /** What the feed brings when a repair of the key's open failures is announced. */
  async function announceRepairs(id: number): Promise<void> {
    for (const f of await t.core.failureLog.unrepaired()) {
      if (f.entity === e.name && f.entityId === id) t.core.suspects.apply({ ...f, kind: 'repaired' });
    }
  }

  describe('suspicion per version', () => {
    it('serves a suspect key from the cache once the cache holds its failed version', async () => {
      const row = await e.create();
      const updated = await withRedisDown(() => e.update(row.id, 2));
      await t.core.cache.casSetMany([e.repository.cacheLayout.rowWrite(updated, Date.now())]); // the timed-out write landed after all
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([updated]);
      expect(t.statements.count).toBe(before);
      expect(t.core.suspects.hasUnrepaired(e.name, row.id)).toBe(true); // still the repair worker's to close
    });

    it('never goes back to an older cached version after a read from MySQL saw a newer one', async () => {
      const row = await e.create();
      const failed = await withRedisDown(() => e.update(row.id, 2));
      const newer = await commitBehindTheApi(row.id);
      expect(await e.repository.load([row.id])).toEqual([newer]); // from MySQL: the key is suspect
      // A repair that read the row before the newer commit sets the failed version and says so.
      await t.core.cache.casSetMany([e.repository.cacheLayout.rowWrite(failed, Date.now())]);
      await announceRepairs(row.id);
      expect((await e.repository.load([row.id]))[0]!.version).toBe(newer.version);
      expect(await cachedVersion(row.id)).toBe(failed.version); // not backfilled: the repair worker's
    });

    it('never reads back a row that a read from MySQL found deleted', async () => {
      const row = await e.create();
      const failed = await withRedisDown(() => e.update(row.id, 2));
      await t.db.delete(e.table).where(eq(e.table.id, row.id));
      expect(await e.repository.load([row.id])).toEqual([null]);
      await t.core.cache.casSetMany([e.repository.cacheLayout.rowWrite(failed, Date.now())]);
      await announceRepairs(row.id);
      expect(await e.repository.load([row.id])).toEqual([null]);
    });

    it('backfills a key whose failures are all repaired when its entry has expired, and then trusts the cache again', async () => {
      const row = await e.create();
      const updated = await withRedisDown(() => e.update(row.id, 2));
      await announceRepairs(row.id); // repaired, but no read has seen the cache at version 2 yet
      await t.redis.del(key(row.id)); // and the repair's entry is gone (expired, evicted)
      expect(await e.repository.load([row.id])).toEqual([updated]);
      expect(await cachedVersion(row.id)).toBe(2);
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([updated]);
      expect(t.statements.count).toBe(before);
      expect(t.core.suspects.has(e.name, row.id)).toBe(false);
    });

    it('keeps a newer failure in force when an older one of the same key is repaired', async () => {
      const row = await e.create();
      const first = await withRedisDown(() => e.update(row.id, 2));
      const [older] = await failureRows(row.id);
      const second = await withRedisDown(() => e.update(row.id, 3));
      await t.core.cache.casSetMany([e.repository.cacheLayout.rowWrite(first, Date.now())]);
      const [event] = (await t.core.failureLog.unrepaired()).filter((f) => f.failureId === String(older!.id));
      t.core.suspects.apply({ ...event!, kind: 'repaired' });
      expect(await e.repository.load([row.id])).toEqual([second]);
    });
  });

  describe('the repair worker', () => {
    it('sets the committed row, marks the failure repaired and announces it', async () => {
      const row = await e.create();
      const updated = await withRedisDown(() => e.update(row.id, 2));
      await plantStale(row);
      expect(await t.core.repairWorker.runOnce()).toEqual({ claimed: 1, repaired: 1, postponed: 0 });
      expect(await cachedVersion(row.id)).toBe(2);
      expect(await failureRows(row.id)).toEqual([expect.objectContaining({ repairedAt: expect.any(Date), repairedBy: 'test-instance' })]);
      const [failure] = await failureRows(row.id);
      const events = await t.db.select().from(writeThroughEvents).where(eq(writeThroughEvents.failureId, failure!.id));
      expect(events.map((e) => e.kind)).toEqual(['failed', 'repaired']);
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([updated]);
      expect(t.statements.count).toBe(before); // a cache hit again
      expect(t.core.suspects.has(e.name, row.id)).toBe(false); // and the read that saw it caught up settled it
    });

    it('counts a write that landed after all as repaired, changing nothing', async () => {
      const row = await e.create();
      const updated = await withRedisDown(() => e.update(row.id, 2));
      await t.core.cache.casSetMany([e.repository.cacheLayout.rowWrite(updated, Date.now())]); // the "timed-out" write landed
      const before = await t.redis.get(key(row.id));
      expect(await t.core.repairWorker.runOnce()).toMatchObject({ repaired: 1 });
      expect(await t.redis.get(key(row.id))).toBe(before);
    });

    it('never overwrites a newer version than the one it read', async () => {
      const row = await e.create();
      await withRedisDown(() => e.update(row.id, 2));
      await t.redis.set(key(row.id), encodeRow(9, JSON.stringify({ ...row, version: 9 })), 'PX', 60_000);
      expect(await t.core.repairWorker.runOnce()).toMatchObject({ repaired: 1 });
      expect(await cachedVersion(row.id)).toBe(9);
    });

    it('tombstones a row that was deleted, so a stale copy cannot answer', async () => {
      const row = await e.create();
      await withRedisDown(() => e.repository.delete(row.id));
      await plantStale(row);
      // And the lists the row was an edge of, one failure each (an order's three, a review's one).
      const lists = Object.values(t.core.lists).filter((l) => l.definition.edges === e.table).length;
      expect(await t.core.repairWorker.runOnce()).toMatchObject({ repaired: 1 + lists });
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([null]);
      expect(t.statements.count).toBe(before);
    });

    it('repairs several failures of one key with one write', async () => {
      const row = await e.create();
      await withRedisDown(async () => {
        await e.update(row.id, 2);
        await e.update(row.id, 3);
      });
      expect(await t.core.repairWorker.runOnce()).toEqual({ claimed: 2, repaired: 2, postponed: 0 });
      expect(await cachedVersion(row.id)).toBe(3);
    });

    it('backs off a repair that keeps failing, and keeps the failure open and visible', async () => {
      const row = await e.create();
      await withRedisDown(() => e.update(row.id, 2));
      await redisServer.kill();
      expect(await t.core.repairWorker.runOnce()).toEqual({ claimed: 1, repaired: 0, postponed: 1 });
      const [failure] = await failureRows(row.id);
      expect(failure).toMatchObject({ repairAttempts: 1, repairedAt: null, lastRepairError: expect.stringMatching(/\S/) });
      expect(failure!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
      expect(await t.core.repairWorker.runOnce()).toEqual({ claimed: 0, repaired: 0, postponed: 0 }); // not due yet
      expect((await t.core.failureLog.unrepaired()).map((e) => e.entityId)).toContain(row.id);
    });

    it('is never run twice for one failure, even by two instances at once', async () => {
      const rows: Array<Row<VersionedTable>> = [];
      for (let i = 0; i < 10; i++) rows.push(await e.create());
      await withRedisDown(async () => {
        for (const row of rows) await e.update(row.id, 2);
      });
      const other = await createTestCore({ database: t.database, redisUrl: redisServer.url, keyPrefix: t.settings.keyPrefix, instanceId: 'other' });
      try {
        const [a, b] = await Promise.all([t.core.repairWorker.runOnce(), other.core.repairWorker.runOnce()]);
        expect(a.claimed + b.claimed).toBe(10);
        expect(a.repaired + b.repaired).toBe(10);
        const repairs = await t.db.select().from(writeThroughEvents).where(eq(writeThroughEvents.kind, 'repaired'));
        const ids = (await Promise.all(rows.map((r) => failureRows(r.id)))).flat().map((f) => f.id);
        expect(repairs.filter((e) => ids.includes(e.failureId))).toHaveLength(10);
      } finally {
        await other.close();
      }
    });
  });
}

describe('the failure log', () => {
  const newUser = () => ({ name: 'Mended', email: `mend-${Date.now()}@example.com` });
  const failureRows = (entityId: number) =>
    t.db
      .select()
      .from(writeThroughFailures)
      .where(and(eq(writeThroughFailures.entity, 'user'), eq(writeThroughFailures.entityId, entityId)));

  it('records a failure MySQL refused on the next repair round, once MySQL is back', async () => {
    // A second instance whose MySQL goes away right after its commit, while Redis is down.
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 3306 });
    const hooks: RepositoryHooks = {};
    const cutOff = await createTestCore({
      database: t.database,
      redisUrl: redisServer.url,
      keyPrefix: t.settings.keyPrefix,
      mysqlThroughPort: proxy.port,
      commandTimeoutMs: 100,
      hooks,
    });
    try {
      const row = await cutOff.core.users.create(newUser());
      hooks.afterCommit = () => proxy.cut();
      await redisServer.kill();
      await expect(cutOff.core.users.update(row.id, { name: 'v2' })).resolves.toMatchObject({ version: 2 });
      delete hooks.afterCommit;
      expect(await failureRows(row.id)).toEqual([]); // not recorded yet: MySQL was gone
      await proxy.restore();
      await cutOff.core.repairWorker.runOnce();
      expect(await failureRows(row.id)).toEqual([expect.objectContaining({ version: 2, operation: 'update' })]);
    } finally {
      await proxy.restore();
      await cutOff.close();
      await proxy.close();
    }
  });

  it('keeps a failure it cannot record while MySQL is down, and records it once MySQL is back', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 3306 });
    const url = new URL(t.database.url);
    url.port = String(proxy.port);
    const pool = createPool({ url: url.toString(), poolSize: 1 });
    const errors: unknown[] = [];
    const log = new FailureLog(createDatabase(pool), { ...silentLogger, error: (obj) => errors.push(obj) });
    const failure = { entity: 'user', entityId: 424242, operation: 'update' as const, version: 7, error: 'Command timed out', occurredAt: new Date(), instance: 'cut-off' };
    try {
      await proxy.cut();
      await log.report(failure);
      expect(errors).toEqual([expect.objectContaining({ failure })]);
      await proxy.restore();
      expect(await log.flushPending()).toBe(0);
      expect(await failureRows(424242)).toEqual([expect.objectContaining({ version: 7, instance: 'cut-off' })]);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });
});
