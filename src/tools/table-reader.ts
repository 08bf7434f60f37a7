import { asc, count, gt, inArray } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { Database } from '../db/client';
import type { Row, VersionedTable } from '../writethrough/repository';

/**
 * MySQL's side of an entity, read the way the tools need it: whole tables walked in
 * primary-key order, and batches of ids looked up at once.
 *
 * Pages are keyset pages (`WHERE id > cursor ORDER BY id LIMIT n`), not OFFSET: each
 * one is an index range scan that costs the same at the end of the table as at the
 * start, and rows inserted or deleted while the walk goes on cannot shift it.
 */
export class TableReader<T extends VersionedTable = VersionedTable> {
  constructor(
    private readonly db: Database,
    private readonly table: T,
  ) {}

  async count(): Promise<number> {
    const [result] = await this.db.select({ n: count() }).from(this.table as MySqlTable);
    return result?.n ?? 0;
  }

  /** Up to `limit` whole rows with ids above `afterId`, in id order. */
  async rowsAfter(afterId: number, limit: number): Promise<Array<Row<T>>> {
    const rows = await this.db
      .select()
      .from(this.table as MySqlTable)
      .where(gt(this.table.id, afterId))
      .orderBy(asc(this.table.id))
      .limit(limit);
    return rows as Array<Row<T>>;
  }

  /** Like {@link rowsAfter}, ids only: served from the primary key alone. */
  async idsAfter(afterId: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .select({ id: this.table.id })
      .from(this.table as MySqlTable)
      .where(gt(this.table.id, afterId))
      .orderBy(asc(this.table.id))
      .limit(limit);
    return rows.map((r) => r.id as number);
  }

  /** The rows that exist among `ids`, by id. */
  async rowsByIds(ids: readonly number[]): Promise<Map<number, Row<T>>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.db
      .select()
      .from(this.table as MySqlTable)
      .where(inArray(this.table.id, [...ids]))) as Array<Row<T>>;
    return new Map(rows.map((row) => [row.id, row]));
  }
}
