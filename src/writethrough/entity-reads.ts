import { inArray } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';
import { CacheUnavailableError } from '../cache/circuit-breaker';
import { decodeEnvelope } from '../cache/envelope';
import type { Database } from '../db/client';
import { translateDatabaseError } from '../db/errors';
import type { PolicyRules } from './cache-policy';
import { noMetrics, timed, type CoreMetrics } from './core-metrics';
import type { VersionedTable } from './entity';
import type { EntityCache } from './entity-cache';
import type { RepositoryHooks } from './hooks';
import type { CallScope, CoreLogger } from './logger';
import type { RepositoryDeps } from './repository-deps';
import { assertId, type Row } from './rows';

/**
 * The read path of one entity (or association list: its rows are list states,
 * writethrough/association-list.ts): a batch of ids through the cache (one MGET, the misses
 * in one SELECT … IN, their backfill in one pipeline of compare-and-sets), or past it
 * when the cache cannot answer or the policy does not use it.
 */
export class EntityReads<R extends { id: number; version: number }> {
  private readonly hooks: RepositoryHooks;
  private readonly now: () => number;

  constructor(
    private readonly entity: string,
    private readonly source: RowSource<R>,
    private readonly layout: EntityCache<R>,
    private readonly rules: PolicyRules,
    private readonly deps: RepositoryDeps,
  ) {
    this.hooks = deps.hooks ?? {};
    this.now = deps.now ?? Date.now;
  }

  /**
   * A loader's batch function (writethrough/loaders.ts): one value per id, in the order given, `null` where
   * no row exists. One MGET; the misses in one SELECT … IN; their backfill in one
   * pipeline. If Redis fails, the whole batch is read from MySQL (a replica, if there
   * are any) and not backfilled. What it logs goes to the scope's logger.
   */
  async load(ids: readonly number[], scope?: CallScope): Promise<Array<R | null>> {
    for (const id of ids) assertId(id);
    this.metrics.loaderBatch(this.entity, ids.length);
    if (!this.rules.readsCache) return this.loadUncached(ids);
    const logger = scope?.logger ?? this.deps.logger;
    const raws = await this.deps.cache.mget(ids.map((id) => this.layout.key(id))).catch((err: unknown) => {
      // An open circuit was logged once when it opened; each refused read is routine.
      const level = err instanceof CacheUnavailableError ? 'debug' : 'warn';
      logger[level]({ err, entity: this.entity }, 'cache read failed; reading from MySQL');
      return undefined;
    });
    if (!raws) {
      this.countLookups(0, 0, 0, new Set(ids).size);
      return this.loadPastCache(ids, logger);
    }
    // Judged when the answer is back, not when the MGET left: a failure another
    // instance acknowledged meanwhile is known here only if the lease is still fresh.
    if (this.deps.lease && !this.deps.lease.fresh()) {
      this.countLookups(new Set(ids).size, 0, 0, 0);
      return this.loadPastCache(ids, logger, { primaryOnly: true });
    }
    // Almost always no key is suspect, and a warm read allocates nothing to find out.
    if (!this.anySuspect(ids)) {
      const rows = this.allAnswered(ids, raws);
      if (rows) return rows;
    }
    const found = new Map<number, R | null>();
    let hits = 0;
    let negativeHits = 0;
    for (let i = 0; i < raws.length; i++) {
      const id = ids[i]!;
      const lookup = this.layout.readShared(id, raws[i] ?? null);
      if (!lookup.hit || found.has(id) || !this.trusted(id, raws[i]!, lookup.row !== null)) continue;
      found.set(id, lookup.row);
      if (lookup.row) hits++;
      else negativeHits++;
    }
    if (hits > 0 && this.deps.readSampler?.sampleRead(hits)) this.sampleHit([...found.values()]);
    const misses = [...new Set(ids.filter((id) => !found.has(id)))];
    const bypassed = misses.filter((id) => this.isSuspect(id));
    const absent = new Set(bypassed.filter((id) => raws[ids.indexOf(id)] == null));
    this.countLookups(bypassed.length, hits, negativeHits, misses.length - bypassed.length);
    if (misses.length > 0) {
      const readAt = this.now();
      // The cache answered, so what is read here is written back: from the primary,
      // never a replica, whose rows may be older than what the cache was just missing.
      const rows = await this.selectByIds(misses);
      rows.forEach((row) => found.set(row.id, row));
      // What this read saw becomes a suspect key's floor, so the next read cannot go back
      // to an older cached version. A suspect key is not backfilled (the repair worker
      // sets it, or the newer write in flight does), except an absent one whose failures
      // are all repaired: nothing else would fill it, and it would miss for ever. Its
      // compare-and-set lands this read's version, at the floor or above, and the next
      // read settles the key.
      bypassed.forEach((id) => this.deps.suspects!.sawInMySql(this.entity, id, found.get(id)?.version));
      const backfill = misses.filter((id) => !this.isSuspect(id) || (absent.has(id) && !this.deps.suspects!.hasUnrepaired(this.entity, id)));
      const landed = backfill.length > 0 ? await this.backfill(backfill, found, readAt, logger) : new Set<number>();
      // A version this read cached is settled; the others answer only once their writes are.
      await this.awaitSettled(misses.filter((id) => !landed.has(id)), found);
    }
    return ids.map((id) => found.get(id) ?? null);
  }

  private anySuspect(ids: readonly number[]): boolean {
    return (this.deps.suspects?.size ?? 0) > 0 && ids.some((id) => this.isSuspect(id));
  }

  /**
   * May a cached answer stand? Yes, unless its key is suspect and the entry is older
   * than the key's floor (failures/suspect-keys.ts): then the cache may be lying, and
   * the read goes to MySQL. An entry that has caught up settles the key.
   */
  private trusted(id: number, raw: string, isRow: boolean): boolean {
    const suspects = this.deps.suspects;
    if (!suspects?.has(this.entity, id)) return true;
    const envelope = decodeEnvelope(raw);
    const ok = suspects.trusts(this.entity, id, envelope && { version: envelope.version, row: isRow });
    if (ok) suspects.settle(this.entity, id);
    return ok;
  }

  /**
   * The warm read: every value answered (a row, or a tombstone's null), so the rows in
   * order, with no map of what was found or list of what was not; undefined at the
   * first value that is not an answer, for `load`'s general path to take over.
   */
  private allAnswered(ids: readonly number[], raws: ReadonlyArray<string | null>): Array<R | null> | undefined {
    const rows = new Array<R | null>(ids.length);
    let hits = 0;
    for (let i = 0; i < ids.length; i++) {
      const lookup = this.layout.readShared(ids[i]!, raws[i] ?? null);
      if (!lookup.hit) return undefined;
      rows[i] = lookup.row;
      if (lookup.row) hits++;
    }
    this.countLookups(0, hits, ids.length - hits, 0);
    if (this.deps.readSampler?.sampleRead(hits)) this.sampleHit(rows);
    return rows;
  }

  /** Hands one of the rows the cache served to the inspector, picked at random. */
  private sampleHit(rows: ReadonlyArray<R | null | undefined>): void {
    const start = Math.floor(Math.random() * rows.length);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(start + k) % rows.length];
      if (row) return this.deps.readSampler!.observeRead(this.entity, row.id, row.version);
    }
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
   * (read-your-writes), which a lagging replica cannot promise; so do all keys when
   * the read lease has run out (`primaryOnly`), since any of them may be one.
   */
  private async loadPastCache(ids: readonly number[], logger: CoreLogger, { primaryOnly = false } = {}): Promise<Array<R | null>> {
    const unique = [...new Set(ids)];
    const fromReplica = this.deps.replicas && !primaryOnly ? unique.filter((id) => !this.isSuspect(id)) : [];
    const replicaIds = new Set(fromReplica);
    const fromPrimary = unique.filter((id) => !replicaIds.has(id));
    const [primaryRows, replicaRows] = await Promise.all([
      fromPrimary.length > 0 ? this.selectByIds(fromPrimary) : [],
      fromReplica.length > 0 ? this.selectFromReplica(fromReplica, logger) : [],
    ]);
    const found = new Map([...primaryRows, ...replicaRows].map((row) => [row.id, row]));
    for (const id of fromPrimary) this.deps.suspects?.sawInMySql(this.entity, id, found.get(id)?.version);
    await this.awaitSettled(unique, found);
    return ids.map((id) => found.get(id) ?? null);
  }

  /**
   * Reads rows from the next replica. A replica that fails rests, and this read goes
   * to the primary: a read the primary could answer never fails for a replica's sake.
   */
  private async selectFromReplica(ids: readonly number[], logger: CoreLogger): Promise<Array<R>> {
    const replica = this.deps.replicas?.next();
    if (!replica) return this.selectByIds(ids);
    try {
      return await this.select(replica.db, ids, 'replica_select');
    } catch (err) {
      this.deps.replicas!.failed(replica);
      logger.warn({ err, entity: this.entity, replica: replica.name }, 'replica read failed; reading from the primary');
      return this.selectByIds(ids);
    }
  }

  /**
   * A version read from MySQL and not cached by this read answers only once its write
   * has settled (writethrough/unsettled-writes.ts): until then another instance may
   * still answer the version before it from Redis, and a client reading here and then
   * there would see time go back.
   */
  private async awaitSettled(ids: readonly number[], found: ReadonlyMap<number, R | null>): Promise<void> {
    if (!this.deps.unsettled || ids.length === 0) return;
    await this.deps.unsettled.awaitSettled(this.entity, ids.map((id) => ({ id, version: found.get(id)?.version })));
  }

  private isSuspect(id: number): boolean {
    return this.deps.suspects?.has(this.entity, id) ?? false;
  }

  /** The `off` policy: straight to MySQL, the cache neither asked nor filled. */
  private async loadUncached(ids: readonly number[]): Promise<Array<R | null>> {
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

  /** Returns the ids whose version is now cached (or outdone by a newer one there). */
  private async backfill(ids: readonly number[], found: Map<number, R | null>, readAt: number, logger: CoreLogger): Promise<Set<number>> {
    await this.hooks.beforeBackfill?.({ entity: this.entity, ids });
    const writes = ids.map((id) => {
      const row = found.get(id);
      return row ? this.layout.rowWrite(row, readAt) : this.layout.missingWrite(id, readAt);
    });
    const outcomes = await this.deps.cache.casSetMany(writes);
    const errors = outcomes.filter((o): o is Error => o instanceof Error);
    // A failed backfill loses nothing (MySQL answered the read); it only means the
    // next read misses again.
    if (errors.length > 0) {
      logger.warn({ entity: this.entity, failed: errors.length, err: errors[0] }, 'cache backfill failed');
    }
    return new Set(ids.filter((_, i) => outcomes[i] === 'set' || outcomes[i] === 'stale'));
  }

  /**
   * Reads rows straight from the primary, past the cache (for repairs, audits, the
   * misses of `load` and, without replicas, reads the cache could not answer).
   */
  async selectByIds(ids: readonly number[]): Promise<Array<R>> {
    try {
      return await this.select(this.deps.db, ids, 'select');
    } catch (err) {
      throw translateDatabaseError(err, this.entity);
    }
  }

  private select(db: Database, ids: readonly number[], operation: 'select' | 'replica_select'): Promise<Array<R>> {
    return timed(
      () => this.source.select(db, ids),
      (seconds, ok) => this.metrics.mysqlCall(operation, seconds, ok),
    );
  }
}

/** Where a read path's rows come from in MySQL: one statement for a batch of ids. */
export interface RowSource<R> {
  select(db: Database, ids: readonly number[]): Promise<R[]>;
}

/** A table's rows by primary key: `SELECT * … WHERE id IN (…)`. */
export function tableSource<T extends VersionedTable>(table: T): RowSource<Row<T>> {
  return {
    select: async (db, ids) =>
      (await db
        .select()
        .from(table as MySqlTable)
        .where(inArray(table.id, [...ids]))) as Array<Row<T>>,
  };
}
