import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { translateDatabaseError } from '../db/errors';
import { policyRules } from './cache-policy';
import type { PendingWrite } from './cache-writer';
import { rowCodec } from './codec';
import type { EntityDefinition, VersionedTable } from './entity';
import { EntityCache } from './entity-cache';
import { EntityReads, tableSource } from './entity-reads';
import type { AssociationList } from './association-lists';
import { EntityWrites } from './entity-writes';
import type { WriteOperation } from './failures';
import type { CallScope } from './logger';
import type { RepositoryDeps } from './repository-deps';
import type { NewRow, Patch, Row } from './rows';
import type { CachePolicy } from './settings';
import type { Transaction } from './unit-of-work';

export type { VersionedTable } from './entity';
export type { RepositoryDeps } from './repository-deps';
export { assertId, type NewRow, type Patch, type Row } from './rows';
export type { RepositoryHooks } from './hooks';

/**
 * The write-through core for one table: its read path (entity-reads.ts) and its
 * write path (entity-writes.ts), over one cache layout and one set of policy rules
 * (cache-policy.ts), so the two agree on every key and on what each policy does.
 */
export class Repository<T extends VersionedTable> {
  readonly entity: string;
  readonly table: T;
  readonly cacheLayout: EntityCache<Row<T>>;
  readonly policy: CachePolicy;
  private readonly reads: EntityReads<Row<T>>;
  private readonly writes: EntityWrites<T>;

  constructor(
    definition: EntityDefinition<string, T>,
    private readonly deps: RepositoryDeps,
    /** The association lists whose edges are this table's rows. */
    lists: readonly AssociationList[] = [],
  ) {
    const { name: entity, table } = definition;
    this.entity = entity;
    this.table = table;
    const ttlSeconds = definition.ttlSeconds ?? deps.settings.ttlSeconds;
    this.cacheLayout = new EntityCache(entity, rowCodec<Row<T>>(table), { ...deps.settings, ttlSeconds });
    // The operator's setting for this entity, then the entity's own default, then the operator's for all.
    this.policy = deps.settings.policyByEntity?.[entity] ?? definition.policy ?? deps.settings.policy ?? 'write-through';
    const rules = policyRules(this.policy);
    this.reads = new EntityReads(entity, tableSource(table), this.cacheLayout, rules, deps);
    this.writes = new EntityWrites(entity, table, this.cacheLayout, rules, deps, lists);
  }

  /** A loader's batch function (writethrough/loaders.ts): one value per id, in the order given, `null` where no row exists. */
  load(ids: readonly number[], scope?: CallScope): Promise<Array<Row<T> | null>> {
    return this.reads.load(ids, scope);
  }

  /** Rows straight from the primary, past the cache (repairs, audits). */
  selectByIds(ids: readonly number[]): Promise<Array<Row<T>>> {
    return this.reads.selectByIds(ids);
  }

  create(values: NewRow<T>, scope?: CallScope): Promise<Row<T>> {
    return this.writes.create(values, scope);
  }

  update(id: number, patch: Patch<T>, options: { expectedVersion?: number } & CallScope = {}): Promise<Row<T>> {
    return this.writes.update(id, patch, options);
  }

  delete(id: number, scope?: CallScope): Promise<boolean> {
    return this.writes.delete(id, scope);
  }

  /** What the cache policy writes for a row a transaction has just written (for a unit of work of several tables). */
  cacheWrites(operation: WriteOperation, row: Row<T>): PendingWrite[] {
    return this.writes.cacheWrites(operation, row);
  }

  /** What the lists an edge was just added to or removed from in `tx` now write (for a unit of work of several tables). */
  listWrites(tx: Transaction, row: Row<T>, operation: WriteOperation): Promise<PendingWrite[]> {
    return this.writes.listWrites(tx, row, operation);
  }

  /** Reads one row inside a transaction, so it sees that transaction's own writes. */
  selectOne(tx: Transaction, id: number): Promise<Row<T>> {
    return this.writes.selectOne(tx, id);
  }

  /** True when the table has no rows at all (used to seed demo data into a new database). */
  async isEmpty(): Promise<boolean> {
    try {
      const rows = await this.deps.db
        .select({ id: this.table.id })
        .from(this.table as MySqlTable)
        .limit(1);
      return rows.length === 0;
    } catch (err) {
      throw translateDatabaseError(err, this.entity);
    }
  }
}

