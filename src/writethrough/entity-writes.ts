import { eq, getTableColumns } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors';
import type { PolicyRules } from './cache-policy';
import type { PendingWrite } from './cache-writer';
import type { VersionedTable } from './entity';
import type { EntityCache } from './entity-cache';
import type { WriteOperation } from './failures';
import type { AssociationList } from './association-lists';
import type { CallScope } from './logger';
import type { RepositoryDeps } from './repository-deps';
import { assertId, type NewRow, type Patch, type Row } from './rows';
import { WriteStatements } from './statements';
import type { Transaction } from './unit-of-work';

/**
 * The write path of one entity: one transaction through the unit of work (the
 * version bumped by the same statement that changes the row, the write intent
 * recorded in it), then, after COMMIT, what the policy sets in the cache.
 */
export class EntityWrites<T extends VersionedTable> {
  private readonly writableFields: ReadonlySet<string>;
  /** A list's owner column: set when the edge is made, never changed (the edge would move between lists). */
  private readonly ownerFields: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly statements: WriteStatements<T>;

  constructor(
    private readonly entity: string,
    private readonly table: T,
    private readonly layout: EntityCache<Row<T>>,
    private readonly rules: PolicyRules,
    private readonly deps: RepositoryDeps,
    /** The association lists this table's rows are edges of: each create and delete writes them through too. */
    private readonly lists: readonly AssociationList[] = [],
  ) {
    const managed: readonly string[] = ['id', 'version', 'createdAt', 'updatedAt'];
    const columns = getTableColumns(table);
    this.writableFields = new Set(Object.keys(columns).filter((f) => !managed.includes(f)));
    this.ownerFields = new Set(Object.keys(columns).filter((f) => lists.some((l) => l.definition.owner === columns[f])));
    this.now = deps.now ?? Date.now;
    this.statements = new WriteStatements(deps.db, table, entity);
  }

  async create(values: NewRow<T>, scope?: CallScope): Promise<Row<T>> {
    this.assertWritable(values, 'create');
    return this.deps.work.run(this.entity, scope, async (tx) => {
      const [header] = await tx.insert(this.table).values(values as T['$inferInsert']);
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'create', id: header.insertId });
      const row = await this.selectOne(tx, header.insertId);
      return { result: row, writes: [...this.cacheWrites('create', row), ...(await this.listWrites(tx, row, 'create'))] };
    });
  }

  /**
   * Applies `patch` and bumps the version in one UPDATE. With `expectedVersion`, the
   * UPDATE only matches that version, so a concurrent writer cannot be overwritten
   * between a client's read and its write.
   */
  async update(id: number, patch: Patch<T>, options: { expectedVersion?: number } & CallScope = {}): Promise<Row<T>> {
    assertId(id);
    this.assertWritable(patch, 'update');
    if (Object.keys(patch).length === 0) throw new InvalidInputError('nothing to update: give at least one field', 'input');
    const { expectedVersion } = options;
    if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 1)) {
      throw new InvalidInputError('expectedVersion must be a positive integer', 'expectedVersion');
    }
    return this.deps.work.run(this.entity, options, async (tx) => {
      // Before the statements, not after: they end with the COMMIT (statements.ts).
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'update', id });
      // The intent rides along with the UPDATE, so recording it costs no round trip,
      // and commits with it; the unit of work must not add one after that COMMIT.
      const intent = this.rules.recordsIntents && this.deps.work.recordsIntents;
      const { matched, row } = await this.statements.updateAndRead(tx, id, patch, { expectedVersion, intent });
      if (matched === 0 || !row) this.explainMissedUpdate(id, row, expectedVersion);
      return { result: row!, writes: this.cacheWrites('update', row!), intentsRecorded: true };
    });
  }

  /**
   * Deletes the row and leaves a tombstone, so that a read which fetched the row
   * just before the delete cannot put it back. Returns false if there was no row.
   */
  async delete(id: number, scope?: CallScope): Promise<boolean> {
    assertId(id);
    return this.deps.work.run(this.entity, scope, async (tx) => {
      // FOR UPDATE: no other transaction can bump the version between this read and
      // the DELETE, so the tombstone outranks every version the row ever had.
      // The whole row: its owner columns name the lists it leaves.
      const [current] = (await tx
        .select()
        .from(this.table as MySqlTable)
        .where(eq(this.table.id, id))
        .for('update')) as Array<Row<T>>;
      if (!current) return { result: false, writes: [] };
      await tx.delete(this.table).where(eq(this.table.id, id));
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'delete', id });
      const cas = this.rules.afterDelete(this.layout, id, current.version, this.now());
      const row: PendingWrite[] = cas ? [{ entity: this.entity, entityId: id, operation: 'delete', cas }] : [];
      return { result: true, writes: [...row, ...(await this.listWrites(tx, current, 'delete'))] };
    });
  }

  /** What the cache policy writes for a row a transaction has just written (for the unit of work). */
  cacheWrites(operation: WriteOperation, row: Row<T>): PendingWrite[] {
    const cas = this.rules.afterWrite(this.layout, row, this.now());
    return cas ? [{ entity: this.entity, entityId: row.id, operation, cas }] : [];
  }

  /**
   * The lists an edge just created or deleted in `tx` is in, as they now stand (for
   * the unit of work, after the entity's own writes: one pipeline for all of them).
   */
  async listWrites(tx: Transaction, row: Row<T>, operation: WriteOperation): Promise<PendingWrite[]> {
    const writes: PendingWrite[] = [];
    for (const list of this.lists) writes.push(...(await list.cacheWrites(tx, list.ownerOf(row), operation)));
    return writes;
  }

  /** Reads one row inside a transaction, so it sees that transaction's own writes. */
  async selectOne(tx: Transaction, id: number): Promise<Row<T>> {
    const row = await this.statements.select(tx, id);
    if (!row) throw new NotFoundError(this.entity, id);
    return row as Row<T>;
  }

  /** Zero rows matched: either the row is gone or its version moved on (`current` is what is there now). */
  private explainMissedUpdate(id: number, current: Row<T> | undefined, expectedVersion?: number): never {
    if (!current) throw new NotFoundError(this.entity, id);
    throw new ConflictError(`${this.entity} ${id} is at version ${current.version}, not the expected ${expectedVersion}`, {
      expectedVersion,
      actualVersion: current.version,
    });
  }

  private assertWritable(values: object, operation: 'create' | 'update'): void {
    for (const field of Object.keys(values)) {
      if (!this.writableFields.has(field) || (operation === 'update' && this.ownerFields.has(field))) {
        throw new InvalidInputError(`${field} cannot be set by ${operation}`, field);
      }
    }
  }
}
