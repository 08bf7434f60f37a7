import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { writeIntents } from '../../src/writethrough/tables';
import { createTestCore, type TestCore, type TestCoreOptions } from '../helpers/core';
import { createTestDatabase, REDIS_URL, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * Three instances on one database and one Redis: A writes, B reads from Redis, C is cut
 * off from Redis (through a proxy) and so reads every row past the cache, from MySQL.
 * C sees A's committed version before A has settled it: B may still hold the one
 * before in Redis. A client that reads C, then B, must never see time go back, so C
 * holds its answer until A's write has settled.
 */
const LEASE_MS = 2_000;
/** Long enough to tell a read held back from one answered at once, whatever the host's load. */
const HELD_MS = 1_000;

let database: TestDatabase;
let proxyOfA: TcpProxy;
let proxyOfC: TcpProxy;
const opened: TestCore[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const { hostname, port } = new URL(REDIS_URL);
  [proxyOfA, proxyOfC] = await Promise.all([startTcpProxy({ host: hostname, port: Number(port) }), startTcpProxy({ host: hostname, port: Number(port) })]);
});
afterEach(async () => {
  await Promise.all([proxyOfA.restore(), proxyOfC.restore()]);
  while (opened.length > 0) await opened.pop()!.close();
  const c = await mysql.createConnection(database.url);
  await c.query('DELETE FROM read_leases').finally(() => c.end());
});
afterAll(async () => {
  await Promise.all([proxyOfA.close(), proxyOfC.close()]);
  await database.drop();
});

/** A gate the writer's afterCommit hook waits at, for one user id. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let held: number | undefined;
  return {
    hold: (id: number) => (held = id),
    open,
    hooks: { afterCommit: async ({ id }: { id: number }) => (id === held ? opened : undefined) },
  };
}

async function trio(options: { readLeaseMs?: number; intents?: TestCoreOptions['intents']; hooks?: TestCoreOptions['hooks'] } = {}) {
  const keyPrefix = testKeyPrefix();
  const lease = options.readLeaseMs === 0 ? {} : { readLeaseMs: options.readLeaseMs ?? LEASE_MS };
  const common = { database, pollFeed: true, keyPrefix, commandTimeoutMs: 200, feedPollMs: 50, settings: { writeRetries: 0 }, ...lease, ...(options.intents ? { intents: options.intents } : {}) };
  const start = async (instanceId: string, extra: TestCoreOptions) => {
    const t = await createTestCore({ ...common, instanceId, ...extra });
    opened.push(t);
    return t;
  };
  const a = await start('A', { redisUrl: `redis://127.0.0.1:${proxyOfA.port}`, ...(options.hooks ? { hooks: options.hooks } : {}) });
  const b = await start('B', {});
  const c = await start('C', { redisUrl: `redis://127.0.0.1:${proxyOfC.port}` });
  return { a, b, c };
}

/** A user at version 1, cached (B reads it from Redis), with C cut off from Redis. */
async function cachedUser({ a, b }: { a: TestCore; b: TestCore }) {
  const user = await a.core.users.create({ name: 'Ada', email: `ada-${Math.random()}@example.com`, bio: null });
  expect((await b.core.users.load([user.id]))[0]?.version).toBe(1);
  await proxyOfC.cut();
  return user;
}

/** 'answered' if the promise settles within HELD_MS, else 'held'. */
const within = (p: Promise<unknown>) => Promise.race([p.then(() => 'answered' as const), sleep(HELD_MS).then(() => 'held' as const)]);

const intentsOf = (t: TestCore, id: number) => t.db.select().from(writeIntents).then((rows) => rows.filter((r) => r.entityId === id));

describe('a read past the cache', () => {
  it("holds a version whose writer has not yet written the cache, so a read on B afterwards cannot go back to B's cached one", async () => {
    const writer = gate();
    const { a, b, c } = await trio({ hooks: writer.hooks });
    const user = await cachedUser({ a, b });
    writer.hold(user.id);
    const update = a.core.users.update(user.id, { name: 'Ada Lovelace' });
    await pollUntil('the update to commit', async () => (await intentsOf(a, user.id)).some((i) => i.version === 2));
    const read = c.core.users.load([user.id]);
    // C has read version 2 from MySQL, but B's cache still says 1: C must not answer yet.
    expect(await within(read)).toBe('held');
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(1);
    writer.open();
    await update;
    await expect(read).resolves.toMatchObject([{ version: 2, name: 'Ada Lovelace' }]);
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(2);
  });

  it('holds a version whose cache write failed until the failure has passed the fence, and B then reads it from MySQL', async () => {
    const { a, b, c } = await trio();
    const user = await cachedUser({ a, b });
    await proxyOfA.cut();
    const order: string[] = [];
    const update = a.core.users.update(user.id, { name: 'Ada Lovelace' }).then(() => order.push('acknowledged'));
    await pollUntil('the update to commit', async () => (await intentsOf(a, user.id)).some((i) => i.version === 2));
    const read = c.core.users.load([user.id]).then((rows) => (order.push('read'), rows));
    await Promise.all([update, read]);
    expect(order).toEqual(['acknowledged', 'read']);
    expect((await read)[0]?.version).toBe(2);
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(2);
  });

  it('holds a row seen deleted until the delete has settled', async () => {
    const writer = gate();
    const { a, b, c } = await trio({ hooks: writer.hooks });
    const user = await cachedUser({ a, b });
    writer.hold(user.id);
    const deleted = a.core.users.delete(user.id);
    await pollUntil('the delete to commit', async () => (await intentsOf(a, user.id)).some((i) => i.operation === 'delete'));
    const read = c.core.users.load([user.id]);
    expect(await within(read)).toBe('held');
    writer.open();
    expect(await deleted).toBe(true);
    await expect(read).resolves.toEqual([null]);
    expect(await b.core.users.load([user.id])).toEqual([null]);
  });

  it('answers at once for rows whose writes have settled: a settled write leaves no intent behind', async () => {
    const { a, b, c } = await trio();
    const user = await cachedUser({ a, b });
    await a.core.users.update(user.id, { name: 'Ada Lovelace' });
    await pollUntil('the intents to go', async () => (await intentsOf(a, user.id)).length === 0);
    expect(await within(c.core.users.load([user.id]))).toBe('answered');
  });

  it('holds a version whose writer died before its cache write for at most the intent grace', async () => {
    const { a, b, c } = await trio({ intents: { graceMs: 1_500 } });
    const user = await cachedUser({ a, b });
    // What a writer killed after COMMIT leaves: the row at version 2, its intent, a cache at 1.
    await a.pool.query('UPDATE users SET name = ?, version = 2 WHERE id = ?', ['Ada Lovelace', user.id]);
    await a.db.insert(writeIntents).values({ entity: 'user', entityId: user.id, operation: 'update', version: 2 });
    const started = performance.now();
    await expect(c.core.users.load([user.id])).resolves.toMatchObject([{ version: 2 }]);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1_500);
    expect(waited).toBeLessThan(1_500 + 2_000);
  });

  it('without a read lease (READ_LEASE_MS=0) answers at once, and B then answers the version before: the gap this closes', async () => {
    const writer = gate();
    const { a, b, c } = await trio({ readLeaseMs: 0, hooks: writer.hooks });
    const user = await cachedUser({ a, b });
    writer.hold(user.id);
    const update = a.core.users.update(user.id, { name: 'Ada Lovelace' });
    await pollUntil('the update to commit', async () => (await intentsOf(a, user.id)).some((i) => i.version === 2));
    await expect(c.core.users.load([user.id])).resolves.toMatchObject([{ version: 2 }]);
    expect((await b.core.users.load([user.id]))[0]?.version).toBe(1);
    writer.open();
    await update;
  });
});
