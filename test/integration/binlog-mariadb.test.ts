import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimitedUser, MARIADB_BINARIES, startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';

/**
 * test/helpers/binlog-mariadb.ts: a private MariaDB with the binary log the change
 * follower (src/changes/) reads. Three servers in all, each private to this file.
 */
const SKIP = MARIADB_BINARIES ? false : 'mariadbd or mariadb-install-db is not installed: no private MariaDB to test against';
if (SKIP) console.warn(`binlog-mariadb.test.ts skipped: ${SKIP}`);

const DATABASE = 'binlog_helper';

async function ask<T>(url: string, sql: string, options: { connectTimeout?: number; timeout?: number } = {}): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: options.connectTimeout ?? 5_000 });
  try {
    const [rows] = await connection.query({ sql, timeout: options.timeout });
    return rows as T[];
  } finally {
    connection.destroy();
  }
}

const settings = (server: BinlogMariadb) =>
  ask<{ logBin: number; format: string; rowImage: string; rowMetadata: string; serverId: number }>(
    server.url(''),
    'SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS rowImage, @@binlog_row_metadata AS rowMetadata, @@server_id AS serverId',
  ).then(([row]) => row!);

const gtidPos = (server: BinlogMariadb) => ask<{ pos: string }>(server.url(''), 'SELECT @@gtid_binlog_pos AS pos').then(([row]) => row!.pos);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(SKIP)('startBinlogMariadb, with its defaults', () => {
  let server: BinlogMariadb;

  beforeAll(async () => {
    server = await startBinlogMariadb();
    await ask(server.url(''), `CREATE DATABASE ${DATABASE}`);
    await ask(server.url(DATABASE), 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB');
  }, 60_000);

  afterAll(async () => {
    await server?.dispose();
  });

  it('logs whole rows, with their metadata', async () => {
    expect(await settings(server)).toEqual({ logBin: 1, format: 'ROW', rowImage: 'FULL', rowMetadata: 'FULL', serverId: 1 });
    expect(server.url('x')).toBe(`mysql://root@127.0.0.1:${server.port}/x`);
    expect(await ask(server.url(''), 'SELECT @@max_connections AS connections')).toEqual([{ connections: 300 }]);
  });

  it('keeps its data and binlog position across a restart, on the same port', { timeout: 60_000 }, async () => {
    await ask(server.url(DATABASE), "INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    const before = await gtidPos(server);
    expect(before).toMatch(/^0-1-\d+$/);
    const oldPid = server.pid;

    await server.restart();

    expect(server.pid).not.toBe(oldPid);
    expect(isAlive(oldPid)).toBe(false);
    expect(await gtidPos(server)).toBe(before);
    expect(await ask(server.url(DATABASE), 'SELECT id, name FROM items ORDER BY id')).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
    // The sequence goes on from where it was, not from 1.
    await ask(server.url(DATABASE), "INSERT INTO items VALUES (3, 'three')");
    const seq = (pos: string) => Number(pos.split('-')[2]);
    expect(seq(await gtidPos(server))).toBe(seq(before) + 1);
  });

  it('stops answering while paused and answers again once resumed', async () => {
    const open = await mysql.createConnection({ uri: server.url(DATABASE), connectTimeout: 5_000 });
    try {
      await server.pause();
      try {
        // An open connection's query, and a new connection's handshake, both go unanswered.
        await expect(open.query({ sql: 'SELECT 1', timeout: 500 })).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
        await expect(ask(server.url(DATABASE), 'SELECT 1', { connectTimeout: 500 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
        expect(isAlive(server.pid)).toBe(true);
      } finally {
        await server.resume();
      }
      expect(await ask(server.url(DATABASE), 'SELECT 1 AS one', { connectTimeout: 5_000 })).toEqual([{ one: 1 }]);
    } finally {
      open.destroy();
    }
  });

  it('makes users with and without the privileges to read the binlog', async () => {
    const follower = await createLimitedUser(server, DATABASE, { replication: true });
    const plain = await createLimitedUser(server, DATABASE, { replication: false });
    expect(follower).toMatch(new RegExp(`^mysql://tl_limited_\\w+:\\w+@127\\.0\\.0\\.1:${server.port}/${DATABASE}$`));

    // Both may use the database's tables.
    for (const url of [follower, plain]) expect(await ask(url, 'SELECT COUNT(*) AS n FROM items')).toEqual([{ n: 3 }]);
    // Only one may ask about the binary log.
    expect((await ask(follower, 'SHOW BINARY LOGS')).length).toBeGreaterThan(0);
    await expect(ask(plain, 'SHOW BINARY LOGS')).rejects.toMatchObject({ code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' });
    const grants = (url: string) => ask<Record<string, string>>(url, 'SHOW GRANTS').then((rows) => rows.flatMap(Object.values).join('\n'));
    expect(await grants(follower)).toMatch(/REPLICATION SLAVE/);
    expect(await grants(plain)).not.toMatch(/REPLICATION|BINLOG/);
  });
});

describe.skipIf(SKIP)('startBinlogMariadb, with options', () => {
  let noBinlog: BinlogMariadb;
  let statement: BinlogMariadb;

  beforeAll(async () => {
    // Side by side, as two test files would start theirs.
    [noBinlog, statement] = await Promise.all([
      startBinlogMariadb({ binlog: false }),
      startBinlogMariadb({ format: 'STATEMENT', rowImage: 'MINIMAL' }),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([noBinlog?.dispose(), statement?.dispose()]);
  });

  it('has no binary log with binlog: false', async () => {
    expect(await settings(noBinlog)).toMatchObject({ logBin: 0 });
  });

  it('logs the format and row image asked for', async () => {
    expect(await settings(statement)).toMatchObject({ logBin: 1, format: 'STATEMENT', rowImage: 'MINIMAL' });
  });

  it('dispose kills its own server, removes its data, and leaves the others running', async () => {
    expect(noBinlog.port).not.toBe(statement.port);
    expect(noBinlog.dir).not.toBe(statement.dir);
    const { pid, dir } = noBinlog;
    expect(isAlive(pid)).toBe(true);

    await noBinlog.dispose();

    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(isAlive(statement.pid)).toBe(true);
    expect(await ask(statement.url(''), 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
