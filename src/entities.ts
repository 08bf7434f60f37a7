import { getTableName } from 'drizzle-orm';
import { orders, products, reviews, users } from './db/schema';
import { defineEntity, type EntityNameOf } from './writethrough/entity';

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
