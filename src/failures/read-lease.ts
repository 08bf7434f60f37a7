import type { CoreLogger } from '../writethrough/logger';
import type { EventFeed } from './event-feed';
import type { ReadLeases } from './read-leases';

export interface ReadLeaseSettings {
  /** How long one renewal lets this instance trust the cache; a writer waits at most this long. */
  leaseMs: number;
  /** How often it renews, reading the failure feed each time (FAILURE_FEED_POLL_MS). */
  renewEveryMs: number;
}

/**
 * This instance's right to answer reads from the cache. Another instance's failed
 * write is acknowledged only once this instance's cursor has passed it or its lease
 * has run out (failures/fence.ts), so the lease must end, on this side, no later than
 * MySQL says it does. Each renewal therefore:
 * 1. notes the time, then renews the row (MySQL's NOW(3) is later than that note);
 * 2. reads the feed with a read that starts after the renewal (`catchUp`), so any
 *    failure whose writer saw this lease expired, or missing, is applied before the
 *    lease counts again: a writer that saw it expired has committed its failure
 *    already, before this read began;
 * 3. only if that read applied everything (no hole in the ids held it back) extends
 *    the trust to the noted time + leaseMs. A read held at a hole extends nothing: a
 *    failure beyond the hole may be one a writer is waiting on, for up to leaseMs.
 * Clocks may be skewed between hosts; only their rates are assumed to agree over a lease.
 */
export class ReadLease {
  private trustedUntil = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly leases: ReadLeases,
    private readonly feed: EventFeed,
    private readonly settings: ReadLeaseSettings,
    private readonly logger: CoreLogger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether reads may answer from the cache now; when not, they read MySQL. */
  fresh(): boolean {
    return this.now() < this.trustedUntil;
  }

  /** Renews once (awaited, so reads use the cache as soon as start-up ends), then on a timer. */
  async start(): Promise<void> {
    await this.leases.purgeExpired().catch((err: unknown) => this.logger.warn({ err }, 'could not purge old read leases'));
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.settings.renewEveryMs);
    this.timer.unref();
  }

  /** Stops trusting the cache first, then gives the lease up, so no writer stops waiting too soon. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    this.trustedUntil = -Infinity;
    await this.leases.release().catch((err: unknown) => this.logger.warn({ err }, 'could not release the read lease; it expires by itself'));
  }

  /** One renewal; overlapping calls share it. Never throws: a failed renewal just lets the lease run out. */
  tick(): Promise<void> {
    this.ticking ??= this.renew().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async renew(): Promise<void> {
    const noted = this.now();
    try {
      await this.leases.renew(this.feed.cursor, this.settings.leaseMs);
      const before = this.feed.cursor;
      const caughtUp = await this.feed.catchUp();
      if (caughtUp) this.trustedUntil = Math.max(this.trustedUntil, noted + this.settings.leaseMs);
      // Writers waiting on what this read applied learn of it now, not a renewal later.
      if (this.feed.cursor !== before) await this.leases.renew(this.feed.cursor, this.settings.leaseMs);
      this.recovered();
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({ err, leaseMs: this.settings.leaseMs }, 'could not renew the read lease; reads go to MySQL once it runs out');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info({}, 'read lease renewed again');
  }
}
