import type { Core } from '../core';
import { ENTITY_NAMES, type EntityName } from '../entities';
import type { EntityCache } from '../writethrough/entity-cache';
import type { Repository, Row, VersionedTable } from '../writethrough/repository';

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

// The tools take and do by default every registered entity, by its cache name.
export { ENTITY_NAMES, type EntityName };

export function cachedEntities(core: Core): Record<EntityName, CachedEntity> {
  const repositories = Object.values(core.repositories) as Array<Repository<VersionedTable>>;
  return Object.fromEntries(repositories.map((r) => [r.entity, { name: r.entity, table: r.table, layout: r.cacheLayout }])) as Record<EntityName, CachedEntity>;
}

export function isEntityName(name: string): name is EntityName {
  return (ENTITY_NAMES as readonly string[]).includes(name);
}
