import type { Channel } from '../writethrough/channel';
import type { FailureEvent } from './failure-event';

/** Reads the events after `afterId` and up to `upToId`, oldest first, a page at a time. */
export type PageReader = (afterId: number, upToId: number) => Promise<FailureEvent[]>;

/**
 * A subscriber resuming `after` an event id: first the events it missed, read from
 * MySQL a page at a time as it consumes them (so a long backlog is never held in
 * memory at once), then the live ones. The live channel is registered before the
 * replay starts and receives only events newer than `upToId`, the last event the
 * feed had delivered at that moment, so none is missed or seen twice.
 */
export class FeedSubscription implements AsyncIterableIterator<FailureEvent> {
  private page: FailureEvent[] = [];
  private closed = false;

  constructor(
    private readonly live: Channel<FailureEvent>,
    private readonly readPage: PageReader,
    private replayAfter: number | undefined,
    private readonly upToId: number,
  ) {}

  async next(): Promise<IteratorResult<FailureEvent>> {
    if (this.page.length === 0 && this.replayAfter !== undefined && !this.closed) await this.readNextPage();
    if (this.page.length > 0) return { value: this.page.shift()!, done: false };
    return this.live.next();
  }

  return(): Promise<IteratorResult<FailureEvent>> {
    this.closed = true;
    this.page = [];
    return this.live.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async readNextPage(): Promise<void> {
    if (this.replayAfter! >= this.upToId) {
      this.replayAfter = undefined;
      return;
    }
    const page = await this.readPage(this.replayAfter!, this.upToId);
    if (this.closed) return;
    this.page = page;
    this.replayAfter = page.length > 0 ? Number(page[page.length - 1]!.id) : undefined;
  }
}
