import { sql } from 'drizzle-orm';
import { bigint, check, datetime, index, int, mysqlTable, text, varchar } from 'drizzle-orm/mysql-core';

/**
 * Every cached table has an `id` and a `version`. The version starts at 1 and is
 * bumped by the same UPDATE statement that changes the row, so MySQL itself orders
 * the writes; the cache's compare-and-set only ever lets a higher version replace a
 * lower one.
 *
 * Timestamps keep milliseconds (`datetime(3)`) and are stored in UTC: Drizzle reads
 * DATETIME as UTC, and the pool sets each session's time zone to match.
 */
const id = () => bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey();
const version = () => bigint('version', { mode: 'number', unsigned: true }).notNull().default(1);
const createdAt = () =>
  datetime('created_at', { mode: 'date', fsp: 3 })
    .notNull()
    .default(sql`CURRENT_TIMESTAMP(3)`)
    .$defaultFn(() => new Date());
const updatedAt = () =>
  datetime('updated_at', { mode: 'date', fsp: 3 })
    .notNull()
    .default(sql`CURRENT_TIMESTAMP(3)`)
    .$defaultFn(() => new Date())
    .$onUpdateFn(() => new Date());

/**
 * The largest value GraphQL's Int can answer (2^31 − 1). Counts and money are stored
 * `int unsigned`, which holds twice as much, so each such column has a CHECK that
 * refuses more: a row that could not be encoded would fail every list it is in, and
 * MySQL refuses it before it commits, whether it comes through the API (which refuses
 * it first) or not. Versions are BIGINT with no check: 2^31 updates of one row are out
 * of reach.
 */
export const MAX_GRAPHQL_INT = 2_147_483_647;
const fitsInt = (table: string, column: { name: string }) => check(`${table}_${column.name}_fits_int`, sql`${sql.identifier(column.name)} <= ${sql.raw(String(MAX_GRAPHQL_INT))}`);

export const users = mysqlTable('users', {
  id: id(),
  name: varchar('name', { length: 100 }).notNull(),
  email: varchar('email', { length: 254 }).notNull().unique('users_email_unique'),
  bio: text('bio'),
  version: version(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const products = mysqlTable(
  'products',
  {
    id: id(),
    sku: varchar('sku', { length: 64 }).notNull().unique('products_sku_unique'),
    name: varchar('name', { length: 200 }).notNull(),
    priceCents: int('price_cents', { unsigned: true }).notNull(),
    stock: int('stock', { unsigned: true }).notNull(),
    version: version(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [fitsInt('products', t.priceCents), fitsInt('products', t.stock)],
);

export const orders = mysqlTable(
  'orders',
  {
    id: id(),
    // Foreign keys: an order must never point at a user or product that is gone,
    // so deleting one that has orders is refused by MySQL (a CONFLICT to callers).
    userId: bigint('user_id', { mode: 'number', unsigned: true })
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    productId: bigint('product_id', { mode: 'number', unsigned: true })
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    quantity: int('quantity', { unsigned: true }).notNull(),
    totalCents: int('total_cents', { unsigned: true }).notNull(),
    version: version(),
    createdAt: createdAt(),
  },
  // recentOrders reads the newest ids first.
  (t) => [index('orders_created_at_idx').on(t.createdAt), fitsInt('orders', t.quantity), fitsInt('orders', t.totalCents)],
);

export type UserRow = typeof users.$inferSelect;
export type ProductRow = typeof products.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;

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
 * the write does. A live process writes the key right after COMMIT and never looks
 * at it again; one that dies in between leaves it as the only trace of a key that
 * may now be stale. The sweep (failures/abandoned-writes.ts) takes every intent older
 * than any live write could be, checks its key against the version, reports the stale
 * ones to the failure log for repair, and deletes them all. `written_at` is MySQL's
 * clock, so instances with skewed clocks agree on an intent's age.
 */
export const writeIntents = mysqlTable('write_intents', {
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
});

export type WriteIntentRow = typeof writeIntents.$inferSelect;
