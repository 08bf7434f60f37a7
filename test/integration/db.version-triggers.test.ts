import { eq, getTableName } from 'drizzle-orm';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/migrate';
import { users } from '../../src/db/schema';
import { ensureVersionTriggers, VERSION_TRIGGER_BODIES } from '../../src/db/version-triggers';
import { entities, LIST_TRIGGERS, VERSIONED_TABLES } from '../../src/entities';
import { ConflictError } from '../../src/errors';
import { MARIADB_BINARIES, startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';
import { createTestCore, type TestCore } from '../helpers/core';

let t: TestCore;
beforeAll(async () => {
  t = await createTestCore();
});
afterAll(async () => {
  await t?.close();
});

interface TriggerRow {
  name: string;
  target: string;
  event: string;
  timing: string;
  body: string;
  created: Date;
}

/** The triggers of the test's database, as information_schema has them. */
async function triggers(): Promise<TriggerRow[]> {
  const [rows] = await t.pool.query(
    `SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS target, EVENT_MANIPULATION AS event, ACTION_TIMING AS timing,
            ACTION_STATEMENT AS body, CREATED AS created
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME`,
  );
  return rows as TriggerRow[];
}

const versionOf = async (id: number) => (await t.db.select({ version: users.version }).from(users).where(eq(users.id, id)))[0]?.version;
const newUser = async () => (await t.core.users.create({ name: 'Versioned', email: `vt-${Date.now()}-${Math.random()}@example.com`, bio: null })).id;

describe('version triggers', () => {
  it('gives a row inserted by plain SQL version 1, whatever version it names', async () => {
    const [header] = (await t.pool.query('INSERT INTO users (name, email, version) VALUES (?, ?, 42)', ['Plain', `plain-${Date.now()}@example.com`])) as unknown as [
      { insertId: number },
    ];
    expect(await versionOf(header.insertId)).toBe(1);
  });

  it('bumps the version of a row updated by plain SQL that does not touch it', async () => {
    const id = await newUser();
    await t.pool.query("UPDATE users SET name = 'Behind the API' WHERE id = ?", [id]);
    expect(await versionOf(id)).toBe(2);
    // Even one that changes nothing: MySQL matched the row, so it is a write.
    await t.pool.query("UPDATE users SET name = 'Behind the API' WHERE id = ?", [id]);
    expect(await versionOf(id)).toBe(3);
    // Naming its current version (or an older one) bumps it all the same.
    await t.pool.query('UPDATE users SET version = 1 WHERE id = ?', [id]);
    expect(await versionOf(id)).toBe(4);
    // One that moves it forward keeps what it set.
    await t.pool.query('UPDATE users SET version = 10 WHERE id = ?', [id]);
    expect(await versionOf(id)).toBe(10);
  });

  it('bumps an API update once, not twice', async () => {
    const id = await newUser();
    expect(await versionOf(id)).toBe(1);
    await expect(t.core.users.update(id, { name: 'Once' })).resolves.toMatchObject({ name: 'Once', version: 2 });
    expect(await versionOf(id)).toBe(2);
    await expect(t.core.users.update(id, { name: 'Twice' })).resolves.toMatchObject({ version: 3 });
    expect(await versionOf(id)).toBe(3);
    expect(await t.core.users.load([id])).toMatchObject([{ name: 'Twice', version: 3 }]);
  });

  it('keeps expectedVersion working: a stale expectation is refused, a current one succeeds', async () => {
    const id = await newUser();
    await t.pool.query("UPDATE users SET bio = 'changed behind the API' WHERE id = ?", [id]);
    // The client read version 1; the row has moved on to 2 without the API.
    const refused = t.core.users.update(id, { name: 'Stale' }, { expectedVersion: 1 });
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toMatchObject({ details: { expectedVersion: 1, actualVersion: 2 } });
    expect(await t.db.select({ name: users.name, version: users.version }).from(users).where(eq(users.id, id))).toEqual([{ name: 'Versioned', version: 2 }]);
    await expect(t.core.users.update(id, { name: 'Current' }, { expectedVersion: 2 })).resolves.toMatchObject({ name: 'Current', version: 3 });
    expect(await versionOf(id)).toBe(3);
  });

  it('puts both triggers on every registered table', async () => {
    const tables = Object.values(entities).map((definition) => getTableName(definition.table));
    expect(VERSIONED_TABLES).toEqual(tables);
    const expected = tables.flatMap((table) => [
      { name: `${table}_version_insert`, target: table, event: 'INSERT', timing: 'BEFORE', body: VERSION_TRIGGER_BODIES.INSERT },
      { name: `${table}_version_update`, target: table, event: 'UPDATE', timing: 'BEFORE', body: VERSION_TRIGGER_BODIES.UPDATE },
    ]);
    const found = (await triggers()).map(({ created: _, ...rest }) => rest);
    expect(found).toEqual(expect.arrayContaining(expected));
    // The rest are the association lists' (lists.writethrough.test.ts), each as worded.
    const lists = LIST_TRIGGERS.map((l) => ({ name: l.name, target: l.table, event: l.event, timing: 'BEFORE', body: l.body }));
    expect(found).toEqual(expect.arrayContaining(lists));
    expect(found).toHaveLength(expected.length + lists.length);
  });

  it('is idempotent: migrating again changes nothing', async () => {
    const before = await triggers();
    await migrateDatabase(t.database.url, { versionedTables: VERSIONED_TABLES, triggers: LIST_TRIGGERS });
    await ensureVersionTriggers(t.db, VERSIONED_TABLES);
    // Not dropped and made again: each keeps the moment it was created.
    expect(await triggers()).toEqual(before);
  });

  it('replaces a trigger whose body differs', async () => {
    const id = await newUser();
    await t.pool.query('CREATE OR REPLACE TRIGGER users_version_update BEFORE UPDATE ON users FOR EACH ROW SET NEW.version = OLD.version');
    await t.pool.query("UPDATE users SET name = 'Unversioned' WHERE id = ?", [id]);
    expect(await versionOf(id)).toBe(1); // the wrong trigger is the one that runs
    await ensureVersionTriggers(t.db, VERSIONED_TABLES);
    expect((await triggers()).find((r) => r.name === 'users_version_update')).toMatchObject({ target: 'users', body: VERSION_TRIGGER_BODIES.UPDATE });
    await t.pool.query("UPDATE users SET name = 'Versioned again' WHERE id = ?", [id]);
    expect(await versionOf(id)).toBe(2);
  });

  it('makes a missing trigger again, and one of its name that sits on another table', async () => {
    await t.pool.query('DROP TRIGGER products_version_insert');
    await t.pool.query('DROP TRIGGER users_version_insert');
    await t.pool.query('CREATE TRIGGER users_version_insert BEFORE INSERT ON reviews FOR EACH ROW SET NEW.version = NEW.version');
    await ensureVersionTriggers(t.db, VERSIONED_TABLES);
    const found = await triggers();
    expect(found.find((r) => r.name === 'products_version_insert')).toMatchObject({ target: 'products', event: 'INSERT', body: VERSION_TRIGGER_BODIES.INSERT });
    expect(found.find((r) => r.name === 'users_version_insert')).toMatchObject({ target: 'users', event: 'INSERT', body: VERSION_TRIGGER_BODIES.INSERT });
    expect(found).toHaveLength(VERSIONED_TABLES.length * 2 + LIST_TRIGGERS.length);
  });

  it('refuses a table name that is not an identifier, before running anything', async () => {
    const before = await triggers();
    await expect(ensureVersionTriggers(t.db, ['users', 'users` FOR EACH ROW SET @x = 1; --'])).rejects.toThrow(/not a table name/);
    await expect(ensureVersionTriggers(t.db, [''])).rejects.toThrow(/not a table name/);
    expect(await triggers()).toEqual(before);
  });

  describe.skipIf(!MARIADB_BINARIES)('on a server with the binary log on, migrated by a user who is not root', () => {
    let server: BinlogMariadb;
    let root: mysql.Connection;
    const database = 'tl_triggers';
    const account = "'tl_migrator'@'127.0.0.1'";
    const userUrl = () => `mysql://tl_migrator:migrates@127.0.0.1:${server.port}/${database}`;
    const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as Error & { cause?: unknown });
    const triggerCount = async () => {
      const [rows] = (await root.query('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [database])) as unknown as [Array<{ n: number }>];
      return Number(rows[0]!.n);
    };
    const errnoOf = (err: unknown) => {
      for (let e = err as { errno?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (typeof e.errno === 'number') return e.errno;
      return undefined;
    };

    beforeAll(async () => {
      server = await startBinlogMariadb();
      root = await mysql.createConnection(server.serverUrl);
      // The tables, migrated by root, without their triggers yet: an upgrade from before them.
      await migrateDatabase(server.url(database));
      await root.query(`CREATE USER ${account} IDENTIFIED BY 'migrates'`);
      // All a migration needs, but TRIGGER.
      await root.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES ON \`${database}\`.* TO ${account}`);
    }, 60_000);
    afterAll(async () => {
      await root?.end();
      await server?.dispose();
    });

    it('says to grant SUPER or set log_bin_trust_function_creators, keeping MySQL\'s error as the cause', async () => {
      const err = await errorOf(migrateDatabase(userUrl(), { versionedTables: VERSIONED_TABLES }));
      expect(err?.message).toMatch(/^Cannot create the trigger users_version_insert on tl_triggers\.users/);
      expect(err?.message).toContain('the server has the binary log on');
      expect(err?.message).toContain("GRANT SUPER ON *.* TO 'tl_migrator'@'127.0.0.1'");
      expect(err?.message).toContain('SET GLOBAL log_bin_trust_function_creators = 1');
      expect(errnoOf(err?.cause)).toBe(1419);
    });

    it('then, with log_bin_trust_function_creators set, says to grant TRIGGER; granted, it migrates', async () => {
      await root.query('SET GLOBAL log_bin_trust_function_creators = 1');
      const err = await errorOf(migrateDatabase(userUrl(), { versionedTables: VERSIONED_TABLES }));
      expect(err?.message).toContain("'tl_migrator'@'127.0.0.1' may not create triggers here");
      expect(err?.message).toContain("GRANT TRIGGER ON `tl_triggers`.* TO 'tl_migrator'@'127.0.0.1'");
      expect(errnoOf(err?.cause)).toBe(1142);

      await root.query(`GRANT TRIGGER ON \`${database}\`.* TO ${account}`);
      await migrateDatabase(userUrl(), { versionedTables: VERSIONED_TABLES });
      expect(await triggerCount()).toBe(VERSIONED_TABLES.length * 2);
    });

    it('or, with SUPER instead of log_bin_trust_function_creators, migrates', async () => {
      await root.query('SET GLOBAL log_bin_trust_function_creators = 0');
      await root.query(`DROP TRIGGER \`${database}\`.users_version_update`);
      await expect(migrateDatabase(userUrl(), { versionedTables: VERSIONED_TABLES })).rejects.toThrow(/binary log on/);
      await root.query(`GRANT SUPER ON *.* TO ${account}`);
      await migrateDatabase(userUrl(), { versionedTables: VERSIONED_TABLES });
      expect(await triggerCount()).toBe(VERSIONED_TABLES.length * 2);
    });
  });
});
