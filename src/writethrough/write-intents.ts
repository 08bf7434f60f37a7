import { eq, sql, type SQL } from 'drizzle-orm';
import { writeIntents } from './tables';
import type { PendingWrite } from './cache-writer';
import type { VersionedTable } from './entity';
import type { Transaction } from './unit-of-work';

/**
 * The version a write's key must reach to count as cached (write_intents.version):
 * a row's version; a tombstone's (the deleted version + 1); for an invalidation mark,
 * which ranks half a version below the write that made it, that write's version.
 */
export function intentVersion(write: PendingWrite): number {
  return Math.ceil(write.cas.version);
}

/**
 * Records, inside a write's transaction, one intent per key it wrote (see
 * `writeIntents` in tables.ts for what they are for and who reads them).
 */
export class WriteIntents {
  /** One INSERT for every key of the transaction. */
  async record(tx: Transaction, writes: readonly PendingWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await tx.insert(writeIntents).values(
      writes.map((w) => ({ entity: w.entity, entityId: w.entityId, operation: w.operation, version: intentVersion(w) })),
    );
  }

  /**
   * The intent of an update as a statement that reads the new version from the row
   * itself, so it can follow the UPDATE in the same round trip (writethrough/statements.ts)
   * before anyone knows the version. It must come right after the UPDATE: `ROW_COUNT()`
   * is what the statement before it changed, so an UPDATE that matched nothing (another
   * version expected) records no intent, and its round trip's COMMIT commits nothing.
   * Placeholders: `entity`, `id`.
   */
  static updateOf(table: VersionedTable): SQL {
    const columns = sql.join(['entity', 'entity_id', 'operation', 'version'].map((c) => sql.identifier(c)), sql`, `);
    return sql`insert into ${writeIntents} (${columns}) select ${sql.placeholder('entity')}, ${table.id}, 'update', ${table.version} from ${table} where ${eq(table.id, sql.placeholder('id'))} and row_count() > 0`;
  }
}
