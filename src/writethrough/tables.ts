import { sql } from 'drizzle-orm';
import { bigint, datetime, index, int, mysqlTable, primaryKey, varchar } from 'drizzle-orm/mysql-core';

/**
 * The tables the write-through core keeps for itself, whatever entities it caches:
 * created by the application's migrations (db/schema.ts re-exports them for
 * drizzle-kit), read and written only by the core.
 */
const id = () => bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey();

/**
 * Committed writes whose cache update failed. Kept in MySQL because Redis is the
 * part that failed: the record must outlive it, and the process. A row stays
 * unrepaired (repaired_at NULL) until the repair worker has set the key again; while
 * it is, every instance reads that key from MySQL.
 */
export const writeThroughFailures = mysqlTable(
  'write_through_failures',
  {
    id: id(),
    entity: varchar('entity', { length: 32 }).notNull(),
    entityId: bigint('entity_id', { mode: 'number', unsigned: true }).notNull(),
    operation: varchar('operation', { length: 16 }).notNull(),
    /** The committed version the cache should have held. */
    version: bigint('version', { mode: 'number', unsigned: true }).notNull(),
    error: varchar('error', { length: 1000 }).notNull(),
    instance: varchar('instance', { length: 64 }).notNull(),
    occurredAt: datetime('occurred_at', { mode: 'date', fsp: 3 }).notNull(),
    repairedAt: datetime('repaired_at', { mode: 'date', fsp: 3 }),
    repairedBy: varchar('repaired_by', { length: 64 }),
    repairAttempts: int('repair_attempts', { unsigned: true }).notNull().default(0),
    /** Not before then: the backoff after a failed attempt, or another worker's claim. */
    nextAttemptAt: datetime('next_attempt_at', { mode: 'date', fsp: 3 }).notNull(),
    lastRepairError: varchar('last_repair_error', { length: 1000 }),
  },
  (t) => [
    index('write_through_failures_due_idx').on(t.repairedAt, t.nextAttemptAt),
    index('write_through_failures_key_idx').on(t.entity, t.entityId),
  ],
);

/**
 * The feed the writeThroughFailures subscription reads, on every instance: one row
 * when a failure is recorded and one when it is repaired. Append-only; its
 * auto-increment id orders the events and is the cursor a subscriber resumes from.
 */
export const writeThroughEvents = mysqlTable('write_through_events', {
  id: id(),
  failureId: bigint('failure_id', { mode: 'number', unsigned: true })
    .notNull()
    .references(() => writeThroughFailures.id, { onDelete: 'cascade' }),
  kind: varchar('kind', { length: 16 }).$type<'failed' | 'repaired'>().notNull(),
  occurredAt: datetime('occurred_at', { mode: 'date', fsp: 3 }).notNull(),
  instance: varchar('instance', { length: 64 }).notNull(),
});

export type WriteThroughFailureRow = typeof writeThroughFailures.$inferSelect;
export type WriteThroughEventRow = typeof writeThroughEvents.$inferSelect;

/**
 * Committed writes whose cache update may not have happened: one row per key a write
 * transaction changed, inserted inside that transaction, so it exists exactly when
 * the write does. A live process writes the key right after COMMIT; with read leases
 * on, it deletes the intent once the write has settled (writethrough/unsettled-writes.ts),
 * so a read past the cache can tell a version whose cache write is still in flight.
 * One that dies in between leaves it as the only trace of a key that may now be stale.
 * The sweep (failures/abandoned-writes.ts) takes every intent older than any live
 * write could be, checks its key against the version, reports the stale ones to the
 * failure log for repair, and deletes them all. `written_at` is MySQL's clock, so
 * instances with skewed clocks agree on an intent's age.
 */
export const writeIntents = mysqlTable(
  'write_intents',
  {
    id: id(),
    entity: varchar('entity', { length: 32 }).notNull(),
    entityId: bigint('entity_id', { mode: 'number', unsigned: true }).notNull(),
    operation: varchar('operation', { length: 16 }).notNull(),
    /**
     * The version the key must have reached for the write to count as cached: the row's
     * committed version, or for a delete the tombstone's (the deleted version + 1).
     */
    version: bigint('version', { mode: 'number', unsigned: true }).notNull(),
    writtenAt: datetime('written_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
  },
  // What a read past the cache looks up: a key's intents up to the version it saw.
  (t) => [index('write_intents_key_idx').on(t.entity, t.entityId, t.version)],
);

export type WriteIntentRow = typeof writeIntents.$inferSelect;

/**
 * One row per live instance that serves reads from the cache: how far it has read the
 * failure feed (`cursor`, the last event it applied) and until when its lease to trust
 * the cache runs (`expires_at`, MySQL's clock, so instances with skewed clocks agree on
 * who is live). A writer whose cache write failed waits until every other live row's
 * cursor has passed its failure before it answers (failures/fence.ts).
 */
export const readLeases = mysqlTable('read_leases', {
  instance: varchar('instance', { length: 64 }).primaryKey(),
  cursor: bigint('cursor', { mode: 'number', unsigned: true }).notNull(),
  expiresAt: datetime('expires_at', { mode: 'date', fsp: 3 }).notNull(),
});

/**
 * One row per association list that has changed (writethrough/association-list.ts):
 * its version, bumped by a trigger on the edge table in the same transaction as the
 * edge, so a list's version and its members always commit together, whoever writes
 * them. A list with no row here is at version 0: unchanged since the triggers exist.
 */
export const listVersions = mysqlTable(
  'list_versions',
  {
    list: varchar('list', { length: 32 }).notNull(),
    ownerId: bigint('owner_id', { mode: 'number', unsigned: true }).notNull(),
    version: bigint('version', { mode: 'number', unsigned: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.list, t.ownerId] })],
);
