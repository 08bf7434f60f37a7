import { setTimeout as sleep } from 'node:timers/promises';
import type { FailedWrite, FailureReporter } from '../writethrough/failures';
import type { CoreLogger } from '../writethrough/logger';
import type { FailureLog } from './failure-log';
import type { ReadLeases } from './read-leases';

export type FenceOutcome = 'passed' | 'expired';

interface Waiter {
  eventId: number;
  deadline: number;
  done: (outcome: FenceOutcome) => void;
}

/**
 * Holds a failed write's answer until every other instance treats its key as suspect.
 * Recording the failure in MySQL makes it durable, but another instance learns of it
 * only when it next reads the feed; until then it would answer from the cache with the
 * version before the write, to a read that began after the write was acknowledged. So
 * the writer waits until each other live instance's feed cursor has passed the
 * failure's event, or for at most one lease (failures/read-lease.ts says why an
 * instance that has not applied the event by then no longer trusts the cache).
 *
 * Only failed writes wait, and all waiters of this process share one query per step.
 */
export class Fence implements FailureReporter {
  private readonly waiters = new Set<Waiter>();
  private looping = false;
  private warned = false;

  constructor(
    private readonly log: FailureLog,
    private readonly leases: ReadLeases,
    private readonly settings: { leaseMs: number; stepMs?: number },
    private readonly logger: CoreLogger,
    private readonly observe: (outcome: FenceOutcome, seconds: number) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Records the failure, then waits. A failure MySQL would not take (kept in memory by
   * the log) has no event for anyone to pass: it answers at once, and the README says
   * what that double fault leaves open.
   */
  async report(failure: FailedWrite): Promise<void> {
    const event = await this.log.report(failure);
    if (event) await this.wait(Number(event.id));
  }

  /** Resolves once every other live instance has applied `eventId`, or one lease after the call. */
  wait(eventId: number): Promise<FenceOutcome> {
    // The clock starts after the event committed: a lease noted before that commit
    // ends within leaseMs of it, and one noted after reads the event before it counts.
    const started = this.now();
    return new Promise((resolve) => {
      this.waiters.add({
        eventId,
        deadline: started + this.settings.leaseMs,
        done: (outcome) => {
          this.observe(outcome, (this.now() - started) / 1000);
          resolve(outcome);
        },
      });
      if (!this.looping) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.waiters.size > 0) {
        this.release(await this.floor());
        if (this.waiters.size > 0) await sleep(this.settings.stepMs ?? 10);
      }
    } finally {
      this.looping = false;
    }
  }

  /** The other instances' lowest cursor; -Infinity (nothing passed) if MySQL cannot say. */
  private async floor(): Promise<number> {
    try {
      const floor = await this.leases.othersFloor();
      this.warned = false;
      return floor;
    } catch (err) {
      if (!this.warned) this.logger.warn({ err }, 'could not read the read leases; failed writes wait out the lease');
      this.warned = true;
      return -Infinity;
    }
  }

  private release(floor: number): void {
    const now = this.now();
    for (const waiter of this.waiters) {
      const outcome = waiter.eventId <= floor ? 'passed' : now >= waiter.deadline ? 'expired' : undefined;
      if (!outcome) continue;
      this.waiters.delete(waiter);
      if (outcome === 'expired') this.logger.warn({ eventId: waiter.eventId }, 'a failed write waited out the read lease: an instance still renewing did not read the failure in time');
      waiter.done(outcome);
    }
  }
}
