import type { MySqlColumn, MySqlTable } from 'drizzle-orm/mysql-core';
import type { CachePolicy } from './settings';

/** Any Drizzle MySQL table with a numeric `id` and `version`. */
export type VersionedTable = MySqlTable & { id: MySqlColumn; version: MySqlColumn };

/**
 * One cached entity, as the core needs to know it: the table (with its `id` and
 * `version`) and the name the cache knows it by. Everything that lists entities (the
 * repositories, the repair worker and the sweep, the per-request loaders, the tools,
 * the per-entity policy settings) reads a registry of these, never a list of its own.
 */
export interface EntityDefinition<N extends string = string, T extends VersionedTable = VersionedTable> {
  /** Keys are `<prefix><name>:<id>`; failures, intents and metrics carry it. */
  readonly name: N;
  readonly table: T;
  /** What its writes do to the cache unless CACHE_POLICY_<NAME> says otherwise; default CACHE_POLICY's. */
  readonly policy?: CachePolicy | undefined;
  /** How long its keys live; default CACHE_TTL_SECONDS. */
  readonly ttlSeconds?: number | undefined;
}

/** The entities an application caches, by the name its code calls them (`users: defineEntity('user', users)`). */
export type EntityRegistry = Readonly<Record<string, EntityDefinition>>;

/** The cache's names of a registry's entities: 'user' | 'product' | … */
export type EntityNameOf<R extends EntityRegistry> = R[keyof R]['name'];

/**
 * A name fits the failure log's and the intents' `entity` column (32 characters) and
 * reads as a key segment and an environment variable's suffix (CACHE_POLICY_<NAME>).
 */
const NAME = /^[a-z][a-z0-9_]{0,31}$/;

export function defineEntity<N extends string, T extends VersionedTable>(
  name: N,
  table: T,
  defaults: { policy?: CachePolicy; ttlSeconds?: number } = {},
): EntityDefinition<N, T> {
  assertName(name, 'entity');
  return { name, table, ...defaults };
}

/** Entity and list names share the key space, the failure log and the intents: the same rule for both. */
export function assertName(name: string, what: 'entity' | 'list'): void {
  if (!NAME.test(name)) throw new Error(`${what} name "${name}" must be 1 to 32 lower-case letters, digits or _, starting with a letter`);
}

/** The registry's definitions, checked for one name used twice (two tables would share keys). */
export function definitionsOf(registry: EntityRegistry, alsoNamed: readonly string[] = []): EntityDefinition[] {
  const definitions = Object.values(registry);
  const seen = new Set<string>();
  for (const name of [...definitions.map((d) => d.name), ...alsoNamed]) {
    if (seen.has(name)) throw new Error(`two entities or lists are named "${name}": their cache keys would collide`);
    seen.add(name);
  }
  return definitions;
}
