import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeIntents, writeThroughFailures } from '../../src/db/schema';
import { ABANDONED_ERROR } from '../../src/failures/abandoned-writes';
import type { RepositoryHooks } from '../../src/writethrough/repository';
import { createTestCore, type TestCore } from '../helpers/core';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * `dying` stands for a process killed between its COMMIT and its cache write: its
 * afterCommit hook never returns, so the write commits and the cache is never told.
 * `survivor` is another instance on the same database and keys, sweeping with a short
 * grace and repairing.
 */
const GRACE_MS = 300;
let redisServer: PrivateRedis;
const hooks: RepositoryHooks = {};
let dying: TestCore;
let survivor: TestCore;

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  dying = await createTestCore({ redisUrl: redisServer.url, hooks, poolSize: 4 });
  survivor = await createTestCore({
    redisUrl: redisServer.url,
    database: dying.database,
    keyPrefix: dying.settings.keyPrefix,
    intents: { graceMs: GRACE_MS },
    sweepIntents: false, // each test sweeps when it wants to
    repairs: true,
    pollFeed: true,
  });
});
afterAll(async () => {
  await survivor?.close();
  await dying?.close();
  await redisServer?.kill();
});
beforeEach(async () => {
  delete hooks.afterCommit;
  await survivor.db.delete(writeIntents);
});

let seq = 0;
const newUser = () => ({ name: 'Abandoned', email: `ab${++seq}-${Date.now()}@example.com` });
const cachedVersion = async (id: number) => {
  const raw = await survivor.redis.get(survivor.core.users.cacheLayout.key(id));
  return raw === null ? null : (JSON.parse(raw) as { v: number }).v;
};
const failuresOf = (id: number) => survivor.db.select().from(writeThroughFailures).where(eq(writeThroughFailures.entityId, id));
/** Makes every intent look older than the grace, instead of waiting for it. */
const age = () => survivor.db.update(writeIntents).set({ writtenAt: sql`NOW(3) - INTERVAL 1 MINUTE` });

/** An update that commits and then never writes the cache, as if its process died there. */
async function updateAndDie(id: number, name: string): Promise<void> {
  let committed!: () => void;
  const reached = new Promise<void>((resolve) => (committed = resolve));
  hooks.afterCommit = () => {
    committed();
    return new Promise(() => {}); // the process is gone: nothing after this runs
  };
  void dying.core.users.update(id, { name });
  await reached;
  delete hooks.afterCommit;
}

describe('the sweep of abandoned write intents', () => {
  it('reports a key its dead writer left behind, and the repair brings it to what MySQL committed', async () => {
    const user = await dying.core.users.create(newUser());
    await updateAndDie(user.id, 'Committed, never cached');
    expect(await cachedVersion(user.id)).toBe(1); // stale: MySQL holds version 2
    await age();
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 2, stale: 1 });
    expect(await failuresOf(user.id)).toMatchObject([{ operation: 'update', version: 2, error: ABANDONED_ERROR }]);
    await pollUntil('the key repaired', async () => (await cachedVersion(user.id)) === 2);
    expect((await survivor.core.users.load([user.id]))[0]).toMatchObject({ name: 'Committed, never cached', version: 2 });
    expect(await survivor.db.select().from(writeIntents)).toEqual([]);
  });

  it('serves the committed row, not the stale one, from the moment it reports the key', async () => {
    const user = await dying.core.users.create(newUser());
    await updateAndDie(user.id, 'Read from MySQL');
    await age();
    await survivor.core.abandonedWrites!.sweepOnce();
    // Suspect at once on the instance that swept: its read goes past the stale key.
    expect((await survivor.core.users.load([user.id]))[0]?.name).toBe('Read from MySQL');
  });

  it('deletes the intents of writes that reached the cache, and reports nothing', async () => {
    const user = await dying.core.users.create(newUser());
    await dying.core.users.update(user.id, { name: 'Cached fine' });
    await age();
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 2, stale: 0 });
    expect(await failuresOf(user.id)).toEqual([]);
  });

  it('takes an absent key for fine: the next read fills it from MySQL', async () => {
    const user = await dying.core.users.create(newUser());
    await updateAndDie(user.id, 'Never cached, key gone');
    await survivor.redis.del(survivor.core.users.cacheLayout.key(user.id));
    await age();
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 2, stale: 0 });
  });

  it('reports a delete whose tombstone never landed, so the deleted row stops being served', async () => {
    const user = await dying.core.users.create(newUser());
    let committed!: () => void;
    const reached = new Promise<void>((resolve) => (committed = resolve));
    hooks.afterCommit = () => {
      committed();
      return new Promise(() => {});
    };
    void dying.core.users.delete(user.id);
    await reached;
    await age();
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toMatchObject({ stale: 1 });
    expect((await survivor.core.users.load([user.id]))[0]).toBeNull();
  });

  it('reports a key still suspect on its instance once every earlier failure of it is repaired', async () => {
    const user = await dying.core.users.create(newUser());
    // An earlier failure, repaired: the key stays suspect until a read sees its floor reached.
    const earlier = { entity: 'user', entityId: user.id, operation: 'update' as const, version: 1, error: 'timeout', occurredAt: new Date(), instance: 'x', repairedAt: null, repairedBy: null };
    survivor.core.suspects.apply({ ...earlier, id: '1', failureId: 'earlier', kind: 'failed' });
    survivor.core.suspects.apply({ ...earlier, id: '2', failureId: 'earlier', kind: 'repaired' });
    expect(survivor.core.suspects.has('user', user.id)).toBe(true);
    await updateAndDie(user.id, 'Committed after the repair');
    await age();
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 2, stale: 1 });
  });

  it('leaves intents younger than the grace alone', async () => {
    const user = await dying.core.users.create(newUser());
    await updateAndDie(user.id, 'Too recent to judge');
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 0, stale: 0 });
    expect(await survivor.db.select().from(writeIntents)).toHaveLength(2);
  });

  it('keeps the intents for a later sweep while the cache cannot be read', async () => {
    const user = await dying.core.users.create(newUser());
    await updateAndDie(user.id, 'Swept once Redis is back');
    await age();
    await redisServer.pause();
    try {
      await expect(survivor.core.abandonedWrites!.sweepOnce()).rejects.toThrow();
    } finally {
      await redisServer.resume();
    }
    expect(await survivor.db.select().from(writeIntents)).toHaveLength(2);
    expect(await survivor.core.abandonedWrites!.sweepOnce()).toEqual({ swept: 2, stale: 1 });
  });
});
