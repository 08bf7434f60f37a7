import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import { startFollowingCore, type FollowingCore } from '../helpers/following-core';
import type { TestCore } from '../helpers/core';
import { pollUntil } from '../helpers/poll';

/**
 * A randomized history: plain SQL writes behind the API, interleaved with the API's
 * own mutations on the same hot rows, and reads racing both. Every operation's times
 * are recorded, then checked: a read that begins more than a second after a change
 * committed never returns an older version (or a deleted row), a read that begins
 * after the API acknowledged a write never returns an older one, and at the end no
 * key is stale.
 */
const SQL_WRITES = Number(process.env.HISTORY_SQL_WRITES ?? 3_000);
const HOT = 10;
const BOUND_MS = 1_000;
/** HISTORY_FOLLOWER=off runs the same history with no follower, to see what the checker finds then. */
const FOLLOW = process.env.HISTORY_FOLLOWER !== 'off';

let following: FollowingCore;
let t: TestCore;

beforeAll(async () => {
  following = await startFollowingCore({ poolSize: 8, changes: FOLLOW ? {} : undefined });
  t = following.t;
}, 60_000);
afterAll(async () => {
  await following?.close();
});

interface Write {
  id: number;
  version: number | 'deleted';
  /** When it was known committed: for SQL, when COMMIT returned; for the API, when the mutation answered. */
  at: number;
  by: 'sql' | 'api';
}
interface Read {
  id: number;
  startedAt: number;
  version: number | null;
}

const random = (n: number) => Math.floor(Math.random() * n);

describe('a randomized history of writes behind and through the API', () => {
  it(`keeps every read within ${BOUND_MS} ms of MySQL, and leaves no stale key (${SQL_WRITES} SQL writes)`, { timeout: 240_000 }, async () => {
    const hot = await Promise.all(Array.from({ length: HOT }, (_, i) => t.core.users.create({ name: `Hot ${i}`, email: `hot-${i}@example.com`, bio: null })));
    const ids = hot.map((u) => u.id);
    const writes: Write[] = [];
    const reads: Read[] = [];
    let sqlWritesLeft = SQL_WRITES;
    let done = false;

    const sqlWriter = async () => {
      const c = await mysql.createConnection(t.database.url);
      try {
        while (sqlWritesLeft-- > 0) {
          if (random(20) === 0) {
            // A row made and deleted behind the API: its key must end as a tombstone.
            const [made] = (await c.query('INSERT INTO users (name, email) VALUES (?, ?)', ['Scratch', `s-${Math.random()}@example.com`])) as unknown as [{ insertId: number }];
            writes.push({ id: made.insertId, version: 1, at: Date.now(), by: 'sql' });
            if (random(2) === 0) void t.core.users.load([made.insertId]); // cache it, so the delete has something to replace
            await c.query('DELETE FROM users WHERE id = ?', [made.insertId]);
            writes.push({ id: made.insertId, version: 'deleted', at: Date.now(), by: 'sql' });
            continue;
          }
          const id = ids[random(HOT)]!;
          await c.beginTransaction();
          await c.query('UPDATE users SET name = ? WHERE id = ?', [`sql ${Math.random()}`, id]);
          const [[{ version }]] = (await c.query('SELECT version FROM users WHERE id = ?', [id])) as unknown as [[{ version: number }]];
          await c.commit();
          writes.push({ id, version: Number(version), at: Date.now(), by: 'sql' });
        }
      } finally {
        await c.end();
      }
    };
    const apiWriter = async () => {
      while (!done) {
        const id = ids[random(HOT)]!;
        const row = await t.core.users.update(id, { bio: `api ${Math.random()}` });
        writes.push({ id, version: row.version, at: Date.now(), by: 'api' });
      }
    };
    const reader = async () => {
      const all = () => [...ids, ...writes.filter((w) => w.version === 'deleted').map((w) => w.id)];
      while (!done) {
        const pool = all();
        const id = pool[random(pool.length)]!;
        const startedAt = Date.now();
        const [row] = await t.core.users.load([id]);
        reads.push({ id, startedAt, version: row ? row.version : null });
      }
    };

    const readers = Array.from({ length: 4 }, reader);
    const apiWriters = Array.from({ length: 2 }, apiWriter);
    await Promise.all([sqlWriter(), sqlWriter()]);
    done = true;
    await Promise.all([...readers, ...apiWriters]);

    const violations = checkHistory(writes, reads);
    console.log(`history: ${writes.filter((w) => w.by === 'sql').length} SQL writes, ${writes.filter((w) => w.by === 'api').length} API writes, ${reads.length} reads; ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);

    // Quiescence: the follower catches up, and every key agrees with MySQL.
    if (FOLLOW) await pollUntil('caught up', () => t.core.follower!.status().lagSeconds === 0, 30_000);
    const touched = [...new Set(writes.map((w) => w.id))];
    const rows = new Map((await t.core.users.selectByIds(touched)).map((r) => [r.id, r.version]));
    const cached = await t.redis.mget(touched.map((id) => `${t.settings.keyPrefix}user:${id}`));
    const stale = touched.filter((id, i) => {
      const envelope = cached[i] ? decodeEnvelope(cached[i]!) : undefined;
      if (!envelope) return false; // absent: a read misses and reads MySQL
      const inMysql = rows.get(id);
      return inMysql === undefined ? envelope.kind === 'row' : envelope.kind !== 'row' || envelope.version !== inMysql;
    });
    expect(stale).toEqual([]);
  });
});

/** Every read older than a write it should have seen. */
function checkHistory(writes: readonly Write[], reads: readonly Read[]): string[] {
  const byId = new Map<number, Write[]>();
  for (const w of writes) byId.set(w.id, [...(byId.get(w.id) ?? []), w]);
  const violations: string[] = [];
  for (const r of reads) {
    for (const w of byId.get(r.id) ?? []) {
      // The API promises its own writes at once; writes behind it, within the bound.
      const due = w.by === 'api' ? w.at : w.at + BOUND_MS;
      if (r.startedAt <= due) continue;
      if (w.version === 'deleted') {
        if (r.version !== null) violations.push(`read of ${r.id} at ${r.startedAt} returned v${r.version}, deleted at ${w.at}`);
      } else if (r.version !== null && r.version < w.version) {
        violations.push(`read of ${r.id} at ${r.startedAt} returned v${r.version}, older than v${w.version} (${w.by}, ${w.at})`);
      } else if (r.version === null && !(byId.get(r.id) ?? []).some((d) => d.version === 'deleted' && d.at <= r.startedAt + BOUND_MS)) {
        violations.push(`read of ${r.id} at ${r.startedAt} returned no row, yet v${w.version} was written at ${w.at}`);
      }
    }
  }
  return violations;
}
