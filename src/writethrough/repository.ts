import { eq, getTableColumns, inArray } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { Cache } from '../cache/cache';
import { CacheUnavailableError } from '../cache/circuit-breaker';
import { noMetrics, timed, type CoreMetrics } from './core-metrics';
import type { CachePolicy, CacheSettings } from './settings';
import type { Database } from '../db/client';
import type { ReadReplicas } from '../db/read-replicas';
import { translateDatabaseError } from '../db/errors';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors';
import type { PendingWrite } from './cache-writer';
import { rowCodec } from './codec';
import type { EntityDefinition, VersionedTable } from './entity';
import { EntityCache } from './entity-cache';
import type { WriteOperation } from './failures';
import type { CoreLogger } from './logger';
import type { Transaction, UnitOfWork } from './unit-of-work';
import type { RepositoryHooks } from './hooks';
import { WriteStatements } from './statements';

export type { VersionedTable } from './entity';

/** Fields a caller may never set: the key, the version, and what MySQL stamps. */
type Managed = 'id' | 'version' | 'createdAt' | 'updatedAt';
export type Row<T extends VersionedTable> = T['$inferSelect'] & { id: number; version: number };
export type NewRow<T extends VersionedTable> = Omit<T['$inferInsert'], Managed>;
export type Patch<T extends VersionedTable> = Partial<NewRow<T>>;
export type { RepositoryHooks } from './hooks';

export interface RepositoryDeps {
  db: Database;
  cache: Cache;
  /** Runs each write's transaction, then its cache writes. */
  work: UnitOfWork;
  settings: CacheSettings;
  logger: CoreLogger;
  hooks?: Pick<RepositoryHooks, 'beforeBackfill'>;
  /** Keys whose cache entry may be stale after a failed write: read from MySQL until repaired. */
  suspects?: { readonly size: number; has(entity: string, id: number): boolean };
  /**
   * Read replicas, for the reads the cache could not answer (see `loadPastCache`).
   * None: those reads go to the primary, as every other read does.
   */
  replicas?: ReadReplicas;
  metrics?: CoreMetrics;
  now?: () => number;
}

/**
 * The write-through core for one table: reads batched through the cache, writes
 * committed to MySQL first and then compare-and-set into the cache.
 */
export class Repository<T extends VersionedTable> {
  readonly cacheLayout: EntityCache<Row<T>>;
  readonly policy: CachePolicy;
  private readonly writableFields: ReadonlySet<string>;
  private readonly hooks: RepositoryHooks;
  private readonly now: () => number;
  private readonly statements: WriteStatements<T>;

  readonly entity: string;
  readonly table: T;

  constructor(
    definition: EntityDefinition<string, T>,
    private readonly deps: RepositoryDeps,
  ) {
    const { name: entity, table } = definition;
    this.entity = entity;
    this.table = table;
    const ttlSeconds = definition.ttlSeconds ?? deps.settings.ttlSeconds;
    this.cacheLayout = new EntityCache(entity, rowCodec<Row<T>>(table), { ...deps.settings, ttlSeconds });
    // The operator's setting for this entity, then the entity's own default, then the operator's for all.
    this.policy = deps.settings.policyByEntity?.[entity] ?? definition.policy ?? deps.settings.policy ?? 'write-through';
    const managed: readonly string[] = ['id', 'version', 'createdAt', 'updatedAt'];
    this.writableFields = new Set(Object.keys(getTableColumns(table)).filter((f) => !managed.includes(f)));
    this.hooks = deps.hooks ?? {};
    this.now = deps.now ?? Date.now;
    this.statements = new WriteStatements(deps.db, table, entity);
  }

  /**
   * A loader's batch function (writethrough/loaders.ts): one value per id, in the order given, `null` where
   * no row exists. One MGET; the misses in one SELECT … IN; their backfill in one
   * pipeline. If Redis fails, the whole batch is read from MySQL (a replica, if there
   * are any) and not backfilled.
   */
  async load(ids: readonly number[]): Promise<Array<Row<T> | null>> {
    for (const id of ids) assertId(id);
    this.metrics.loaderBatch(this.entity, ids.length);
    if (this.policy === 'off') return this.loadUncached(ids);
    // A suspect key's cache entry may be older than MySQL: not asked, not backfilled.
    // (Almost always there are none, and a warm read allocates nothing to find out.)
    const trusted = this.deps.suspects?.size ? ids.filter((id) => !this.isSuspect(id)) : ids;
    const raws = await this.deps.cache.mget(trusted.map((id) => this.cacheLayout.key(id))).catch((err: unknown) => {
      // An open circuit was logged once when it opened; each refused read is routine.
      const level = err instanceof CacheUnavailableError ? 'debug' : 'warn';
      this.deps.logger[level]({ err, entity: this.entity }, 'cache read failed; reading from MySQL');
      return undefined;
    });
    const bypassed = trusted === ids ? 0 : new Set(ids).size - new Set(trusted).size;
    if (!raws) {
      this.countLookups(bypassed, 0, 0, new Set(trusted).size);
      return this.loadPastCache(ids);
    }
    if (trusted === ids) {
      const rows = this.allAnswered(ids, raws);
      if (rows) return rows;
    }
    const found = new Map<number, Row<T> | null>();
    let hits = 0;
    let negativeHits = 0;
    for (let i = 0; i < raws.length; i++) {
      const lookup = this.cacheLayout.readShared(trusted[i]!, raws[i] ?? null);
      if (!lookup.hit || found.has(trusted[i]!)) continue;
      found.set(trusted[i]!, lookup.row);
      if (lookup.row) hits++;
      else negativeHits++;
    }
    const misses = [...new Set(ids.filter((id) => !found.has(id)))];
    this.countLookups(bypassed, hits, negativeHits, misses.length - bypassed);
    if (misses.length > 0) {
      const readAt = this.now();
      // The cache answered, so what is read here is written back: from the primary,
      // never a replica, whose rows may be older than what the cache was just missing.
      const rows = await this.selectByIds(misses);
      rows.forEach((row) => found.set(row.id, row));
      const backfill = misses.filter((id) => !this.isSuspect(id));
      if (backfill.length > 0) await this.backfill(backfill, found, readAt);
    }
    return ids.map((id) => found.get(id) ?? null);
  }

  /**
   * The warm read: every value answered (a row, or a tombstone's null), so the rows in
   * order, with no map of what was found or list of what was not; undefined at the
   * first value that is not an answer, for `load`'s general path to take over.
   */
  private allAnswered(ids: readonly number[], raws: ReadonlyArray<string | null>): Array<Row<T> | null> | undefined {
    const rows = new Array<Row<T> | null>(ids.length);
    let hits = 0;
    for (let i = 0; i < ids.length; i++) {
      const lookup = this.cacheLayout.readShared(ids[i]!, raws[i] ?? null);
      if (!lookup.hit) return undefined;
      rows[i] = lookup.row;
      if (lookup.row) hits++;
    }
    this.countLookups(0, hits, ids.length - hits, 0);
    return rows;
  }

  /**
   * The cache could not be read (it failed, or its circuit is open): every row comes
   * from MySQL, and nothing is written back. This path has no backfill, on purpose:
   * - its rows may come from a replica, which may lag the primary. The compare-and-set
   *   stops an older version from replacing a newer one, not from filling an empty
   *   key, so a lagging replica's row would be served from the cache, under a fresh
   *   TTL, as if it were current;
   * - a cache that has just failed would most likely fail again, and the caller has
   *   its rows already.
   * Replicas take these reads because this is when the primary needs relief most:
   * every read of every instance lands on MySQL at once. Suspect keys still read the
   * primary: their last write never reached the cache, and a reader must see it
   * (read-your-writes), which a lagging replica cannot promise.
   */
  private async loadPastCache(ids: readonly number[]): Promise<Array<Row<T> | null>> {
    const unique = [...new Set(ids)];
    const fromReplica = this.deps.replicas ? unique.filter((id) => !this.isSuspect(id)) : [];
    const replicaIds = new Set(fromReplica);
    const fromPrimary = unique.filter((id) => !replicaIds.has(id));
    const [primaryRows, replicaRows] = await Promise.all([
      fromPrimary.length > 0 ? this.selectByIds(fromPrimary) : [],
      fromReplica.length > 0 ? this.selectFromReplica(fromReplica) : [],
    ]);
    const found = new Map([...primaryRows, ...replicaRows].map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  }

  /**
   * Reads rows from the next replica. A replica that fails rests, and this read goes
   * to the primary: a read the primary could answer never fails for a replica's sake.
   */
  private async selectFromReplica(ids: readonly number[]): Promise<Array<Row<T>>> {
    const replica = this.deps.replicas?.next();
    if (!replica) return this.selectByIds(ids);
    try {
      return await this.select(replica.db, ids, 'replica_select');
    } catch (err) {
      this.deps.replicas!.failed(replica);
      this.deps.logger.warn({ err, entity: this.entity, replica: replica.name }, 'replica read failed; reading from the primary');
      return this.selectByIds(ids);
    }
  }

  private isSuspect(id: number): boolean {
    return this.deps.suspects?.has(this.entity, id) ?? false;
  }

  async create(values: NewRow<T>): Promise<Row<T>> {
    this.assertWritable(values, 'create');
    return this.deps.work.run(this.entity, async (tx) => {
      const [header] = await tx.insert(this.table).values(values as T['$inferInsert']);
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'create', id: header.insertId });
      const row = await this.selectOne(tx, header.insertId);
      return { result: row, writes: this.cacheWrites('create', row) };
    });
  }

  /**
   * Applies `patch` and bumps the version in one UPDATE. With `expectedVersion`, the
   * UPDATE only matches that version, so a concurrent writer cannot be overwritten
   * between a client's read and its write.
   */
  async update(id: number, patch: Patch<T>, options: { expectedVersion?: number } = {}): Promise<Row<T>> {
    assertId(id);
    this.assertWritable(patch, 'update');
    if (Object.keys(patch).length === 0) throw new InvalidInputError('nothing to update: give at least one field', 'input');
    const { expectedVersion } = options;
    if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 1)) {
      throw new InvalidInputError('expectedVersion must be a positive integer', 'expectedVersion');
    }
    return this.deps.work.run(this.entity, async (tx) => {
      // The intent rides along with the UPDATE, so recording it costs no round trip.
      const intent = this.policy !== 'off' && this.deps.work.recordsIntents;
      const { matched, row } = await this.statements.updateAndRead(tx, id, patch, { expectedVersion, intent });
      if (matched === 0 || !row) this.explainMissedUpdate(id, row, expectedVersion);
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'update', id });
      return { result: row!, writes: this.cacheWrites('update', row!), intentsRecorded: intent };
    });
  }

  /**
   * Deletes the row and leaves a tombstone, so that a read which fetched the row
   * just before the delete cannot put it back. Returns false if there was no row.
   */
  async delete(id: number): Promise<boolean> {
    assertId(id);
    return this.deps.work.run(this.entity, async (tx) => {
      // FOR UPDATE: no other transaction can bump the version between this read and
      // the DELETE, so the tombstone outranks every version the row ever had.
      const [current] = await tx
        .select({ version: this.table.version })
        .from(this.table as MySqlTable)
        .where(eq(this.table.id, id))
        .for('update');
      if (!current) return { result: false, writes: [] };
      await tx.delete(this.table).where(eq(this.table.id, id));
      await this.deps.work.beforeCommit({ entity: this.entity, operation: 'delete', id });
      // Every policy but `off` leaves a tombstone: a delete is an invalidation anyway.
      if (this.policy === 'off') return { result: true, writes: [] };
      const cas = this.cacheLayout.tombstoneWrite(id, current.version as number, this.now());
      return { result: true, writes: [{ entity: this.entity, entityId: id, operation: 'delete', cas }] };
    });
  }

  /** What the cache policy writes for a row a transaction has just written (for the unit of work). */
  cacheWrites(operation: WriteOperation, row: Row<T>): PendingWrite[] {
    if (this.policy === 'off') return [];
    const cas =
      this.policy === 'invalidate' ? this.cacheLayout.invalidationWrite(row, this.now()) : this.cacheLayout.rowWrite(row, this.now());
    return [{ entity: this.entity, entityId: row.id, operation, cas }];
  }

  /** Reads one row inside a transaction, so it sees that transaction's own writes. */
  async selectOne(tx: Transaction, id: number): Promise<Row<T>> {
    const row = await this.statements.select(tx, id);
    if (!row) throw new NotFoundError(this.entity, id);
    return row as Row<T>;
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

  /** The `off` policy: straight to MySQL, the cache neither asked nor filled. */
  private async loadUncached(ids: readonly number[]): Promise<Array<Row<T> | null>> {
    const rows = new Map((await this.selectByIds([...new Set(ids)])).map((row) => [row.id, row]));
    return ids.map((id) => rows.get(id) ?? null);
  }

  private get metrics(): CoreMetrics {
    return this.deps.metrics ?? noMetrics;
  }

  /** Suspect keys bypassed the cache; of the rest, each was a hit, a negative hit or a miss. */
  private countLookups(bypassed: number, hits: number, negativeHits: number, misses: number): void {
    this.metrics.cacheLookups(this.entity, 'bypassed', bypassed);
    this.metrics.cacheLookups(this.entity, 'hit', hits);
    this.metrics.cacheLookups(this.entity, 'negative_hit', negativeHits);
    this.metrics.cacheLookups(this.entity, 'miss', misses);
  }

  private async backfill(ids: readonly number[], found: Map<number, Row<T> | null>, readAt: number): Promise<void> {
    await this.hooks.beforeBackfill?.({ entity: this.entity, ids });
    const writes = ids.map((id) => {
      const row = found.get(id);
      return row ? this.cacheLayout.rowWrite(row, readAt) : this.cacheLayout.missingWrite(id, readAt);
    });
    const outcomes = await this.deps.cache.casSetMany(writes);
    const errors = outcomes.filter((o): o is Error => o instanceof Error);
    // A failed backfill loses nothing (MySQL answered the read); it only means the
    // next read misses again.
    if (errors.length > 0) {
      this.deps.logger.warn({ entity: this.entity, failed: errors.length, err: errors[0] }, 'cache backfill failed');
    }
  }

  /**
   * Reads rows straight from the primary, past the cache (for repairs, audits, the
   * misses of `load` and, without replicas, reads the cache could not answer).
   */
  async selectByIds(ids: readonly number[]): Promise<Array<Row<T>>> {
    try {
      return await this.select(this.deps.db, ids, 'select');
    } catch (err) {
      throw translateDatabaseError(err, this.entity);
    }
  }

  private async select(db: Database, ids: readonly number[], operation: 'select' | 'replica_select'): Promise<Array<Row<T>>> {
    const rows = await timed(
      () =>
        db
          .select()
          .from(this.table as MySqlTable)
          .where(inArray(this.table.id, [...ids])),
      (seconds, ok) => this.metrics.mysqlCall(operation, seconds, ok),
    );
    return rows as Array<Row<T>>;
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
      if (!this.writableFields.has(field)) {
        throw new InvalidInputError(`${field} cannot be set by ${operation}`, field);
      }
    }
  }
}

/** Ids are positive integers that a JS number holds exactly. */
export function assertId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidInputError(`id must be a positive integer, got ${id}`, 'id');
}
