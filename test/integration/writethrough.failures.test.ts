import { eq } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { entities } from '../../src/entities';
import type { FailureEvent } from '../../src/failures/failure-event';
import { createTestCore, type TestCore } from '../helpers/core';
import { ENTITY_KEYS, entitySample, type EntityKey, type EntitySample } from '../helpers/entity-samples';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * Cache writes that fail, for every entity of the registry (src/entities.ts): each
 * entity's block has a core and database of its own (so its first failure event is
 * event 1, as it was when this file tested users alone), on this file's redis-server.
 */
let redisServer: PrivateRedis;
/** The core of the entity block that is running (blocks run one after another). */
let t: TestCore;
let failures: FailureEvent[];
const listenerErrors: unknown[] = [];

beforeAll(async () => {
  redisServer = await startPrivateRedis();
});
afterAll(async () => {
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

for (const key of ENTITY_KEYS) describe(entities[key].name, () => describeFailures(key));

function describeFailures(key: EntityKey): void {
  let e: EntitySample;

  beforeAll(async () => {
    t = await createTestCore({
      redisUrl: redisServer.url,
      commandTimeoutMs: 100,
      settings: { writeRetries: 2, writeRetryDelayMs: 10 },
      logger: { debug() {}, info() {}, warn() {}, error: (obj) => listenerErrors.push(obj) },
    });
    e = await entitySample(t.core, key); // an order's or a review's user and product are made here
    t.core.failureLog.onRecorded((f) => failures.push(f));
  });
  afterAll(async () => {
    await t?.close();
  });

  const inMysql = async (id: number) => (await t.db.select().from(e.table as MySqlTable).where(eq(e.table.id, id)))[0];

  describe('a cache write that fails', () => {
    it('is reported once, after the retries, while the committed row stays in MySQL (Redis stopped)', async () => {
      const row = await e.create();
      await redisServer.kill();
      const updated = await e.update(row.id, 1);
      expect(updated).toMatchObject({ ...e.patch(1), version: 2 });
      expect(await inMysql(row.id)).toEqual(updated);
      expect(failures).toEqual([
        {
          id: '1',
          failureId: '1',
          kind: 'failed',
          repairedAt: null,
          repairedBy: null,
          entity: e.name,
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
      const row = await e.create();
      const before = await redisServer.commandCounts();
      redisServer.pause();
      const started = Date.now();
      const updated = await e.update(row.id, 2);
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
      const raw = await t.redis.get(e.repository.cacheLayout.key(row.id));
      expect(JSON.parse(raw!).v).toBe(2);
    });

    it('does not fail the write when a failure listener throws', async () => {
      const unsubscribe = t.core.failureLog.onRecorded(() => {
        throw new Error('listener bug');
      });
      try {
        const row = await e.create();
        await redisServer.kill();
        await expect(e.update(row.id, 3)).resolves.toMatchObject({ version: 2 });
        expect(failures).toHaveLength(1);
        expect(listenerErrors).toContainEqual(expect.objectContaining({ err: expect.objectContaining({ message: 'listener bug' }) }));
      } finally {
        unsubscribe();
      }
    });

    it('reports a failed tombstone with the version it should have written', async () => {
      const row = await e.create();
      await redisServer.kill();
      expect(await e.repository.delete(row.id)).toBe(true);
      // An order's or a review's lists fail with it: their failures name the list.
      expect(failures.filter((f) => f.entity === e.name)).toMatchObject([{ operation: 'delete', entityId: row.id, version: 2 }]);
      const lists = Object.values(t.core.lists).filter((l) => l.definition.edges === e.table);
      expect(failures.filter((f) => f.entity !== e.name).map((f) => f.entity).sort()).toEqual(lists.map((l) => l.entity).sort());
      expect(await inMysql(row.id)).toBeUndefined();
    });
  });

  describe('load while Redis is down', () => {
    it('reads from MySQL instead, and caches again once Redis is back', async () => {
      const row = await e.create();
      await redisServer.kill();
      expect(await e.repository.load([row.id])).toEqual([row]);
      expect(failures).toEqual([]); // reads report nothing: no committed write was lost

      await redisServer.restart();
      await pollUntil('the client to reconnect', () => t.redis.status === 'ready');
      expect(await e.repository.load([row.id])).toEqual([row]); // miss on the empty server, backfilled
      const before = t.statements.count;
      expect(await e.repository.load([row.id])).toEqual([row]);
      expect(t.statements.count).toBe(before);
    });
  });
}
