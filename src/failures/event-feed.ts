import { Channel } from '../writethrough/channel';
import type { CoreLogger } from '../writethrough/logger';
import type { FailureEvent } from './failure-event';
import type { FailureLog } from './failure-log';
import { FeedSubscription } from './feed-subscription';

export interface FeedFilter {
  /** Only events of this entity. */
  entity?: string | undefined;
  /** Replay the events after this id before the live ones. */
  after?: number | undefined;
}

export interface FeedOptions {
  pollMs: number;
  /**
   * How long a hole in the ids may stay open before the feed moves past it. Ids are
   * handed out at INSERT but become visible at COMMIT, so two instances recording at
   * once can commit out of order; a rolled-back insert leaves a hole for good.
   */
  gapGraceMs?: number;
  /** The step between auto-increment ids (`@@auto_increment_increment`; 1 unless clustered). */
  idStep?: number;
}

/**
 * Every instance's failure events, in id order, for this instance's subscribers: it
 * polls the log in MySQL (no Redis involved: Redis may be what is failing) and also
 * when told that this instance has just recorded one, so local failures arrive at once.
 */
export class EventFeed {
  private lastId = 0;
  private gap: { afterId: number; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<boolean> | undefined;
  private again = false;
  private readonly deliver = new Set<(event: FailureEvent) => void>();

  constructor(
    private readonly log: FailureLog,
    private readonly options: FeedOptions,
    private readonly logger: CoreLogger,
    /** Sees every event, before subscribers do (used to keep the suspect keys current). */
    private readonly observe: (event: FailureEvent) => void = () => {},
  ) {}

  /**
   * Starts after the newest event that exists now; earlier ones are for `after`
   * replays. Without `poll`, only this instance's own events arrive (through poke).
   */
  async start({ poll = true }: { poll?: boolean } = {}): Promise<void> {
    this.lastId = await this.log.latestEventId();
    if (!poll) return;
    this.timer = setInterval(() => void this.poke(), this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The id of the last event delivered: every event up to it has been applied. */
  get cursor(): number {
    return this.lastId;
  }

  /** Reads new events now. Overlapping calls share one read, and one more after it. */
  async poke(): Promise<void> {
    if (this.polling) {
      this.again = true;
      await this.polling.catch(() => {});
      return;
    }
    await this.startPoll().catch((err: unknown) => this.logger.warn({ err }, 'could not read the failure feed; retrying'));
  }

  /**
   * A read of the feed that starts after this call, not one already in flight: so when
   * it resolves true, every event committed before the call has been applied (the read
   * lease counts on it). False: it stopped at a hole in the ids, and what lies beyond
   * is not applied yet. Rejects if MySQL could not be read.
   */
  async catchUp(): Promise<boolean> {
    while (this.polling) await this.polling.catch(() => {});
    return this.startPoll();
  }

  private startPoll(): Promise<boolean> {
    const polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.again) {
        this.again = false;
        void this.poke();
      }
    });
    this.polling = polling;
    return polling;
  }

  subscribe(filter: FeedFilter = {}): AsyncIterableIterator<FailureEvent> {
    const matches = (e: FailureEvent) =>
      (filter.entity === undefined || e.entity === filter.entity) && (filter.after === undefined || Number(e.id) > filter.after);
    const push = (e: FailureEvent) => matches(e) && live.push(e);
    const live = new Channel<FailureEvent>(() => this.deliver.delete(push));
    this.deliver.add(push);
    return new FeedSubscription(
      live,
      (afterId, upToId) => this.log.eventsAfter(afterId, { upToId, entity: filter.entity }),
      filter.after,
      this.lastId,
    );
  }

  /** Reads and delivers events until none is left; false if it stopped at a hole. */
  private async poll(): Promise<boolean> {
    for (;;) {
      const events = await this.log.eventsAfter(this.lastId, { limit: 1000 });
      const delivered = this.deliverInOrder(events);
      if (delivered < events.length) return false;
      if (events.length < 1000) return true;
    }
  }

  /** Delivers the events that follow on without a hole; returns how many it delivered. */
  private deliverInOrder(events: FailureEvent[]): number {
    const step = this.options.idStep ?? 1;
    let delivered = 0;
    for (const event of events) {
      const id = Number(event.id);
      if (id !== this.lastId + step && !this.gapExpired()) break;
      this.gap = undefined;
      this.lastId = id;
      this.publish(event);
      delivered++;
    }
    return delivered;
  }

  /** True once the hole after lastId has stayed open for the grace period. */
  private gapExpired(): boolean {
    const now = Date.now();
    if (this.gap?.afterId !== this.lastId) this.gap = { afterId: this.lastId, since: now };
    return now - this.gap.since >= (this.options.gapGraceMs ?? 2_000);
  }

  private publish(event: FailureEvent): void {
    this.observe(event);
    for (const push of this.deliver) push(event);
  }
}
