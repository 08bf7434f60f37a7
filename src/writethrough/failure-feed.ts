import { Channel } from './channel';
import type { FailureEvents, WriteThroughFailure } from './failures';

export interface FeedFilter {
  /** Only failures of this entity ('user', 'product', 'order'). */
  entity?: string | undefined;
  /** Replay the failures after this event id before the live ones. */
  after?: string | undefined;
}

/**
 * Every write-through failure this process has seen, for subscribers: the recent
 * ones kept in memory so that a subscriber can resume `after` the last id it saw,
 * then the live ones as they happen. Ids are this process's sequence numbers.
 */
export class FailureFeed {
  private readonly history: WriteThroughFailure[] = [];
  private readonly channels = new Set<(failure: WriteThroughFailure) => void>();

  constructor(
    events: FailureEvents,
    private readonly historySize = 1_000,
  ) {
    events.subscribe((failure) => this.record(failure));
  }

  subscribe(filter: FeedFilter = {}): AsyncIterableIterator<WriteThroughFailure> {
    const matches = (f: WriteThroughFailure) => !filter.entity || f.entity === filter.entity;
    const deliver = (f: WriteThroughFailure) => {
      if (matches(f)) channel.push(f);
    };
    const channel = new Channel<WriteThroughFailure>(() => this.channels.delete(deliver));
    // Replay and go live in one synchronous step, so no event falls between the two.
    if (filter.after !== undefined) {
      const after = Number(filter.after);
      this.history.filter((f) => Number(f.id) > after).forEach(deliver);
    }
    this.channels.add(deliver);
    return channel;
  }

  private record(failure: WriteThroughFailure): void {
    this.history.push(failure);
    if (this.history.length > this.historySize) this.history.shift();
    for (const deliver of this.channels) deliver(failure);
  }
}
