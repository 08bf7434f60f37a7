import { eq } from 'drizzle-orm';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, createPool } from '../../src/db/client';
import { ReadReplicas } from '../../src/db/read-replicas';
import { users } from '../../src/db/schema';
import type { Row } from '../../src/writethrough/repository';
import { createTestCore, StatementLog, type TestCore } from '../helpers/core';
import { createTestDatabase } from '../helpers/database';
import { MARIADB_BINARIES, startReplicatedMysql, type ReplicatedMysql } from '../helpers/mysql-replica';
import { pollUntil } from '../helpers/poll';
import { commandsBetween, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

/**
 * MYSQL_REPLICA_URLS, against a real primary and a real replica: two private `mariadbd`
 * processes this file starts (test/helpers/mysql-replica.ts), the second replicating
 * the first by GTID, and a private `redis-server` it pauses and kills. The core runs
 * on a database of the private primary, with the replica as its one read replica.
 *
 * To see which server answered, the replica is made to lag: its SQL thread is stopped
 * after user `lagging` was created, and then `lagging` is renamed on the primary. A
 * read answered by the replica says "Old name" at version 1; one answered by the
 * primary says "New name" at version 2. Statement counts on each side's pool confirm
 * it. The cache key of `lagging` is deleted, as an expired or evicted key would be:
 * the compare-and-set stops an older version from replacing a newer one, not from
 * filling an empty key, so this is the case where a replica's row would do harm.
 */
const SKIP = MARIADB_BINARIES ? false : 'mariadbd or mariadb-install-db is not installed: no private primary and replica to test against';
if (SKIP) console.warn(`replicas.fallback-reads.test.ts skipped: ${SKIP}`);

const COMMAND_TIMEOUT_MS = 200;

let pair: ReplicatedMysql;
let redisServer: PrivateRedis;
let replicaPool: Pool;
const replicaStatements = new StatementLog();
let t: TestCore;
const warnings: Array<{ msg: string; obj: object }> = [];
let lagging: Row<typeof users>;
let steady: Row<typeof users>;

const key = (id: number) => t.core.users.cacheLayout.key(id);
/** Statements each side has been sent so far (Drizzle's own count, client side). */
const sent = () => ({ primary: t.statements.count, replica: replicaStatements.count });
const nameAndVersion = (row: Row<typeof users> | null) => row && { name: row.name, version: row.version };

describe.skipIf(SKIP)('Read replicas: the reads Redis cannot answer', () => {
  beforeAll(async () => {
    pair = await startReplicatedMysql();
    redisServer = await startPrivateRedis();
    const database = await createTestDatabase(pair.primary.serverUrl);
    await pair.caughtUp(); // the database and its tables exist on the replica too
    replicaPool = createPool({ url: `${pair.replica.serverUrl}${database.name}`, poolSize: 1 });
    const replicas = new ReadReplicas([{ name: 'replica', db: createDatabase(replicaPool, replicaStatements) }]);
    t = await createTestCore({
      database,
      replicas,
      redisUrl: redisServer.url,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      // Opens on the connection's events (a killed Redis); five calls before failures can.
      breaker: { minRequests: 5, errorPercent: 50, resetMs: 60_000 },
      logger: { debug() {}, info() {}, error() {}, warn: (obj: object, msg: string) => warnings.push({ obj, msg }) },
    });

    const stamp = Date.now();
    lagging = await t.core.users.create({ name: 'Old name', email: `lagging-${stamp}@example.com` });
    steady = await t.core.users.create({ name: 'Steady', email: `steady-${stamp}@example.com` });
    await pair.caughtUp();
    await pair.stopApplying();
    await t.core.users.update(lagging.id, { name: 'New name' });
    await t.redis.del(key(lagging.id));
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await replicaPool?.end();
    await redisServer?.kill();
    await pair?.dispose();
  });

  it('has a replica that lags the primary (the premise of what follows)', async () => {
    const onReplica = createDatabase(replicaPool);
    const [replicaRow] = await onReplica.select().from(users).where(eq(users.id, lagging.id));
    const [primaryRow] = await t.db.select().from(users).where(eq(users.id, lagging.id));
    expect(nameAndVersion(replicaRow as Row<typeof users>)).toEqual({ name: 'Old name', version: 1 });
    expect(nameAndVersion(primaryRow as Row<typeof users>)).toEqual({ name: 'New name', version: 2 });
  });

  it('with Redis up, reads a miss from the primary and caches it', async () => {
    const before = sent();
    expect((await t.core.users.load([lagging.id])).map(nameAndVersion)).toEqual([{ name: 'New name', version: 2 }]);
    expect(sent()).toEqual({ primary: before.primary + 1, replica: before.replica });
    expect(JSON.parse((await t.redis.get(key(lagging.id)))!)).toMatchObject({ v: 2, row: { name: 'New name' } });
    await t.redis.del(key(lagging.id)); // a missing key again, for what follows
  });

  it('when a cache read times out, answers from the replica and sends Redis nothing it read there', async () => {
    const commandsBefore = await redisServer.commandCounts();
    const before = sent();
    redisServer.pause(); // SIGSTOP: commands wait in its socket, and run when it resumes
    const rows = await t.core.users.load([lagging.id]);
    redisServer.resume();

    expect(rows.map(nameAndVersion)).toEqual([{ name: 'Old name', version: 1 }]); // the replica's row…
    expect(sent()).toEqual({ primary: before.primary, replica: before.replica + 1 }); // …and not the primary's
    expect(t.core.circuit!.state).toBe('closed'); // a backfill would have been sent: the circuit was not refusing
    // The paused server ran what was sent while it slept: the MGET, and no write.
    const ran = await pollUntil('the resumed Redis to run the MGET', async () => {
      const diff = commandsBetween(commandsBefore, await redisServer.commandCounts());
      return diff.mget ? diff : undefined;
    });
    expect(ran).toEqual({ mget: 1 });
    expect(await t.redis.exists(key(lagging.id))).toBe(0);
  });

  it('with the circuit open (Redis killed), reads the replica; suspect keys still read the primary', async () => {
    await redisServer.kill();
    await pollUntil('the circuit to open', () => t.core.circuit!.state === 'open');

    let before = sent();
    expect((await t.core.users.load([lagging.id, steady.id])).map(nameAndVersion)).toEqual([
      { name: 'Old name', version: 1 },
      { name: 'Steady', version: 1 },
    ]);
    expect(sent()).toEqual({ primary: before.primary, replica: before.replica + 1 });

    // A write while Redis is down: committed, its cache write recorded as failed, its key suspect.
    await t.core.users.update(steady.id, { name: 'Steady, renamed' });
    expect(t.core.suspects.has('user', steady.id)).toBe(true);
    // The replica has not applied it (its SQL thread is stopped), and the writer must
    // read its own write: the suspect key is read from the primary, the other from the replica.
    before = sent();
    expect((await t.core.users.load([lagging.id, steady.id])).map(nameAndVersion)).toEqual([
      { name: 'Old name', version: 1 },
      { name: 'Steady, renamed', version: 2 },
    ]);
    expect(sent()).toEqual({ primary: before.primary + 1, replica: before.replica + 1 });
  });

  it('falls back to the primary when the replica fails, logs it, and rests the replica', async () => {
    await pair.replica.kill();
    const failedBefore = warnings.length;
    let before = sent();
    expect((await t.core.users.load([lagging.id])).map(nameAndVersion)).toEqual([{ name: 'New name', version: 2 }]);
    expect(sent()).toEqual({ primary: before.primary + 1, replica: before.replica + 1 }); // tried, failed, the primary answered
    expect(warnings.slice(failedBefore)).toEqual([
      { msg: 'replica read failed; reading from the primary', obj: expect.objectContaining({ entity: 'user', replica: 'replica' }) },
    ]);

    // While it rests, reads go straight to the primary: no second attempt, no second line.
    before = sent();
    expect((await t.core.users.load([lagging.id])).map(nameAndVersion)).toEqual([{ name: 'New name', version: 2 }]);
    expect(sent()).toEqual({ primary: before.primary + 1, replica: before.replica });
    expect(warnings.length).toBe(failedBefore + 1);
  });
});
