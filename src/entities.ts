import { orders, products, reviews, users } from './db/schema';
import { defineEntity } from './writethrough/entity';

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
