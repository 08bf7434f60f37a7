import type { Core } from '../core';
import { orders, products, users } from '../db/schema';
import type { EntityCache } from '../writethrough/entity-cache';
import type { Row, VersionedTable } from '../writethrough/repository';

/**
 * What the operator tools need to know about one cached entity: its table, to read
 * MySQL's side, and the repository's cache layout, so that every key they read and
 * every write they build is exactly what the service itself reads and writes.
 */
export interface CachedEntity<T extends VersionedTable = VersionedTable> {
  name: string;
  table: T;
  layout: EntityCache<Row<T>>;
}

export const ENTITY_NAMES = ['user', 'product', 'order'] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

export function cachedEntities(core: Core): Record<EntityName, CachedEntity> {
  return {
    user: { name: 'user', table: users, layout: core.users.cacheLayout },
    product: { name: 'product', table: products, layout: core.products.cacheLayout },
    order: { name: 'order', table: orders, layout: core.orders.cacheLayout },
  };
}

export function isEntityName(name: string): name is EntityName {
  return (ENTITY_NAMES as readonly string[]).includes(name);
}
