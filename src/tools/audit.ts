import { isCluster, type RedisClient } from '../cache/redis-client';
import type { Cache, CasWrite } from '../cache/cache';
import type { CasOutcome } from '../cache/cas-script';
import type { Database } from '../db/client';
import type { ListRow } from '../writethrough/association-list';
import type { EntityCache } from '../writethrough/entity-cache';
import type { Row, VersionedTable } from '../writethrough/repository';
import { defineDeleteIfUnchanged } from '../cache/compare-and-delete';
import type { CachedEntity } from './entities';
import { judgeKey } from '../inspector/key-verdict';
import { scanIds } from './scan-ids';
import { TableReader } from './table-reader';

export interface AuditDeps {
  db: Database;
  /** Reads and compare-and-set writes, as the service makes them. */
  cache: Cache;
  /** For what the Cache interface does not offer: SCAN (every master of a cluster), and clearing a wrong value. */
  redis: RedisClient;
  now?: () => number;
}

export interface AuditOptions {
  /** Keys per SCAN (its COUNT hint) and per MGET / SELECT … IN; rows per page of MySQL ids. Default 1000. */
  batch?: number;
  /** Repair stale and orphaned keys (see {@link AuditFixes}). */
  fix?: boolean;
  /** Also cache the rows that have no key (with or without `fix`). */
  fill?: boolean;
  /** How many missing ids to list in the report. Default 100. */
  missingIdsCap?: number;
  /** Once aborted, the audit stops after the batch in hand and reports what it saw. */
  signal?: AbortSignal;
  onProgress?: (progress: AuditProgress) => void;
  hooks?: AuditHooks;
}

/**
 * First the cache's keys are checked (`keys`), then MySQL's rows are walked for ones
 * without a key (`rows`). Redis cannot count the keys under a prefix, so the `keys`
 * phase's total is MySQL's row count: what a fully warm cache holds.
 */
export interface AuditProgress {
  phase: 'keys' | 'rows';
  done: number;
  total: number;
}

/** Test seams, called where a racing write makes the two sides disagree for a moment. */
export interface AuditHooks {
  /** After a batch of keys was read from the cache, before its rows are read from MySQL. */
  afterCacheRead?(ids: readonly number[]): Promise<void> | void;
  /** After wrong keys were confirmed, before they are repaired. */
  beforeRepair?(ids: readonly number[]): Promise<void> | void;
}

export interface AuditReport {
  entity: string;
  /** Keys found for this entity (each once, however often SCAN returned it). */
  keys: number;
  ok: number;
  /** Ids whose key answers something other than MySQL's current row (sorted). */
  stale: number[];
  /** Ids whose key holds a row MySQL no longer has (sorted). */
  orphaned: number[];
  /** Keys holding a value the service did not write; readers treat them as misses. */
  unreadable: number;
  /** MySQL rows the cache has no answer for: a cold cache, not a wrong one. */
  missing: number;
  /** The first `missingIdsCap` of them, in id order. */
  missingIds: number[];
  /** MySQL rows walked. */
  rows: number;
  /** stale + orphaned: keys that would answer a reader wrongly. */
  drift: number;
  /** Keys that looked wrong and were read again, on both sides, before being judged. */
  rechecked: number;
  /** Present when `fix` or `fill` was asked for. */
  fixed?: AuditFixes;
  ms: number;
  /** Stopped by the signal before the end. */
  interrupted: boolean;
}

/**
 * What the repair wrote. A stale key gets MySQL's current row; an orphaned one a
 * tombstone that outranks every version (ids are never reused, so nothing may ever
 * replace it until it expires); with `fill`, a missing row is cached. A key that a
 * racing write replaced before the repair reached it counts as repaired: it no
 * longer holds the value judged wrong, and what holds it came through the
 * compare-and-set.
 */
export interface AuditFixes {
  stale: number;
  orphaned: number;
  filled: number;
  failed: number;
  firstError?: string;
}

export const DEFAULT_AUDIT_BATCH = 1000;

type AnyRow = Row<VersionedTable>;
interface Suspect {
  id: number;
  raw: string;
  row: AnyRow | undefined;
}

/**
 * Compares every cached key of one entity with MySQL, and counts the rows the cache
 * lacks. Reads the cache before MySQL, as the service writes MySQL before the cache:
 * that way a write racing the audit can make a key look older than its row, never
 * newer. Every key that looks wrong is read again (cache, then MySQL) and reported
 * only if it still is, so a write that was between its COMMIT and its cache write at
 * the first look is not reported. A key under constant writes may still be reported
 * now and then; run the audit again, and what stays reported is drift.
 */
export async function auditEntity(deps: AuditDeps, entity: CachedEntity, options: AuditOptions = {}): Promise<AuditReport> {
  return new EntityAudit(deps, entity, new TableReader(deps.db, entity.table), options).run();
}

/** What an association list is to the audit (writethrough/association-lists.ts): its layout and its states in MySQL. */
export interface AuditedList {
  entity: string;
  cacheLayout: EntityCache<ListRow>;
  selectByIds(owners: readonly number[]): Promise<ListRow[]>;
}

/**
 * The same for an association list's keys: each compared with the list as MySQL has
 * it now (its version and newest ids), repaired by the same path. Every owner has a
 * list (an empty one at version 0), so none is orphaned, and a list with no key is a
 * cold list, not counted as missing.
 */
export async function auditList(deps: AuditDeps, list: AuditedList, options: AuditOptions = {}): Promise<AuditReport> {
  const source: AuditSource = {
    count: async () => 0,
    idsAfter: async () => [],
    rowsByIds: async (owners) => new Map((owners.length > 0 ? await list.selectByIds(owners) : []).map((row) => [row.id, row as unknown as AnyRow])),
  };
  // The audit hands the layout only rows its source returned: list states, here.
  const layout = list.cacheLayout as unknown as CachedEntity['layout'];
  return new EntityAudit(deps, { name: list.entity, layout }, source, options).run();
}

/** MySQL's side as the audit reads it: a table's (TableReader) or a list's. */
interface AuditSource {
  count(): Promise<number>;
  idsAfter(afterId: number, limit: number): Promise<number[]>;
  rowsByIds(ids: readonly number[]): Promise<Map<number, AnyRow>>;
}

class EntityAudit {
  private readonly layout: CachedEntity['layout'];
  private readonly now: () => number;
  private readonly batch: number;
  private readonly report: AuditReport;

  constructor(
    private readonly deps: AuditDeps,
    private readonly entity: Pick<CachedEntity, 'name' | 'layout'>,
    private readonly reader: AuditSource,
    private readonly options: AuditOptions,
  ) {
    this.batch = options.batch ?? DEFAULT_AUDIT_BATCH;
    if (!Number.isSafeInteger(this.batch) || this.batch < 1) {
      throw new RangeError(`batch must be a positive integer, got ${this.batch}`);
    }
    this.layout = entity.layout;
    this.now = deps.now ?? Date.now;
    this.report = {
      entity: entity.name,
      keys: 0,
      ok: 0,
      stale: [],
      orphaned: [],
      unreadable: 0,
      missing: 0,
      missingIds: [],
      rows: 0,
      drift: 0,
      rechecked: 0,
      ...(options.fix || options.fill ? { fixed: { stale: 0, orphaned: 0, filled: 0, failed: 0 } } : {}),
      ms: 0,
      interrupted: false,
    };
    if (options.fix) defineDeleteIfUnchanged(deps.redis);
  }

  async run(): Promise<AuditReport> {
    const started = performance.now();
    const estimate = await this.reader.count();
    await this.checkKeys(estimate);
    if (!this.report.interrupted) await this.findMissing(estimate);
    const report = this.report;
    report.stale.sort((a, b) => a - b);
    report.orphaned.sort((a, b) => a - b);
    report.drift = report.stale.length + report.orphaned.length;
    report.ms = performance.now() - started;
    return report;
  }

  /** Every key of the entity, batch by batch: cache first, then MySQL. */
  private async checkKeys(estimate: number): Promise<void> {
    const { signal, onProgress, hooks } = this.options;
    let seen = 0;
    for await (const ids of scanIds(this.deps.redis, keyStem(this.entity), this.batch)) {
      const raws = await this.readCache(ids);
      await hooks?.afterCacheRead?.(ids);
      const rows = await this.reader.rowsByIds(ids);
      const { suspects, gone } = this.judge(ids, raws, rows);
      this.report.keys += ids.length - gone;
      if (suspects.length > 0) await this.recheck(suspects);
      seen += ids.length;
      onProgress?.({ phase: 'keys', done: seen, total: Math.max(estimate, seen) });
      if (signal?.aborted) {
        this.report.interrupted = true;
        return;
      }
    }
  }

  /** Counts what is right; returns what looks wrong, and how many keys were gone. */
  private judge(ids: readonly number[], raws: ReadonlyArray<string | null>, rows: Map<number, AnyRow>) {
    const suspects: Suspect[] = [];
    let gone = 0;
    ids.forEach((id, i) => {
      const raw = raws[i] ?? null;
      // Expired or deleted since it was seen: it answers nothing, so it tells no lie.
      if (raw === null) return void gone++;
      const verdict = judgeKey(this.layout, raw, rows.get(id));
      if (verdict === 'ok') this.report.ok++;
      else if (verdict === 'unreadable') this.report.unreadable++;
      else suspects.push({ id, raw, row: rows.get(id) });
    });
    return { suspects, gone };
  }

  /** Both sides again, in the same order; what still looks wrong is drift. */
  private async recheck(suspects: readonly Suspect[]): Promise<void> {
    this.report.rechecked += suspects.length;
    const ids = suspects.map((s) => s.id);
    const raws = await this.readCache(ids);
    const readAt = this.now();
    const rows = await this.reader.rowsByIds(ids);
    const { suspects: confirmed, gone } = this.judge(ids, raws, rows);
    this.report.ok += gone;
    const stale = confirmed.filter((s) => s.row !== undefined);
    const orphaned = confirmed.filter((s) => s.row === undefined);
    this.report.stale.push(...stale.map((s) => s.id));
    this.report.orphaned.push(...orphaned.map((s) => s.id));
    if (this.options.fix && confirmed.length > 0) await this.repair(stale, orphaned, readAt);
  }

  private async repair(stale: readonly Suspect[], orphaned: readonly Suspect[], readAt: number): Promise<void> {
    const fixed = this.report.fixed!;
    await this.options.hooks?.beforeRepair?.([...stale, ...orphaned].map((s) => s.id));
    // The compare-and-set refuses a value whose version is not below the one stored,
    // so a wrong value is cleared first, if it is still the very value judged (see
    // compare-and-delete.ts). A plain compare-and-set would do for an older version;
    // one path for all is simpler, and an absent key only sends a reader to MySQL.
    const cleared = new Set<number>();
    if (stale.length > 0) {
      const errors = await this.clearAll(stale);
      stale.forEach((s, i) => {
        const err = errors[i];
        if (err) this.noteFailure(err);
        else cleared.add(s.id);
      });
    }
    const writes: Array<{ kind: 'stale' | 'orphaned'; cas: CasWrite }> = [
      ...stale
        .filter((s) => cleared.has(s.id))
        .map((s) => ({ kind: 'stale' as const, cas: this.layout.rowWrite(s.row!, readAt) })),
      ...orphaned.map((s) => ({
        kind: 'orphaned' as const,
        cas: this.layout.finalTombstoneWrite(s.id, readAt),
      })),
    ];
    const outcomes = await this.deps.cache.casSetMany(writes.map((w) => w.cas));
    outcomes.forEach((outcome, i) => {
      if (isWritten(outcome)) fixed[writes[i]!.kind]++;
      else this.noteFailure(outcome);
    });
  }

  /**
   * Clears each wrong value if it is still the one judged; the Error each met, or null.
   * One pipeline on a single server. A cluster pipeline must hold keys of one node, so
   * there each is its own command, sent side by side, routed (and redirected) by
   * ioredis: drift is rare, and a repair's round trips do not matter.
   */
  private async clearAll(stale: readonly Suspect[]): Promise<Array<Error | null>> {
    const { redis } = this.deps;
    if (isCluster(redis)) {
      const settled = await Promise.allSettled(stale.map((s) => redis.deleteIfUnchanged(this.layout.key(s.id), s.raw)));
      return settled.map((r) => (r.status === 'rejected' ? (r.reason instanceof Error ? r.reason : new Error(String(r.reason))) : null));
    }
    const pipeline = redis.pipeline();
    for (const s of stale) pipeline.deleteIfUnchanged(this.layout.key(s.id), s.raw);
    const replies = (await pipeline.exec()) ?? [];
    return stale.map((_, i) => (replies[i] ?? [new Error('no reply from Redis')])[0]);
  }

  /** MySQL's rows, page by page, for ids the cache has no answer for. */
  private async findMissing(estimate: number): Promise<void> {
    const { signal, onProgress, fill, missingIdsCap = 100 } = this.options;
    const report = this.report;
    let after = 0;
    for (;;) {
      const ids = await this.reader.idsAfter(after, this.batch);
      if (ids.length === 0) return;
      report.rows += ids.length;
      const raws = await this.readCache(ids);
      const missing = ids.filter((_, i) => !this.layout.read(raws[i] ?? null).hit);
      report.missing += missing.length;
      report.missingIds.push(...missing.slice(0, Math.max(0, missingIdsCap - report.missingIds.length)));
      if (fill && missing.length > 0) await this.fill(missing);
      after = ids[ids.length - 1]!;
      onProgress?.({ phase: 'rows', done: report.rows, total: Math.max(estimate, report.rows) });
      if (ids.length < this.batch) return;
      if (signal?.aborted) {
        report.interrupted = true;
        return;
      }
    }
  }

  private async fill(ids: readonly number[]): Promise<void> {
    const readAt = this.now();
    const rows = await this.reader.rowsByIds(ids);
    const outcomes = await this.deps.cache.casSetMany([...rows.values()].map((row) => this.layout.rowWrite(row, readAt)));
    for (const outcome of outcomes) {
      // 'stale': a reader's backfill or a write got there first.
      if (outcome === 'set') this.report.fixed!.filled++;
      else if (!isWritten(outcome)) this.noteFailure(outcome);
    }
  }

  private readCache(ids: readonly number[]): Promise<Array<string | null>> {
    return this.deps.cache.mget(ids.map((id) => this.layout.key(id)));
  }

  private noteFailure(err: Error | 'late'): void {
    const fixed = this.report.fixed!;
    fixed.failed++;
    fixed.firstError ??= err === 'late' ? 'a write reached Redis past its deadline' : err.message;
  }
}

/** Written, or refused because an equal or newer version got there first: either way the key is right. */
function isWritten(outcome: CasOutcome | Error): outcome is 'set' | 'stale' {
  return outcome === 'set' || outcome === 'stale';
}

/** What every key of the entity starts with: the key of an id, less the id. */
function keyStem(entity: Pick<CachedEntity, 'layout'>): string {
  return entity.layout.key(0).slice(0, -'0'.length);
}
