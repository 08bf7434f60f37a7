import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import { startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';
import { createTestCore, silentLogger, type TestCore } from '../helpers/core';
import { createTestDatabase, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';

/** A stored position the server has purged: the follower says so and re-syncs from MySQL. */
let server: BinlogMariadb;
let database: TestDatabase;
let first: TestCore;
let sql: mysql.Connection;
const keyPrefix = testKeyPrefix();

beforeAll(async () => {
  server = await startBinlogMariadb();
  database = await createTestDatabase(server.serverUrl);
  first = await createTestCore({ database, keyPrefix, instanceId: 'first', changes: {} });
  sql = await mysql.createConnection(database.url);
}, 60_000);
afterAll(async () => {
  await sql?.end();
  await first?.close();
  await database?.drop();
  await server?.dispose();
});

const envelope = async (entity: string, id: number) => {
  const raw = await first.redis.get(`${keyPrefix}${entity}:${id}`);
  return raw === null ? undefined : decodeEnvelope(raw);
};

describe('a purged position', () => {
  it('is reported loudly, and every followed table is re-synced through the compare-and-set', async () => {
    await pollUntil('following', () => first.core.follower!.status().state === 'following');
    const kept = await first.core.users.create({ name: 'Kept', email: 'kept@example.com', bio: null });
    const gone = await first.core.users.create({ name: 'Gone', email: 'gone@example.com', bio: null });
    const product = await first.core.products.create({ sku: 'rs-1', name: 'Widget', priceCents: 100, stock: 5 });
    await pollUntil('the creates applied and stored', async () => {
      const [[r]] = (await sql.query('SELECT gtid FROM change_follower_checkpoints')) as unknown as [[{ gtid: string }]];
      const [[{ pos }]] = (await sql.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
      return Number(pos.split('-').at(-1)) - Number(r.gtid.split('-').at(-1)) <= 1;
    });
    await first.core.follower!.stop();

    // Behind the API, while nobody follows; then the binlog that held it is purged.
    await sql.query("UPDATE users SET name = 'Renamed behind' WHERE id = ?", [kept.id]);
    await sql.query('DELETE FROM users WHERE id = ?', [gone.id]);
    await sql.query('UPDATE products SET stock = 4 WHERE id = ?', [product.id]);
    await sql.query('FLUSH BINARY LOGS');
    // MariaDB purges a file only once its binlog checkpoint has moved past it, which it does in the background.
    await pollUntil('the old binlog purged', async () => {
      const [logs] = (await sql.query('SHOW BINARY LOGS')) as unknown as [Array<{ Log_name: string }>];
      await sql.query(`PURGE BINARY LOGS TO '${logs.at(-1)!.Log_name}'`);
      const [left] = (await sql.query('SHOW BINARY LOGS')) as unknown as [unknown[]];
      return left.length === 1;
    });
    expect(await envelope('user', kept.id)).toMatchObject({ version: 1 }); // stale, as the test needs

    const errors: string[] = [];
    let resyncs = 0;
    const second = await createTestCore({
      database,
      keyPrefix,
      instanceId: 'second',
      logger: { ...silentLogger, error: (_o, m) => errors.push(m) },
      changes: { metrics: { changesApplied() {}, lagSeconds() {}, position() {}, resync: () => void resyncs++ } },
    });
    try {
      // The server refuses the position once the dump has started: the follower is briefly 'following' before it knows.
      await pollUntil('the re-sync', () => resyncs === 1, 20_000);
      await pollUntil('following again', () => second.core.follower!.status().state === 'following', 20_000);
      expect(errors).toEqual([expect.stringContaining('has been purged')]);
      expect(resyncs).toBe(1);
      expect(await envelope('user', kept.id)).toMatchObject({ kind: 'row', version: 2, row: expect.objectContaining({ name: 'Renamed behind' }) });
      expect(await envelope('user', gone.id)).toMatchObject({ kind: 'deleted' });
      expect(await envelope('product', product.id)).toMatchObject({ kind: 'row', version: 2, row: expect.objectContaining({ stock: 4 }) });
      // And it follows from there.
      await sql.query("UPDATE users SET bio = 'after' WHERE id = ?", [kept.id]);
      await pollUntil('the next change', async () => (await envelope('user', kept.id))?.version === 3);
    } finally {
      await second.close();
    }
  });
});
