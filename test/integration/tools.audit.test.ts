import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeTombstone, MISSING } from '../../src/cache/envelope';
import { auditEntity, type AuditOptions } from '../../src/tools/audit';
import { cachedEntities, type CachedEntity } from '../../src/tools/entities';
import { warmEntity } from '../../src/tools/warm';
import { createTestCore, type TestCore } from '../helpers/core';
import { REDIS_URL } from '../helpers/database';
import { runTool } from '../helpers/tool-process';

let t: TestCore;
let user: CachedEntity;

beforeAll(async () => {
  t = await createTestCore();
  user = cachedEntities(t.core).user;
  const values = Array.from({ length: 60 }, (_, i) => [`Audited ${i}`, `audited${i}@example.com`]);
  await t.pool.query('INSERT INTO users (name, email) VALUES ?', [values]);
});
afterAll(() => t?.close());

/** Each test starts from a cache that holds exactly what MySQL holds. */
beforeEach(async () => {
  const keys: string[] = [];
  for await (const batch of t.redis.scanStream({ match: `${t.settings.keyPrefix}user:*`, count: 1000 })) keys.push(...(batch as string[]));
  if (keys.length > 0) await t.redis.unlink(...keys);
  await warmEntity({ db: t.db, cache: t.core.cache }, user);
});

const audit = (options: AuditOptions = {}) => auditEntity({ db: t.db, cache: t.core.cache, redis: t.redis }, user, options);

async function liveIds(): Promise<number[]> {
  const [rows] = await t.pool.query('SELECT id FROM users ORDER BY id');
  return (rows as Array<{ id: number }>).map((r) => r.id);
}

async function currentRow(id: number) {
  const [row] = await t.core.users.selectByIds([id]);
  return row!;
}

/** Writes a value as it is, past the compare-and-set: how drift gets in. */
async function plant(id: number, value: string): Promise<void> {
  await t.redis.set(user.layout.key(id), value, 'PX', 60_000);
}

/**
 * One key of each kind of drift, each made the way it happens: MySQL changed behind
 * the cache's back, or a value the service would never write.
 */
async function plantEveryKindOfDrift() {
  const [older, sameVersion, newer, tombstoned, negative, orphan, cold, unreadable, deleted] = await liveIds();
  await t.pool.query("UPDATE users SET name = 'Renamed behind the cache', version = version + 1 WHERE id = ?", [older]);
  const same = await currentRow(sameVersion!);
  await plant(sameVersion!, user.layout.rowWrite({ ...same, name: 'Not what MySQL says' }, Date.now()).value);
  const ahead = await currentRow(newer!);
  await plant(newer!, user.layout.rowWrite({ ...ahead, version: ahead.version + 5 }, Date.now()).value);
  await plant(tombstoned!, encodeTombstone((await currentRow(tombstoned!)).version + 1));
  await plant(negative!, MISSING);
  await t.pool.query('DELETE FROM users WHERE id = ?', [orphan]);
  await t.redis.del(user.layout.key(cold!));
  await plant(unreadable!, 'not an envelope');
  // Not drift: a row deleted through the service leaves a tombstone, and an id that
  // never existed a negative entry.
  await t.core.users.delete(deleted!);
  await t.core.users.load([9_000_000]);
  return { older, sameVersion, newer, tombstoned, negative, orphan, cold, unreadable };
}

describe('auditEntity', () => {
  it('finds no drift in a cache that holds what MySQL holds, however small the batches', async () => {
    const rows = (await liveIds()).length;
    for (const batch of [1000, 7]) {
      expect(await audit({ batch })).toMatchObject({
        entity: 'user',
        keys: rows,
        ok: rows,
        stale: [],
        orphaned: [],
        unreadable: 0,
        missing: 0,
        missingIds: [],
        rows,
        drift: 0,
        rechecked: 0,
        interrupted: false,
      });
    }
  });

  it('classifies each kind of drift exactly', async () => {
    const rowsBefore = (await liveIds()).length;
    const d = await plantEveryKindOfDrift();
    const report = await audit();
    expect(report).toMatchObject({
      // An older version; the same version with other content; a version MySQL never
      // reached; "deleted" and "no such row" for rows that exist.
      stale: [d.older, d.sameVersion, d.newer, d.tombstoned, d.negative],
      orphaned: [d.orphan],
      unreadable: 1,
      missing: 2,
      missingIds: [d.cold, d.unreadable],
      drift: 6,
      rechecked: 6,
      rows: rowsBefore - 2,
    });
    // One key fewer (the cold one), one more (the negative entry for 9000000).
    expect(report.keys).toBe(rowsBefore);
    expect(report.ok).toBe(report.keys - 6 - 1);
    expect(report.fixed).toBeUndefined();
  });

  it('repairs every kind with fix (and fills the missing rows with fill), so a second audit finds nothing', async () => {
    const d = await plantEveryKindOfDrift();
    const repairing = await audit({ fix: true, fill: true });
    expect(repairing.drift).toBe(6);
    expect(repairing.fixed).toEqual({ stale: 5, orphaned: 1, filled: 2, failed: 0 });

    expect(await audit()).toMatchObject({ stale: [], orphaned: [], unreadable: 0, missing: 0, drift: 0 });
    // Every key now answers what MySQL holds, with no SQL.
    const ids = await liveIds();
    const expected = [...(await t.core.users.selectByIds(ids)), null];
    await t.serverStatements();
    expect(await t.core.users.load([...ids, d.orphan!])).toEqual(expected);
    expect(await t.serverStatements()).toBe(0);
    // The orphan's tombstone outranks any version a late write could carry.
    expect(decodeEnvelope((await t.redis.get(user.layout.key(d.orphan!)))!)).toEqual({
      kind: 'deleted',
      version: Number.MAX_SAFE_INTEGER,
    });
  });

  it('with fill alone caches the missing rows and leaves the drift as it is', async () => {
    const d = await plantEveryKindOfDrift();
    const report = await audit({ fill: true });
    expect(report.fixed).toEqual({ stale: 0, orphaned: 0, filled: 2, failed: 0 });
    expect(await audit()).toMatchObject({ stale: [d.older, d.sameVersion, d.newer, d.tombstoned, d.negative], missing: 0 });
  });

  it('does not report a key whose write raced the audit', async () => {
    const [id] = await liveIds();
    let raced = false;
    const report = await audit({
      hooks: {
        // Between reading the cache and reading MySQL: MySQL is a version ahead of
        // what the audit saw cached, until it reads both sides again.
        afterCacheRead: async (ids) => {
          if (raced || !ids.includes(id!)) return;
          raced = true;
          await t.core.users.update(id!, { name: 'Updated during the audit' });
        },
      },
    });
    expect(raced).toBe(true);
    expect(report).toMatchObject({ stale: [], drift: 0, rechecked: 1 });
    expect(report.ok).toBe(report.keys);
  });

  it('repairs a wrong key only if it still holds the value judged wrong', async () => {
    const [id] = await liveIds();
    const row = await currentRow(id!);
    await plant(id!, user.layout.rowWrite({ ...row, name: 'Corrupted' }, Date.now()).value);
    let updated: typeof row | undefined;
    const report = await audit({
      fix: true,
      hooks: {
        // A write lands between the verdict and the repair: the repair must neither
        // delete it nor put back the older row it read.
        beforeRepair: async () => {
          updated = await t.core.users.update(id!, { name: 'Updated before the repair' });
        },
      },
    });
    expect(report).toMatchObject({ stale: [id], fixed: { stale: 1, failed: 0 } });
    expect(await t.core.users.load([id!])).toEqual([updated]);
  });

  it('stops after the batch in hand when aborted', async () => {
    const controller = new AbortController();
    const report = await audit({ batch: 10, signal: controller.signal, onProgress: () => controller.abort() });
    expect(report.interrupted).toBe(true);
    expect(report.keys).toBeGreaterThan(0);
    expect(report.keys).toBeLessThan((await liveIds()).length);
    expect(report.rows).toBe(0); // MySQL's side was never walked
  });
});

describe('npm run cache:audit', () => {
  const env = () => ({ MYSQL_URL: t.database.url, REDIS_URL, KEY_PREFIX: t.settings.keyPrefix });

  it('exits 1 while there is drift, repairs it with --fix, and then exits 0', async () => {
    const [id] = await liveIds();
    const rows = (await liveIds()).length;
    await t.pool.query("UPDATE users SET name = 'Changed behind the cache', version = version + 1 WHERE id = ?", [id]);
    const counts = `user: ${rows} keys, ${rows - 1} ok, 1 stale, 0 orphaned, 0 missing`;

    const found = await runTool('scripts/cache-audit.ts', ['user'], env());
    expect(found).toMatchObject({ code: 1, stdout: `${counts} — drift in 1 key (stale: ${id})\n`, stderr: '' });

    const fixed = await runTool('scripts/cache-audit.ts', ['user', '--fix'], env());
    expect(fixed).toMatchObject({ code: 0, stdout: `${counts} — drift in 1 key (stale: ${id}), 1 repaired\n` });

    const clean = await runTool('scripts/cache-audit.ts', [], env());
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe(
      [
        `user: ${rows} keys, ${rows} ok, 0 stale, 0 orphaned, 0 missing — no drift`,
        'product: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        'order: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        'review: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        // With no entity named, the association lists' keys too.
        'user_orders: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        'product_orders: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        'product_reviews: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        'recent_orders: 0 keys, 0 ok, 0 stale, 0 orphaned, 0 missing — no drift',
        '',
      ].join('\n'),
    );
  });

  it('says in one line which server it cannot reach, and exits 2', async () => {
    const { code, stdout, stderr } = await runTool('scripts/cache-audit.ts', ['user'], {
      ...env(),
      MYSQL_URL: 'mysql://root@127.0.0.1:1/nothing',
    });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe('cache:audit failed: Cannot reach MySQL (ECONNREFUSED at 127.0.0.1:1): start it, or set MYSQL_URL\n');
  });

  it('audits and repairs a fourth entity added through the registry alone (review), with no change to the tools', async () => {
    const author = await t.core.users.create({ name: 'Reviewer', email: `reviewer-${Date.now()}@example.com` });
    const product = await t.core.products.create({ sku: `AUDIT-REVIEWED-${Date.now()}`, name: 'Kettle', priceCents: 2500, stock: 5 });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await t.core.reviews.create({ userId: author.id, productId: product.id, rating: i + 1, body: `review ${i}` }));
    const [stale, orphan] = [made[0]!.id, made[1]!.id];
    // MySQL changed behind the cache's back: one review edited, one deleted.
    await t.pool.query("UPDATE reviews SET body = 'Changed behind the cache', version = version + 1 WHERE id = ?", [stale]);
    await t.pool.query('DELETE FROM reviews WHERE id = ?', [orphan]);
    const counts = 'review: 5 keys, 3 ok, 1 stale, 1 orphaned, 0 missing';

    const found = await runTool('scripts/cache-audit.ts', ['review'], env());
    expect(found).toMatchObject({ code: 1, stdout: `${counts} — drift in 2 keys (stale: ${stale}; orphaned: ${orphan})\n`, stderr: '' });

    const fixed = await runTool('scripts/cache-audit.ts', ['review', '--fix'], env());
    expect(fixed).toMatchObject({ code: 0, stdout: `${counts} — drift in 2 keys (stale: ${stale}; orphaned: ${orphan}), 2 repaired\n` });

    // What the service reads now is what MySQL holds, from the cache.
    const ids = made.map((r) => r.id);
    const expected = await t.core.reviews.selectByIds(ids);
    await t.serverStatements();
    expect((await t.core.reviews.load(ids)).filter((r) => r !== null)).toEqual(expected);
    expect(await t.serverStatements()).toBe(0);
    expect((await t.core.reviews.load([orphan]))[0]).toBeNull();

    const clean = await runTool('scripts/cache-audit.ts', ['review'], env());
    expect(clean).toMatchObject({ code: 0, stdout: 'review: 5 keys, 5 ok, 0 stale, 0 orphaned, 0 missing — no drift\n' });
  });
});
