import { getTableName } from 'drizzle-orm';
import { orders, products, reviews, users } from './db/schema';
import { defineList } from './writethrough/association-list';
import { defineEntity, type EntityNameOf } from './writethrough/entity';
import { listTriggersOf } from './writethrough/list-triggers';

/**
 * The service's cached entities, one line each: everything that lists entities (the
 * core's repositories, the repair worker, the per-request loaders, cache:warm and
 * cache:audit, the CACHE_POLICY_<NAME> settings) reads this. A new entity is its
 * table in db/schema.ts (with `id` and `version`), a line here, a migration, and its
 * GraphQL module under modules/ (README: "Your own entities").
 */
export const entities = {
  users: defineEntity('user', users),
  products: defineEntity('product', products),
  orders: defineEntity('order', orders),
  reviews: defineEntity('review', reviews),
};

export type Entities = typeof entities;

/** An entity's cache name (`user`, `review`, …): what keys, failures, settings and the tools call it. */
export type EntityName = EntityNameOf<Entities>;
/** Every entity's cache name, in the registry's order. */
export const ENTITY_NAMES: readonly EntityName[] = Object.values(entities).map((definition) => definition.name);
/**
 * Every entity's MySQL table, whose `version` the database keeps with triggers: what
 * the migrations are given (db/version-triggers.ts).
 */
export const VERSIONED_TABLES: readonly string[] = Object.values(entities).map((definition) => getTableName(definition.table));

/**
 * The association lists (writethrough/association-list.ts): each an owner's edges,
 * newest first, cached and written through like a row. An edge table's creates and
 * deletes write its lists through; its owner columns cannot be updated.
 */
export const lists = {
  userOrders: defineList('user_orders', orders, { owner: orders.userId }),
  productOrders: defineList('product_orders', orders, { owner: orders.productId }),
  productReviews: defineList('product_reviews', reviews, { owner: reviews.productId }),
  /** Every order: `recentOrders`. */
  recentOrders: defineList('recent_orders', orders),
};

export type Lists = typeof lists;

/** Every list's cache name: failures, intents and metrics carry it as they carry an entity's. */
export const LIST_NAMES: readonly string[] = Object.values(lists).map((definition) => definition.name);

/** What a failure's `entity` may be: an entity's name, or a list's. */
export const CACHED_NAMES: readonly string[] = [...ENTITY_NAMES, ...LIST_NAMES];

/** The triggers that bump the lists' versions with their edges (writethrough/list-triggers.ts): what the migrations are given. */
export const LIST_TRIGGERS = listTriggersOf(Object.values(lists));
