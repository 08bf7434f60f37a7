import { and, asc, eq, gt, isNull, lte, max, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { retryingLockConflicts } from '../db/errors';
import { writeThroughEvents as events, writeThroughFailures as failures } from '../writethrough/tables';
import type { FailedWrite, FailureReporter } from '../writethrough/failures';
import type { CoreLogger } from '../writethrough/logger';
import type { Transaction } from '../writethrough/unit-of-work';
import type { FailureEvent } from './failure-event';


/**
 * The durable record of failed cache writes, in MySQL: Redis is the part that
 * failed, so it cannot hold the record. Each failure is one row in
 * `write_through_failures` plus a 'failed' row in `write_through_events`, the feed
 * every instance reads.
 */
export class FailureLog implements FailureReporter {
  private readonly listeners = new Set<(event: FailureEvent) => void>();
  /** Failures MySQL would not take; retried by {@link flushPending} on each repair round. */
  private pending: FailedWrite[] = [];

  constructor(
    private readonly db: Database,
    private readonly logger: CoreLogger,
  ) {}

  /**
   * Records the failure before the mutation answers. If MySQL cannot take it either,
   * the failure is logged in full and kept in memory to be recorded once MySQL is back.
   * Resolves with its event, or undefined if it is one of those kept.
   */
  async report(failure: FailedWrite): Promise<FailureEvent | undefined> {
    try {
      const event = await this.insertRetryingLockConflicts(failure);
      this.notify(event);
      return event;
    } catch (err) {
      this.pending.push(failure);
      this.logger.error({ err, failure }, 'could not record a failed cache write in MySQL; keeping it to retry');
      return undefined;
    }
  }

  /** Retries the records MySQL refused. Returns how many are still waiting. */
  async flushPending(): Promise<number> {
    if (this.pending.length === 0) return 0;
    const waiting = this.pending;
    this.pending = [];
    for (const failure of waiting) await this.report(failure);
    return this.pending.length;
  }

  /** Called for each failure this process records, once it is in MySQL. */
  onRecorded(listener: (event: FailureEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after `afterId` (up to `upToId`, if given), oldest first, optionally of one entity. */
  async eventsAfter(afterId: number, options: { upToId?: number; entity?: string; limit?: number } = {}): Promise<FailureEvent[]> {
    const conditions: SQL[] = [gt(events.id, afterId)];
    if (options.upToId !== undefined) conditions.push(lte(events.id, options.upToId));
    if (options.entity !== undefined) conditions.push(eq(failures.entity, options.entity));
    const rows = await this.db
      .select({ event: events, failure: failures })
      .from(events)
      .innerJoin(failures, eq(failures.id, events.failureId))
      .where(and(...conditions))
      .orderBy(asc(events.id))
      .limit(options.limit ?? 500);
    return rows.map(({ event, failure }) => toEvent(event, failure));
  }

  /** The newest event's id (0 when there is none): where a new reader of the feed starts. */
  async latestEventId(): Promise<number> {
    const [row] = await this.db.select({ id: max(events.id) }).from(events);
    return Number(row?.id ?? 0);
  }

  /** The 'failed' events of every failure not yet repaired, oldest first. */
  async unrepaired(limit = 1000): Promise<FailureEvent[]> {
    const rows = await this.db
      .select({ event: events, failure: failures })
      .from(failures)
      .innerJoin(events, and(eq(events.failureId, failures.id), eq(events.kind, 'failed')))
      .where(isNull(failures.repairedAt))
      .orderBy(asc(failures.id))
      .limit(limit);
    return rows.map(({ event, failure }) => toEvent(event, failure));
  }

  /** How many failures no one has repaired yet, on all instances. */
  async countUnrepaired(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`COUNT(*)` }).from(failures).where(isNull(failures.repairedAt));
    return Number(row?.n ?? 0);
  }

  /**
   * A repair worker claiming due failures locks rows of the same table; the two can
   * deadlock (RepairQueue.claim reads at READ COMMITTED to make that rare, not
   * impossible). InnoDB then rolls one back whole, so the record is simply tried
   * again: it must be in MySQL before the mutation answers, not at the next repair round.
   */
  private insertRetryingLockConflicts(failure: FailedWrite): Promise<FailureEvent> {
    return retryingLockConflicts(
      () => this.insert(failure),
      (err, attempt) => this.logger.warn({ err, failure, attempt }, 'recording a failed cache write met a lock conflict; trying again'),
    );
  }

  /**
   * Records failures inside the caller's transaction, so that they commit with whatever
   * else it does (the sweep of abandoned writes deletes their intents in the same one).
   * Call `announce` with the result once it has committed.
   */
  async recordIn(tx: Transaction, failed: readonly FailedWrite[]): Promise<FailureEvent[]> {
    const recorded: FailureEvent[] = [];
    for (const failure of failed) recorded.push(await this.insertIn(tx, failure));
    return recorded;
  }

  /** Tells this instance's listeners of failures recorded by `recordIn`, after their commit. */
  announce(recorded: readonly FailureEvent[]): void {
    recorded.forEach((event) => this.notify(event));
  }

  private insert(failure: FailedWrite): Promise<FailureEvent> {
    return this.db.transaction((tx) => this.insertIn(tx, failure));
  }

  private async insertIn(tx: Transaction, failure: FailedWrite): Promise<FailureEvent> {
    const [header] = await tx.insert(failures).values({
      ...failure,
      error: failure.error.slice(0, 1000),
      nextAttemptAt: failure.occurredAt,
    });
    const failureId = header.insertId;
    const [eventHeader] = await tx
      .insert(events)
      .values({ failureId, kind: 'failed', occurredAt: failure.occurredAt, instance: failure.instance });
    return {
      ...failure,
      id: String(eventHeader.insertId),
      failureId: String(failureId),
      kind: 'failed' as const,
      repairedAt: null,
      repairedBy: null,
    };
  }

  private notify(event: FailureEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event }, 'a failure listener threw');
      }
    }
  }
}

export function toEvent(event: typeof events.$inferSelect, failure: typeof failures.$inferSelect): FailureEvent {
  const repaired = event.kind === 'repaired';
  return {
    id: String(event.id),
    failureId: String(failure.id),
    kind: event.kind,
    entity: failure.entity,
    entityId: failure.entityId,
    operation: failure.operation as FailureEvent['operation'],
    version: failure.version,
    error: failure.error,
    occurredAt: failure.occurredAt,
    instance: failure.instance,
    repairedAt: repaired ? event.occurredAt : null,
    repairedBy: repaired ? event.instance : null,
  };
}
