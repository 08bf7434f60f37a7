import { vi } from 'vitest';
import type { EventFeed } from '../../src/failures/event-feed';
import { pollUntil } from './poll';

export interface FeedWatch {
  /** How many subscriptions the server has opened on the feed so far. */
  readonly calls: number;
  /** Subscriptions the server holds open on the feed right now. */
  readonly open: number;
  /** Resolves once the server holds `n` open subscriptions. */
  untilOpen(n: number): Promise<void>;
}

/**
 * graphql-ws acknowledges a connection but never a subscription, so a client cannot
 * tell when the server has registered one. This watches the feed the resolver
 * subscribes to: once `subscribe` has returned, every later event reaches that
 * subscriber; once its iterator is returned, none does.
 */
export function watchFeed(feed: EventFeed): FeedWatch {
  const open = new Set<AsyncIterator<unknown>>();
  let calls = 0;
  const subscribe = feed.subscribe.bind(feed);
  vi.spyOn(feed, 'subscribe').mockImplementation((filter) => {
    calls++;
    const iterator = subscribe(filter);
    const release = iterator.return!.bind(iterator);
    iterator.return = () => {
      open.delete(iterator);
      return release();
    };
    open.add(iterator);
    return iterator;
  });
  return {
    get calls() {
      return calls;
    },
    get open() {
      return open.size;
    },
    untilOpen: (n) => pollUntil(`the server to hold ${n} open subscription(s) on the feed`, () => open.size === n).then(() => {}),
  };
}
