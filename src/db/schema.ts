import { sql } from 'drizzle-orm';
import { bigint, check, datetime, index, int, mysqlTable, text, varchar, type AnyMySqlColumn } from 'drizzle-orm/mysql-core';

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
 * A row of another table that this one refers to. MySQL keeps it alive: deleting one
 * that is referred to is refused (a CONFLICT to callers), so no order or review ever
 * points at a user or product that is gone.
 */
const refersTo = (name: string, target: () => AnyMySqlColumn) =>
  bigint(name, { mode: 'number', unsigned: true }).notNull().references(target, { onDelete: 'restrict' });

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
    userId: refersTo('user_id', () => users.id),
    productId: refersTo('product_id', () => products.id),
    quantity: int('quantity', { unsigned: true }).notNull(),
    totalCents: int('total_cents', { unsigned: true }).notNull(),
    version: version(),
    createdAt: createdAt(),
  },
  // recentOrders reads the newest ids first.
  (t) => [index('orders_created_at_idx').on(t.createdAt), fitsInt('orders', t.quantity), fitsInt('orders', t.totalCents)],
);

export const reviews = mysqlTable(
  'reviews',
  {
    id: id(),
    userId: refersTo('user_id', () => users.id),
    productId: refersTo('product_id', () => products.id),
    rating: int('rating').notNull(),
    // At most 2,000 characters, as the API checks (modules/review/review.input.ts).
    body: text('body').notNull(),
    version: version(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('reviews_rating_range', sql`${sql.identifier(t.rating.name)} BETWEEN 1 AND 5`)],
);

export type UserRow = typeof users.$inferSelect;
export type ProductRow = typeof products.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
export type ReviewRow = typeof reviews.$inferSelect;

// The core's own tables (the failure log, its event feed, the write intents) are
// defined by the core, in writethrough/tables.ts; exported here too, so that
// drizzle-kit, which reads this file, keeps them in the migrations.
export {
  listVersions,
  readLeases,
  writeIntents,
  writeThroughEvents,
  writeThroughFailures,
  type WriteIntentRow,
  type WriteThroughEventRow,
  type WriteThroughFailureRow,
} from '../writethrough/tables';

export { changeFollowerCheckpoints } from '../changes/tables';
