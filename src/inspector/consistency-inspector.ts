import type { Cluster, Redis } from 'ioredis';
import type { Cache } from '../cache/cache';
import { defineDeleteIfUnchanged } from '../cache/compare-and-delete';
import type { FailureReporter } from '../writethrough/failures';
import type { EntityCache } from '../writethrough/entity-cache';
import type { CoreLogger } from '../writethrough/logger';
import { ConsistencyFigures, type InspectionResult } from './consistency-figures';
import { inspect } from './inspection';

export interface InspectorSettings {
  /** The share of committed writes checked, from 0 (none) to 1 (every one). */
  sampleRate: number;
  /** The share of cache hits (rows read from Redis) checked against MySQL, at most one key per batch; 0: none. */
  readSampleRate?: number;
  /** How long after a write has settled its key is first checked. */
  delayMs: number;
  /** How long after a first check that found the key wrong it is checked again, before anything counts. */
  recheckMs: number;
  /** At most this many keys checked per second (each one key of an MGET and one row of a SELECT); samples beyond are dropped. */
  maxChecksPerSecond: number;
  /** How often due checks run, all of them in one MGET and one SELECT per entity (100 ms). */
  tickMs?: number;
}

/** What the inspector needs of an entity's repository. */
export interface InspectedEntity {
  cacheLayout: EntityCache<{ id: number; version: number }>;
  selectByIds(ids: readonly number[]): Promise<Array<{ id: number; version: number }>>;
}

export interface InspectorDeps {
  cache: Cache;
  /** For taking away a value MySQL never had, which the compare-and-set cannot replace. */
  redis: Redis | Cluster;
  entities: Readonly<Record<string, InspectedEntity>>;
  /** Whether the failure log holds an open failure for a key (failures/suspect-keys.ts). */
  failureOpen(entity: string, id: number): boolean;
  settings: InspectorSettings;
  logger: CoreLogger;
  /**
   * Where a confirmed inconsistency is recorded, as a failure of operation `inspection`:
   * every instance then treats the key as suspect, the writeThroughFailures
   * subscription reports it, and the repair worker closes it. None: only logged.
   */
  reporter?: FailureReporter;
  instanceId: string;
  /** Each check's end (`inspection`) and each repair; the metrics of the instance. */
  observe?: (entity: string, result: InspectionResult | 'repaired' | 'read_fresh' | 'read_stale') => void;
  /** A confirmed inconsistency's age, in seconds: from when its key was last known right to when it was confirmed. */
  observeAge?: (entity: string, seconds: number) => void;
  random?: () => number;
  now?: () => number;
}

/** Checks kept while the cache or MySQL cannot be read. */
const MAX_WAITING = 10_000;

interface Check {
  entity: string;
  id: number;
  version: number;
  dueAt: number;
  second: boolean;
  /** A sampled cache hit: `version` is what it served, until MySQL says what the key should hold. */
  read?: boolean;
  /** When the key was last known to be right: the write settled, or the read was served. */
  since: number;
}

/**
 * Checks the service's own cache against MySQL, off the request path: a sample of
 * committed writes, each some time after it settled, by the rules of inspection.ts.
 * A key found wrong is checked again later, and counts as inconsistent only if it is
 * still wrong (else `in_flight`: a write was under way); then it is repaired: a value
 * MySQL never had is taken away if it is still there (compare-and-delete), and
 * MySQL's row is written through the compare-and-set. Nothing waits for it: a write
 * only hands it its keys, and the checks beyond `maxChecksPerSecond` are dropped.
 */
export class ConsistencyInspector {
  readonly figures: ConsistencyFigures;
  private queue: Check[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private budget: { second: number; left: number } = { second: -1, left: 0 };
  private warned = false;
  private inFlight = 0;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly deps: InspectorDeps) {
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? Date.now;
    // Those being checked right now count as pending too: they are out of the queue.
    this.figures = new ConsistencyFigures(this.now, () => this.queue.length + this.inFlight);
    defineDeleteIfUnchanged(deps.redis);
  }

  /**
   * Writes that have settled (a transaction's, or row changes the change follower has
   * written through): samples them for a check. `cas.version` is what the key must
   * reach (an invalidation mark's half version rounds up to its write's).
   */
  observe(writes: ReadonlyArray<{ entity: string; entityId: number; cas: { version: number } }>): void {
    const { sampleRate, delayMs } = this.deps.settings;
    for (const w of writes) {
      if (sampleRate <= 0 || this.random() >= sampleRate || !this.deps.entities[w.entity] || !this.afford()) continue;
      this.queue.push({ entity: w.entity, id: w.entityId, version: Math.ceil(w.cas.version), dueAt: this.now() + delayMs, second: false, since: this.now() });
    }
  }

  /** Whether to check one of a batch of `hits` rows a read just served from the cache. */
  sampleRead(hits: number): boolean {
    const rate = this.deps.settings.readSampleRate ?? 0;
    return rate > 0 && hits > 0 && this.random() < rate * hits;
  }

  /**
   * A read served this version of the key from the cache: checked against MySQL at
   * once. If MySQL is newer, the key is judged as a write of MySQL's version would be
   * (and checked again before it counts); confirmed wrong, the read was a stale read.
   */
  observeRead(entity: string, id: number, version: number): void {
    if (!this.deps.entities[entity] || !this.afford()) return;
    this.queue.push({ entity, id, version, dueAt: this.now(), second: false, read: true, since: this.now() });
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.deps.settings.tickMs ?? 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs every check that is due (tests call it to not wait for the timer). */
  async tick(): Promise<void> {
    const now = this.now();
    const due = this.queue.filter((c) => c.dueAt <= now);
    if (due.length === 0) return;
    this.queue = this.queue.filter((c) => c.dueAt > now);
    const byEntity = new Map<string, Check[]>();
    for (const c of due) byEntity.set(c.entity, [...(byEntity.get(c.entity) ?? []), c]);
    this.inFlight += due.length;
    try {
      await Promise.all([...byEntity].map(([entity, checks]) => this.checkAll(entity, checks)));
    } finally {
      this.inFlight -= due.length;
    }
  }

  /** Whether a check fits this second's budget, taking its place if so. */
  private afford(): boolean {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.budget.second) this.budget = { second, left: this.deps.settings.maxChecksPerSecond };
    if (this.budget.left <= 0) return false;
    this.budget.left--;
    return true;
  }

  private async checkAll(entity: string, checks: Check[]): Promise<void> {
    const target = this.deps.entities[entity]!;
    const layout = target.cacheLayout;
    let raws: Array<string | null>;
    let rows: Map<number, { id: number; version: number }>;
    try {
      // The cache first: a row read after it is at least as new as what the cache was
      // compared with, so a write landing in between reads as the cache being behind
      // (checked again later), never as MySQL being behind the cache.
      raws = await this.deps.cache.mget(checks.map((c) => layout.key(c.id)));
      rows = new Map((await target.selectByIds([...new Set(checks.map((c) => c.id))])).map((r) => [r.id, r]));
    } catch (err) {
      // Unable to look is no finding: the checks wait (a Redis outage is when keys go
      // wrong), as many as MAX_WAITING; beyond, the oldest are dropped, uncounted.
      if (!this.warned) this.deps.logger.warn({ err, entity, checks: checks.length }, 'the consistency inspector could not read; its checks wait until it can');
      this.warned = true;
      const later = this.now() + this.deps.settings.recheckMs;
      this.queue.push(...checks.map((c) => ({ ...c, dueAt: later })));
      if (this.queue.length > MAX_WAITING) this.queue.splice(0, this.queue.length - MAX_WAITING);
      return;
    }
    this.warned = false;
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      const raw = raws[i] ?? null;
      const row = rows.get(c.id);
      if (c.read && !c.second) {
        // What the key should hold by now: MySQL's version, or a tombstone of at least
        // the served row's version if MySQL has no row. No newer: the read was right.
        const should = row ? row.version : c.version + 1;
        this.figures.countRead();
        if (should <= c.version) {
          this.deps.observe?.(entity, 'read_fresh');
          continue;
        }
        c.version = should;
      }
      const verdict = inspect(layout, { version: c.version, raw, row, failureOpen: this.deps.failureOpen(entity, c.id) });
      if (verdict === 'inconsistent' && !c.second) {
        this.queue.push({ ...c, dueAt: this.now() + this.deps.settings.recheckMs, second: true });
        continue;
      }
      // A sampled read counts as a read, fresh or stale, and not again as a key checked.
      if (c.read) this.countRead(entity, verdict === 'inconsistent' ? 'read_stale' : 'read_fresh');
      else this.count(entity, c.second && verdict === 'consistent' ? 'in_flight' : verdict);
      if (verdict === 'inconsistent') {
        // How long it had been wrong at most: since the write settled or the read was served.
        this.deps.observeAge?.(entity, (this.now() - c.since) / 1000);
        await this.repair(entity, target, c.id, raw!, row);
      }
    }
  }

  private countRead(entity: string, result: 'read_fresh' | 'read_stale'): void {
    if (result === 'read_stale') this.figures.countStaleRead();
    this.deps.observe?.(entity, result);
  }

  private count(entity: string, result: InspectionResult | 'repaired'): void {
    if (result === 'repaired') this.figures.countRepaired();
    else this.figures.count(result);
    this.deps.observe?.(entity, result);
  }

  /**
   * Takes the wrong value away only if the key still holds it (a newer write since is
   * left alone), then writes MySQL's row, or a tombstone if it has none, through the
   * compare-and-set, which never replaces a newer version.
   */
  private async repair(entity: string, target: InspectedEntity, id: number, raw: string, row: { id: number; version: number } | undefined): Promise<void> {
    const layout = target.cacheLayout;
    const write = row ? layout.rowWrite(row, this.now()) : layout.finalTombstoneWrite(id, this.now());
    // Recorded first, so that whatever happens next, every instance distrusts the key
    // below MySQL's version, the subscription hears of it and the repair worker, if
    // this repair fails, does it again.
    await this.deps.reporter?.report({
      entity,
      entityId: id,
      operation: 'inspection',
      version: write.version,
      error: `the consistency inspector found ${raw.slice(0, 200)} where MySQL has ${row ? `version ${row.version}` : 'no row'}`,
      occurredAt: new Date(this.now()),
      instance: this.deps.instanceId,
    });
    try {
      await this.deps.redis.deleteIfUnchanged(layout.key(id), raw);
      const [outcome] = await this.deps.cache.casSetMany([write]);
      if (outcome instanceof Error) throw outcome;
      this.count(entity, 'repaired');
      this.deps.logger.warn({ entity, id, found: raw.slice(0, 200), mysqlVersion: row?.version ?? null }, 'the consistency inspector found a key MySQL disagrees with, and repaired it');
    } catch (err) {
      this.deps.logger.warn({ err, entity, id }, 'the consistency inspector found a key MySQL disagrees with and could not repair it; the repair worker will');
    }
  }
}
