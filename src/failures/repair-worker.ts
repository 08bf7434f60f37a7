import type { Cache, CasWrite } from '../cache/cache';
import type { WriteThroughFailureRow } from '../writethrough/tables';
import type { CoreMetrics } from '../writethrough/core-metrics';
import type { CoreLogger } from '../writethrough/logger';
import type { FailureEvent } from './failure-event';
import type { RepairQueue } from './repair-queue';
import { Rounds } from './rounds';

export interface RepairSettings {
  /** How often the worker looks for failures to repair. */
  intervalMs: number;
  /** Failures claimed per round. */
  batchSize: number;
  /** Backoff between attempts at one failure doubles up to this. */
  maxBackoffMs: number;
}

export interface RepairWorkerDeps {
  queue: RepairQueue;
  cache: Cache;
  /** By the name the failure log records: every entity's repository and every association list. */
  repositories: Record<string, Repairable>;
  settings: RepairSettings;
  logger: CoreLogger;
  /** False while the cache is known to be down: then a round would only fail, so it is skipped. */
  cacheAvailable: () => boolean;
  /** Told of each repair (to clear the suspect key and wake the feed). */
  onRepaired: (events: FailureEvent[]) => void;
  /** Records the failures MySQL refused earlier; returns how many still wait. */
  flushPending: () => Promise<number>;
  metrics?: CoreMetrics;
}

/** What a repair needs of a cached thing: its rows as MySQL has them now, and how each is written. */
export interface Repairable {
  selectByIds(ids: readonly number[]): Promise<Array<{ id: number; version: number }>>;
  cacheLayout: {
    /** Given only rows its own `selectByIds` returned (typed `never`: each target has its own row type). */
    rowWrite(row: never, readAtMs: number): CasWrite;
    finalTombstoneWrite(id: number, readAtMs: number): CasWrite;
  };
}

export interface RepairRound {
  claimed: number;
  repaired: number;
  postponed: number;
}

/**
 * Repairs failed cache writes: re-reads each failure's row from MySQL and sets its
 * key with the same compare-and-set as every other write. It never assumes what the
 * failed write did: a timed-out write may have landed after all, in which case the
 * compare-and-set finds an equal or newer version and the repair is done. A row that
 * is gone gets a tombstone. A failure whose repair fails waits twice as long each
 * time, up to `maxBackoffMs`, and stays unrepaired (and visible) until it succeeds.
 */
export class RepairWorker {
  private readonly rounds: Rounds<RepairRound>;
  /**
   * The last round could not write to Redis (every repair it tried failed, or the
   * circuit was open). Until a repair lands again, each round with nothing due probes:
   * it writes the key of the failure due soonest (the compare-and-set from MySQL's row,
   * without claiming or marking it), and the first probe that lands makes every
   * postponed failure due at once. The backoff is for entries that fail while Redis
   * is healthy, not a wait that outlives an outage by up to `maxBackoffMs`.
   */
  private refused = false;

  constructor(private readonly deps: RepairWorkerDeps) {
    this.rounds = new Rounds(() => this.round(), {
      intervalMs: deps.settings.intervalMs,
      onError: (err) => deps.logger.warn({ err }, 'repair round failed'),
    });
  }

  start(): void {
    this.rounds.start();
  }

  /** Stops the timer and waits for a round under way. */
  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** One round: claim what is due, repair it, record the outcome. Rounds never overlap. */
  runOnce(): Promise<RepairRound> {
    return this.rounds.runOnce();
  }

  private async round(): Promise<RepairRound> {
    // First get any failure MySQL could not take into the log, where it can be claimed.
    await this.deps.flushPending();
    if (!this.deps.cacheAvailable()) {
      this.refused = true;
      return { claimed: 0, repaired: 0, postponed: 0 };
    }
    const { batchSize, intervalMs } = this.deps.settings;
    // Long enough for this round to finish; if this process dies, another takes over then.
    const claimMs = Math.max(30_000, intervalMs * 10);
    const claimed = await this.deps.queue.claim(batchSize, claimMs);
    if (claimed.length === 0) {
      if (this.refused) await this.probe();
      return { claimed: 0, repaired: 0, postponed: 0 };
    }
    const { writes, owners } = await this.plan(claimed);
    const outcomes = await this.deps.cache.casSetMany(writes);
    const repaired: WriteThroughFailureRow[] = [];
    const postponed: Array<[WriteThroughFailureRow, string]> = [];
    outcomes.forEach((outcome, i) => {
      for (const failure of owners[i]!) {
        if (outcome === 'set' || outcome === 'stale') repaired.push(failure);
        else postponed.push([failure, outcome === 'late' ? 'the repair write arrived after its deadline' : outcome.message]);
      }
    });
    for (const [failure, error] of postponed) await this.deps.queue.postpone(failure, error, this.backoff(failure));
    repaired.forEach((f) => this.deps.metrics?.repair(f.entity, 'repaired'));
    postponed.forEach(([f]) => this.deps.metrics?.repair(f.entity, 'postponed'));
    const events = await this.deps.queue.markRepaired(repaired);
    if (events.length > 0) this.deps.onRepaired(events);
    if (postponed.length > 0) this.deps.logger.warn({ postponed: postponed.length, error: postponed[0]![1] }, 'some cache repairs failed; will retry');
    if (repaired.length === 0) this.refused = true;
    else if (this.refused) await this.recovered();
    return { claimed: claimed.length, repaired: repaired.length, postponed: postponed.length };
  }

  /** Does Redis take writes again? One write tells (see `refused`). */
  private async probe(): Promise<void> {
    const next = await this.deps.queue.soonest();
    if (!next) {
      this.refused = false; // nothing waits for Redis
      return;
    }
    const { writes } = await this.plan([next]);
    const [outcome] = await this.deps.cache.casSetMany(writes).catch((err: unknown) => [err as Error]);
    if (outcome === 'set' || outcome === 'stale') await this.recovered();
    // Still refused: expected while it lasts, and each failure's own attempts say so already.
    else this.deps.logger.debug({ err: outcome }, 'Redis still refuses writes');
  }

  /** A repair landed after Redis refused them: every postponed one is due now, and the next round starts at once. */
  private async recovered(): Promise<void> {
    this.refused = false;
    const due = await this.deps.queue.makePostponedDue();
    if (due === 0) return;
    this.deps.logger.info({ due }, 'Redis takes writes again: every postponed repair is due now');
    this.rounds.runSoon();
  }

  /** One write per key (several failures of one key need one repair), from rows read now. */
  private async plan(claimed: WriteThroughFailureRow[]): Promise<{ writes: CasWrite[]; owners: WriteThroughFailureRow[][] }> {
    const byKey = new Map<string, WriteThroughFailureRow[]>();
    for (const f of claimed) byKey.set(`${f.entity}:${f.entityId}`, [...(byKey.get(`${f.entity}:${f.entityId}`) ?? []), f]);
    const writes: CasWrite[] = [];
    const owners: WriteThroughFailureRow[][] = [];
    for (const [entity, ids] of groupIds(claimed)) {
      const repository = this.deps.repositories[entity];
      if (!repository) throw new Error(`no repository for entity "${entity}" in the failure log`);
      const readAt = Date.now();
      const rows = new Map((await repository.selectByIds(ids)).map((row) => [row.id, row]));
      for (const id of ids) {
        const row = rows.get(id);
        writes.push(row ? repository.cacheLayout.rowWrite(row as never, readAt) : repository.cacheLayout.finalTombstoneWrite(id, readAt));
        owners.push(byKey.get(`${entity}:${id}`)!);
      }
    }
    return { writes, owners };
  }

  private backoff(failure: WriteThroughFailureRow): number {
    return Math.min(this.deps.settings.maxBackoffMs, 1_000 * 2 ** failure.repairAttempts);
  }
}

/** entity → its distinct ids */
function groupIds(failures: WriteThroughFailureRow[]): Map<string, number[]> {
  const grouped = new Map<string, Set<number>>();
  for (const f of failures) grouped.set(f.entity, (grouped.get(f.entity) ?? new Set()).add(f.entityId));
  return new Map([...grouped].map(([entity, ids]) => [entity, [...ids]]));
}
