import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { retryingLockConflicts } from '../db/errors';
import { writeThroughEvents as events, writeThroughFailures as failures, type WriteThroughFailureRow } from '../writethrough/tables';
import type { FailureEvent } from './failure-event';
import { toEvent } from './failure-log';

/**
 * The unrepaired failures as a work queue shared by every instance. A claim pushes
 * `next_attempt_at` forward, so a worker that dies mid-repair only delays the entry;
 * due times are reckoned on MySQL's clock, so instances with skewed clocks agree.
 */
export class RepairQueue {
  constructor(
    private readonly db: Database,
    private readonly instance: string,
  ) {}

  /**
   * Claims up to `limit` failures that are due. SKIP LOCKED: two instances claiming
   * at once get different rows, and neither waits for the other.
   */
  async claim(limit: number, claimMs: number): Promise<WriteThroughFailureRow[]> {
    return retryingLockConflicts(() => this.claimOnce(limit, claimMs));
  }

  private claimOnce(limit: number, claimMs: number): Promise<WriteThroughFailureRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(failures)
        .where(and(isNull(failures.repairedAt), sql`${failures.nextAttemptAt} <= NOW(3)`))
        .orderBy(asc(failures.id))
        .limit(limit)
        .for('update', { skipLocked: true });
      if (due.length > 0) {
        await tx
          .update(failures)
          .set({ nextAttemptAt: later(claimMs) })
          .where(inArray(failures.id, due.map((f) => f.id)));
      }
      return due;
      // READ COMMITTED: the claim locks the rows it takes and no gaps between them.
      // Under REPEATABLE READ its range scan took next-key locks on the due index,
      // and a failure being recorded meanwhile (an INSERT into that gap) deadlocked
      // with it: InnoDB rolled the INSERT back, and the record missed its mutation.
    }, { isolationLevel: 'read committed' });
  }

  /** Marks the failures repaired and appends a 'repaired' event for each, in one transaction. */
  async markRepaired(repaired: WriteThroughFailureRow[]): Promise<FailureEvent[]> {
    if (repaired.length === 0) return [];
    // The cache writes have landed: a lock conflict with another instance's claim or
    // a failure being recorded rolls this back whole, and it is simply run again.
    return retryingLockConflicts(() => this.markRepairedOnce(repaired));
  }

  private markRepairedOnce(repaired: WriteThroughFailureRow[]): Promise<FailureEvent[]> {
    return this.db.transaction(async (tx) => {
      const ids = repaired.map((f) => f.id);
      // Locked by primary key alone, then filtered: with `repaired_at IS NULL` in the
      // WHERE, InnoDB may scan the due index instead and lock every open failure (and
      // the gaps between them), other instances' claims included; their UPDATEs then
      // move entries of that index under each other's locks, and one is rolled back as
      // a deadlock. Only those still open count: another instance may have repaired one
      // after this claim ran out.
      const locked = await tx.select().from(failures).where(inArray(failures.id, ids)).for('update');
      const open = locked.filter((f) => f.repairedAt === null);
      if (open.length === 0) return [];
      const openIds = open.map((f) => f.id);
      const now = new Date();
      await tx.update(failures).set({ repairedAt: now, repairedBy: this.instance }).where(inArray(failures.id, openIds));
      await tx
        .insert(events)
        .values(openIds.map((failureId) => ({ failureId, kind: 'repaired' as const, occurredAt: now, instance: this.instance })));
      const rows = await tx
        .select({ event: events, failure: failures })
        .from(events)
        .innerJoin(failures, eq(failures.id, events.failureId))
        .where(and(inArray(events.failureId, openIds), eq(events.kind, 'repaired')))
        .orderBy(asc(events.id));
      return rows.map(({ event, failure }) => toEvent(event, failure));
      // READ COMMITTED, as for the claim: lock the rows named, no gaps.
    }, { isolationLevel: 'read committed' });
  }

  /** The unrepaired failure due soonest, whether due or not, unclaimed: what a probe of Redis writes (RepairWorker). */
  async soonest(): Promise<WriteThroughFailureRow | undefined> {
    const [next] = await this.db.select().from(failures).where(isNull(failures.repairedAt)).orderBy(asc(failures.nextAttemptAt)).limit(1);
    return next;
  }

  /**
   * Makes every failure postponed by a failed attempt due now: their backoff was spent
   * waiting for a Redis that answers again. Returns how many. (One another worker has
   * claimed meanwhile may be repaired twice, which the compare-and-set makes harmless.)
   */
  async makePostponedDue(): Promise<number> {
    const [header] = await this.db
      .update(failures)
      .set({ nextAttemptAt: sql`NOW(3)` as unknown as Date })
      .where(and(isNull(failures.repairedAt), sql`${failures.repairAttempts} > 0`, sql`${failures.nextAttemptAt} > NOW(3)`));
    return header.affectedRows;
  }

  /** Records a failed attempt and when to try again. */
  async postpone(failure: WriteThroughFailureRow, error: string, backoffMs: number): Promise<void> {
    await this.db
      .update(failures)
      .set({
        repairAttempts: sql`${failures.repairAttempts} + 1`,
        nextAttemptAt: later(backoffMs),
        lastRepairError: error.slice(0, 1000),
      })
      .where(eq(failures.id, failure.id));
  }
}

/** A time `ms` after MySQL's now. */
function later(ms: number) {
  return sql`DATE_ADD(NOW(3), INTERVAL ${Math.round(ms * 1000)} MICROSECOND)` as unknown as Date;
}
