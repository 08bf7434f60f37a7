import { and, gte, lt, sql } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { Cache, CasWrite } from '../cache/cache';
import { decodeEnvelope } from '../cache/envelope';
import type { Database } from '../db/client';
import type { FollowedTable } from './change-applier';

const WINDOW = 1_000;

/**
 * Brings every key of the followed tables up to date from MySQL, for when the binlog
 * the follower needed is gone: a warm through the compare-and-set, id window by id
 * window. A window is one SELECT of its rows and one MGET of its keys; each row is
 * set (refused if the cache has it or newer), and each id with no row whose key still
 * holds a row (deleted while the changes were being missed) gets a tombstone. Ids
 * are never reused, so every id below the table's AUTO_INCREMENT is covered.
 *
 * It runs while the stream is paused at the position it started from, so changes
 * committed meanwhile are applied after it; the compare-and-set orders the two.
 */
export async function resyncTables(db: Database, cache: Cache, tables: readonly FollowedTable[]): Promise<void> {
  for (const table of tables) {
    if (!table.rules.readsCache) continue; // policy off: nothing of it is cached
    const end = await idsEnd(db, table.table);
    for (let lo = 1; lo < end; lo += WINDOW) await resyncWindow(db, cache, table, lo, Math.min(lo + WINDOW, end));
  }
}

async function resyncWindow(db: Database, cache: Cache, table: FollowedTable, lo: number, hi: number): Promise<void> {
  const readAtMs = Date.now();
  const source = table.source as MySqlTable & FollowedTable['source'];
  const rows = (await db.select().from(source).where(and(gte(source.id, lo), lt(source.id, hi)))) as Array<{ id: number; version: number }>;
  const present = new Set(rows.map((r) => r.id));
  const ids = Array.from({ length: hi - lo }, (_, i) => lo + i).filter((id) => !present.has(id));
  const cached = ids.length > 0 ? await cache.mget(ids.map((id) => table.layout.key(id))) : [];
  const writes: CasWrite[] = [];
  for (const row of rows) {
    const w = table.rules.afterWrite(table.layout, row, readAtMs);
    if (w) writes.push(w);
  }
  cached.forEach((raw, i) => {
    if (raw !== null && decodeEnvelope(raw)?.kind === 'row') writes.push(table.layout.finalTombstoneWrite(ids[i]!, readAtMs));
  });
  if (writes.length === 0) return;
  const failed = (await cache.casSetMany(writes)).find((o): o is Error => o instanceof Error);
  if (failed) throw new Error(`re-sync of ${table.entity} ids ${lo}..${hi - 1}: ${failed.message}`, { cause: failed });
}

/**
 * One past the highest id the table has given out: its AUTO_INCREMENT, or past its
 * highest row if that is higher (MySQL 8 may answer a cached AUTO_INCREMENT; rows
 * deleted above the highest remaining one are then left to their TTL).
 */
async function idsEnd(db: Database, name: string): Promise<number> {
  const [[row]] = (await db.execute(
    sql`SELECT GREATEST(COALESCE((SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${name}), 1),
                        COALESCE((SELECT MAX(id) + 1 FROM ${sql.identifier(name)}), 1)) AS next`,
  )) as unknown as [[{ next: number | string } | undefined]];
  return Number(row?.next ?? 1);
}
