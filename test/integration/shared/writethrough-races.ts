import { eq } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../../src/cache/redis-client';
import type { InspectorSettings } from '../../../src/inspector/consistency-inspector';
import { entities } from '../../../src/entities';
import type { RepositoryHooks } from '../../../src/writethrough/repository';
import type { TestCore } from '../../helpers/core';
import { ENTITY_KEYS, entitySample, type EntityKey, type EntitySample } from '../../helpers/entity-samples';
import { pollUntil } from '../../helpers/poll';

/**
 * The write-through races, as one suite that runs on any Redis the core can use:
 * writethrough.races.test.ts runs it on a single server, cluster.races.test.ts on a
 * Redis Cluster. `openCore` builds a core (with `hooks`, and no cache-write retries, so
 * a held write is the only write); the suite closes it.
 *
 * The races run in full for every entity of the registry (src/entities.ts), each on a
 * core and database of its own (as the suite had for users alone); the compare-and-set
 * itself knows no entity, so its tests run once.
 *
 * The consistency inspector watches every race (a negative control for it): every
 * write that settles and every batch that hits is checked against MySQL as the races
 * run, held writes and backfills still in flight, and each entity's block ends by
 * asserting it found no inconsistent key and no stale read.
 */
export function describeWriteThroughRaces(openCore: (options: RaceCoreOptions) => Promise<TestCore<RedisClient>>): void {
  for (const key of ENTITY_KEYS) {
    describe(entities[key].name, () => describeEntityRaces(openCore, key));
  }

  describe('the compare-and-set', () => {
    let t: TestCore<RedisClient>;
    beforeAll(async () => {
      t = await openCore({ hooks: {}, inspector: RACE_INSPECTOR, inspect: true });
    });
    afterAll(() => t?.close());

    const write = async (key: string, version: number, notAfterMs = Date.now() + 60_000) =>
      (await t.core.cache.casSetMany([{ key, version, value: `{"v":${version},"row":{}}`, ttlMs: 60_000, notAfterMs }]))[0];

    it('lands over an absent key or an older version, and nowhere else', async () => {
      const key = `${t.settings.keyPrefix}cas:1`;
      expect(await write(key, 3)).toBe('set');
      expect(await write(key, 2)).toBe('stale');
      expect(await write(key, 3)).toBe('stale');
      expect(await write(key, 4)).toBe('set');
      expect(await t.redis.get(key)).toBe('{"v":4,"row":{}}');
    });

    it('refuses a write that reaches Redis after its deadline, even over an absent key', async () => {
      const key = `${t.settings.keyPrefix}cas:2`;
      expect(await write(key, 1, Date.now() - 1)).toBe('late');
      expect(await t.redis.exists(key)).toBe(0);
    });

    it('replaces a value it cannot read a version from', async () => {
      const key = `${t.settings.keyPrefix}cas:3`;
      await t.redis.set(key, 'not an envelope');
      expect(await write(key, 1)).toBe('set');
    });

    it('sets a TTL on every key it writes', async () => {
      const key = `${t.settings.keyPrefix}cas:4`;
      await write(key, 1);
      const ttl = await t.redis.pttl(key);
      expect(ttl).toBeGreaterThan(59_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });
  });
}

/**
 * A promise with its resolve function, for holding a step back until the test lets
 * it go. Waiting on one fails after a deadline instead of hanging the test.
 */
function gate(what = 'a gate to open', timeoutMs = 10_000) {
  let open!: () => void;
  const released = new Promise<void>((resolve) => (open = resolve));
  const opened = Promise.race([
    released,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs).unref()),
  ]);
  opened.catch(() => {});
  return { open, opened };
}

/** What the suite asks of the core it is given (the caller adds its Redis and settings). */
export interface RaceCoreOptions {
  hooks: RepositoryHooks;
  inspector: InspectorSettings;
  inspect: true;
}

/** Every settled write and every batch with a hit checked at once, and again 50 ms after if wrong. */
const RACE_INSPECTOR: InspectorSettings = { sampleRate: 1, readSampleRate: 1, delayMs: 0, recheckMs: 50, maxChecksPerSecond: 100_000, tickMs: 20 };

function describeEntityRaces(openCore: (options: RaceCoreOptions) => Promise<TestCore<RedisClient>>, key: EntityKey): void {
  const hooks: RepositoryHooks = {};
  let t: TestCore<RedisClient>;
  let e: EntitySample;

  beforeAll(async () => {
    t = await openCore({ hooks, inspector: RACE_INSPECTOR, inspect: true });
    e = await entitySample(t.core, key); // an order's or a review's user and product are made here
  });
  afterAll(() => t?.close());
  afterEach(() => {
    delete hooks.afterCommit;
    delete hooks.beforeBackfill;
  });

  const stored = async (id: number) => (await t.db.select().from(e.table as MySqlTable).where(eq(e.table.id, id)))[0];
  const cachedVersion = async (id: number) => {
    const raw = await t.redis.get(e.repository.cacheLayout.key(id));
    return raw === null ? null : (JSON.parse(raw) as { v: number }).v;
  };
  /** Until the inspector has nothing queued or running: its checks read MySQL too. */
  const inspectorIdle = () => pollUntil('the inspector to end its checks', () => t.core.inspector!.figures.snapshot().pending === 0);

  describe('update', () => {
    it('leaves the newest version in the cache when 50 concurrent writes land in reverse order', async () => {
      const { id } = await e.create();
      // Hold every cache write back until all 50 transactions have committed.
      const held = new Map<number, ReturnType<typeof gate>>();
      hooks.afterCommit = async ({ version }) => {
        const g = gate();
        held.set(version, g);
        await g.opened;
      };
      const writes = new Map<number, Promise<unknown>>();
      const all = Array.from({ length: 50 }, (_, i) => e.update(id, i));
      await pollUntil('all 50 commits', () => held.size === 50);
      const row = await stored(id);
      expect(row!.version).toBe(51);

      // Release them newest first, each only after the one before has landed, so the
      // oldest versions reach Redis last.
      all.forEach((p) => p.then((r) => writes.set(r.version, p)));
      for (let version = 51; version >= 2; version--) {
        held.get(version)!.open();
        await pollUntil(`cache write of version ${version}`, () => writes.has(version));
        expect(await cachedVersion(id)).toBe(51);
      }
      await Promise.all(all);
      const [loaded] = await e.repository.load([id]);
      expect(loaded).toEqual(row);
    });
  });

  /**
   * Starts a load of `id` and holds it after it has read MySQL, before its backfill;
   * returns once it is held. `backfill.open()` lets it go on.
   */
  async function readHeldBeforeBackfill(id: number) {
    const backfill = gate('the test to release the backfill');
    const reached = gate('the read to reach its backfill');
    hooks.beforeBackfill = async () => {
      reached.open();
      await backfill.opened;
    };
    const read = e.repository.load([id]);
    await reached.opened;
    delete hooks.beforeBackfill; // only this read is held
    return { read, backfill };
  }

  describe('load', () => {
    it('does not overwrite a newer write with a backfill that was held back', async () => {
      const { id } = await e.create();
      await t.redis.del(e.repository.cacheLayout.key(id)); // force the next read to miss
      const { read: slowRead, backfill } = await readHeldBeforeBackfill(id); // the read has version 1 from MySQL in hand

      const updated = await e.update(id, 1);
      expect(await cachedVersion(id)).toBe(2);
      backfill.open();
      const [stale] = await slowRead;
      expect(stale!.version).toBe(1); // the read answers with what it read…
      expect(await cachedVersion(id)).toBe(2); // …but cannot plant it over version 2
      expect((await e.repository.load([id]))[0]).toEqual(updated);
    });

    it('does not resurrect a deleted row with a backfill that was held back', async () => {
      const { id } = await e.create();
      await t.redis.del(e.repository.cacheLayout.key(id));
      const { read: slowRead, backfill } = await readHeldBeforeBackfill(id);

      expect(await e.repository.delete(id)).toBe(true);
      backfill.open();
      await slowRead;
      expect(JSON.parse((await t.redis.get(e.repository.cacheLayout.key(id)))!)).toEqual({ v: 2, deleted: true });
      await inspectorIdle();
      const before = t.statements.count;
      expect(await e.repository.load([id])).toEqual([null]);
      expect(t.statements.count).toBe(before); // answered by the tombstone, not MySQL
    });

    it('does not let a negative entry from a slow read hide a row created meanwhile', async () => {
      // This entity's table is in a database of this block's own and nothing else
      // inserts into it meanwhile, so the next insert takes the next id.
      const nextId = (await e.create()).id + 1;
      const { read: slowRead, backfill } = await readHeldBeforeBackfill(nextId); // the read found no row

      const created = await e.create();
      expect(created.id).toBe(nextId);
      backfill.open();
      expect(await slowRead).toEqual([null]);
      expect(await cachedVersion(nextId)).toBe(1);
      expect((await e.repository.load([nextId]))[0]).toEqual(created);
    });
  });

  describe('the consistency inspector', () => {
    it('found no inconsistent key and no stale read in these races, writes in flight included', async () => {
      await inspectorIdle();
      const { total, reads } = t.core.inspector!.figures.snapshot();
      expect(total.checked).toBeGreaterThanOrEqual(50); // the 50 racing writes at least
      expect(reads.checked).toBeGreaterThan(0);
      expect({ inconsistent: total.inconsistent, recorded: total.recorded, staleReads: reads.stale }).toEqual({ inconsistent: 0, recorded: 0, staleReads: 0 });
    });
  });
}
