import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import { createLimitedUser, startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';
import { createTestCore, silentLogger, type TestCore } from '../helpers/core';
import { createTestDatabase, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';

/** The follower across instances, and on servers it cannot follow. */
let server: BinlogMariadb;
beforeAll(async () => {
  server = await startBinlogMariadb();
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

const sequence = (gtid: string) => Number(gtid.split('-').at(-1));

async function cachedVersion(t: TestCore, entity: string, id: number): Promise<number | undefined> {
  const raw = await t.redis.get(`${t.settings.keyPrefix}${entity}:${id}`);
  return raw === null ? undefined : decodeEnvelope(raw)?.version;
}

describe('two instances', () => {
  let database: TestDatabase;
  let a: TestCore;
  let b: TestCore;
  let sql: mysql.Connection;
  const after: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    database = await createTestDatabase(server.serverUrl);
    const keyPrefix = testKeyPrefix();
    a = await createTestCore({ database, keyPrefix, instanceId: 'a', changes: {} });
    b = await createTestCore({ database, keyPrefix, instanceId: 'b', changes: {} });
    sql = await mysql.createConnection(database.url);
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    for (const close of after) await close();
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('lets exactly one follow while the other stands by', async () => {
    await pollUntil('one following, one standing by', () => {
      const states = [a.core.follower!.status().state, b.core.follower!.status().state].sort();
      return states[0] === 'following' && states[1] === 'standby';
    });
    // Still so a few lease polls later: the standby does not take it while it is held.
    await new Promise((r) => setTimeout(r, 500));
    expect([a.core.follower!.status().state, b.core.follower!.status().state].sort()).toEqual(['following', 'standby']);
  });

  it('hands over when the follower stops, and the other resumes from the stored position without missing a change', async () => {
    const leader = a.core.follower!.status().state === 'following' ? a : b;
    const other = leader === a ? b : a;
    const [made] = (await sql.query("INSERT INTO users (name, email) VALUES ('Handed', 'handed@example.com')")) as unknown as [{ insertId: number }];
    await pollUntil('the insert applied', async () => (await cachedVersion(other, 'user', made.insertId)) === 1);
    await leader.core.follower!.stop();
    // Changed while nobody follows: only the stored position can bring it to the cache.
    await sql.query("UPDATE users SET name = 'While nobody followed' WHERE id = ?", [made.insertId]);
    const [[{ written }]] = (await sql.query('SELECT @@last_gtid AS written')) as unknown as [[{ written: string }]];
    await pollUntil('the other to take over', () => other.core.follower!.status().state === 'following', 5_000);
    await pollUntil('the missed update in the cache', async () => (await cachedVersion(other, 'user', made.insertId)) === 2);
    const [row] = await other.core.users.load([made.insertId]);
    expect(row).toMatchObject({ name: 'While nobody followed', version: 2 });
    await pollUntil('the new follower to store a position past the update', async () => {
      const [[r]] = (await sql.query('SELECT gtid, instance FROM change_follower_checkpoints')) as unknown as [[{ gtid: string; instance: string }]];
      return sequence(r.gtid) >= sequence(written) && r.instance === (other === a ? 'a' : 'b');
    });
  });

  it('takes over within seconds when the follower’s MySQL session dies', async () => {
    const leader = a.core.follower!.status().state === 'following' ? a : b;
    // A third instance, to stand by in place of the one stopped above.
    const c = await createTestCore({ database, keyPrefix: a.settings.keyPrefix, instanceId: 'c', changes: {} });
    after.push(() => c.close());
    await pollUntil('the third to stand by', () => c.core.follower!.status().state === 'standby');
    // Kill the leader's lease session server-side, as MySQL sees a process that died.
    const [sessions] = (await sql.query(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID = (SELECT IS_USED_LOCK(CONCAT('throughline_follower:', DATABASE())))",
    )) as unknown as [Array<{ id: number }>];
    expect(sessions).toHaveLength(1);
    await sql.query(`KILL ${sessions[0]!.id}`);
    await pollUntil('the follower to notice and start again', () => leader.core.follower!.status().state !== 'following', 5_000);
    await pollUntil('someone to follow again', () => [leader, c].some((t) => t.core.follower!.status().state === 'following'), 10_000);
    const [made] = (await sql.query("INSERT INTO users (name, email) VALUES ('After kill', 'after-kill@example.com')")) as unknown as [{ insertId: number }];
    await pollUntil('the insert applied', async () => (await cachedVersion(c, 'user', made.insertId)) === 1);
  });
});

describe('a server it cannot follow', () => {
  /** A core with a follower on a private server started with `options`, once the follower is off; all removed after. */
  async function offOn(options: Parameters<typeof startBinlogMariadb>[0], check: (t: TestCore) => Promise<void>): Promise<void> {
    const other = await startBinlogMariadb(options);
    const database = await createTestDatabase(other.serverUrl);
    const t = await createTestCore({ database, changes: {} });
    try {
      await pollUntil('the follower off', () => t.core.follower!.status().state === 'off');
      await check(t);
    } finally {
      await t.close();
      await database.drop();
      await other.dispose();
    }
  }

  it('starts with the binlog off, says what to turn on, and serves reads and writes', () =>
    offOn({ binlog: false }, async (t) => {
      expect(t.core.follower!.status().problems).toEqual([expect.stringContaining('--log-bin')]);
      const user = await t.core.users.create({ name: 'Still', email: 'still@example.com', bio: null });
      expect(await t.core.users.update(user.id, { name: 'Served' })).toMatchObject({ version: 2 });
      expect((await t.core.users.load([user.id]))[0]).toMatchObject({ name: 'Served' });
    }), 60_000);

  it('says which setting to change for a statement-based binlog', () =>
    offOn({ format: 'STATEMENT', rowImage: 'MINIMAL' }, async (t) => {
      expect(t.core.follower!.status().problems).toEqual([expect.stringContaining('binlog_format = ROW'), expect.stringContaining('binlog_row_image = FULL')]);
    }), 60_000);

  it('names the grant when its user may not read the binlog, and warns once', async () => {
    const database = await createTestDatabase(server.serverUrl);
    const url = await createLimitedUser(server, database.name, { replication: false });
    const warnings: string[] = [];
    const t = await createTestCore({ database, changes: { url }, logger: { ...silentLogger, warn: (_o, m) => warnings.push(m) } });
    try {
      await pollUntil('the follower off', () => t.core.follower!.status().state === 'off');
      expect(t.core.follower!.status().problems).toEqual([expect.stringContaining('GRANT REPLICATION SLAVE, REPLICATION CLIENT')]);
      // Long enough for it to check the server again (every ten lease polls of 100 ms): no second warning.
      await new Promise((r) => setTimeout(r, 1_200));
      expect(warnings.filter((w) => w.includes('change follower is off'))).toHaveLength(1);
    } finally {
      await t.close();
      await database.drop();
    }
  });
});
