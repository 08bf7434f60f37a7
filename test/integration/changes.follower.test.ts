import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import type { BinlogMariadb } from '../helpers/binlog-mariadb';
import { startFollowingCore, type FollowingCore } from '../helpers/following-core';
import { createTestCore, type TestCore } from '../helpers/core';
import { createTestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';

/**
 * The change follower against a private MariaDB with its binlog on: rows changed
 * behind the API, by plain SQL on a connection of the test's own, reach the cache.
 */
let following: FollowingCore;
let server: BinlogMariadb;
let t: TestCore;
let sql: mysql.Connection;

beforeAll(async () => {
  following = await startFollowingCore();
  ({ server, t, sql } = following);
}, 60_000);

afterAll(async () => {
  await following?.close();
});

const key = (entity: string, id: number) => `${t.settings.keyPrefix}${entity}:${id}`;
const cached = async (entity: string, id: number) => {
  const raw = await t.redis.get(key(entity, id));
  return raw === null ? undefined : decodeEnvelope(raw);
};
/** The API's answer, and how many SQL statements it took. */
const read = async (id: number) => {
  const before = t.statements.count;
  const [row] = await t.core.users.load([id]);
  return { row, sql: t.statements.count - before };
};

describe('the change follower', () => {
  it('caches a row inserted with plain SQL, at version 1, without the API reading MySQL', async () => {
    const [result] = (await sql.query("INSERT INTO users (name, email) VALUES ('Behind', 'behind@example.com')")) as unknown as [{ insertId: number }];
    const id = result.insertId;
    await pollUntil('the insert in the cache', async () => (await cached('user', id))?.kind === 'row');
    expect(await read(id)).toMatchObject({ row: { id, name: 'Behind', email: 'behind@example.com', bio: null, version: 1 }, sql: 0 });
  });

  it('replaces a cached row updated with plain SQL that does not touch version', async () => {
    const user = await t.core.users.create({ name: 'Before', email: 'before@example.com', bio: null });
    expect((await read(user.id)).row).toMatchObject({ name: 'Before', version: 1 });
    await sql.query("UPDATE users SET name = 'After' WHERE id = ?", [user.id]);
    await pollUntil('the update in the cache', async () => (await cached('user', user.id))?.version === 2);
    const answer = await read(user.id);
    expect(answer).toMatchObject({ row: { id: user.id, name: 'After', version: 2 }, sql: 0 });
    // Exactly the row a read from MySQL would give: every field, dates as Dates.
    expect(answer.row).toEqual((await t.core.users.selectByIds([user.id]))[0]);
  });

  it('leaves a tombstone for a row deleted with plain SQL', async () => {
    const user = await t.core.users.create({ name: 'Doomed', email: 'doomed@example.com', bio: 'x' });
    await sql.query('DELETE FROM users WHERE id = ?', [user.id]);
    await pollUntil('the tombstone', async () => (await cached('user', user.id))?.kind === 'deleted');
    expect(await read(user.id)).toEqual({ row: null, sql: 0 });
  });

  it("brings a list changed behind the API to the cache: an order inserted with plain SQL is in its user's cached orders", async () => {
    const user = await t.core.users.create({ name: 'Lister', email: 'lister@example.com', bio: null });
    const product = await t.core.products.create({ sku: 'FOLLOWED-LIST', name: 'Listed', priceCents: 100, stock: 10 });
    const first = await t.core.ordering.place({ userId: user.id, productId: product.id, quantity: 1 });
    const listKey = t.core.lists.userOrders.cacheLayout.key(user.id);
    const cachedIds = async () => {
      const raw = await t.redis.get(listKey);
      return raw === null ? undefined : (JSON.parse(raw) as { row: { ids: number[] } }).row.ids;
    };
    expect(await cachedIds()).toEqual([first.id]);
    const [result] = (await sql.query('INSERT INTO orders (user_id, product_id, quantity, total_cents) VALUES (?, ?, 1, 100)', [user.id, product.id])) as unknown as [
      { insertId: number },
    ];
    await pollUntil('the list in the cache', async () => (await cachedIds())?.[0] === result.insertId);
    const before = t.statements.count;
    expect((await t.core.lists.userOrders.load([user.id]))[0]!.ids).toEqual([result.insertId, first.id]);
    expect(t.statements.count).toBe(before);
    // Deleted behind the API too: the list drops it.
    await sql.query('DELETE FROM orders WHERE id = ?', [result.insertId]);
    await pollUntil('the delete in the list', async () => (await cachedIds())?.[0] === first.id);
  });

  it('counts changes behind the API apart from the API’s own', async () => {
    const before = t.core.follower!.status().applied;
    const user = await t.core.users.update((await t.core.users.create({ name: 'Own', email: 'own@example.com', bio: null })).id, { name: 'Own 2' });
    await sql.query("UPDATE users SET bio = 'outside' WHERE id = ?", [user.id]);
    await pollUntil('both counted', () => {
      const { api, outOfBand } = t.core.follower!.status().applied;
      return api >= before.api + 2 && outOfBand >= before.outOfBand + 1;
    });
    expect((await read(user.id)).row).toMatchObject({ bio: 'outside', version: 3 });
  });

  it('brings to the cache a committed API write whose own cache write never happened', async () => {
    // A writer frozen between COMMIT and its cache write, as a process stalled there would be.
    let frozen = false;
    const database = await createTestDatabase(server.serverUrl);
    const stalled = await createTestCore({
      database,
      changes: {},
      hooks: { afterCommit: () => (frozen ? new Promise<void>(() => {}) : undefined) },
    });
    try {
      await pollUntil('following', () => stalled.core.follower!.status().state === 'following');
      const user = await stalled.core.users.create({ name: 'Stalled', email: 'stalled@example.com', bio: null });
      frozen = true;
      void stalled.core.users.update(user.id, { name: 'Committed, never cached by its writer' });
      await pollUntil('the follower to cache it', async () => {
        const raw = await stalled.redis.get(`${stalled.settings.keyPrefix}user:${user.id}`);
        return raw !== null && decodeEnvelope(raw)?.version === 2;
      });
      expect((await stalled.core.users.load([user.id]))[0]).toMatchObject({ name: 'Committed, never cached by its writer', version: 2 });
    } finally {
      frozen = false;
      await stalled.close();
      await database.drop();
    }
  });

  it('stores a position past every change it applied, and reports itself caught up', async () => {
    const sequence = (gtid: string) => Number(gtid.split('-').at(-1));
    await sql.query("INSERT INTO users (name, email) VALUES ('Last', 'last@example.com')");
    // The GTID of this session's last transaction: the write just made.
    const [[{ written }]] = (await sql.query('SELECT @@last_gtid AS written')) as unknown as [[{ written: string }]];
    const stored = await pollUntil('the stored position to pass the write', async () => {
      const [[row]] = (await sql.query('SELECT gtid, binlog_file AS file, instance FROM change_follower_checkpoints')) as unknown as [
        [{ gtid: string; file: string; instance: string }],
      ];
      return sequence(row.gtid) >= sequence(written) && row;
    });
    expect(stored).toMatchObject({ file: expect.stringMatching(/^binlog\.\d+$/), instance: 'test-instance' });
    // Storing the position is a transaction too; the follower sees it and is caught up with the server.
    await pollUntil('caught up', () => t.core.follower!.status().lagSeconds === 0);
  });

});
