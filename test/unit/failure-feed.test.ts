import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/writethrough/channel';
import { FailureFeed } from '../../src/writethrough/failure-feed';
import { FailureEvents, type WriteThroughFailure } from '../../src/writethrough/failures';

const failure = (entity: string, entityId: number): Omit<WriteThroughFailure, 'id'> => ({
  entity,
  entityId,
  operation: 'update',
  version: 2,
  error: 'Command timed out',
  occurredAt: new Date(),
  instance: 'unit',
});

function setup(historySize?: number) {
  const events = new FailureEvents((err) => {
    throw err;
  });
  return { events, feed: new FailureFeed(events, historySize) };
}

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push((await iterator.next()).value as T);
  return out;
}

describe('FailureFeed', () => {
  it('numbers events from 1 and delivers live ones to every subscriber', async () => {
    const { events, feed } = setup();
    const a = feed.subscribe();
    const b = feed.subscribe();
    events.publish(failure('user', 1));
    events.publish(failure('user', 2));
    expect((await take(a, 2)).map((f) => f.id)).toEqual(['1', '2']);
    expect((await take(b, 2)).map((f) => f.entityId)).toEqual([1, 2]);
  });

  it('replays what came after the given id before the live events, with none twice', async () => {
    const { events, feed } = setup();
    for (let i = 1; i <= 5; i++) events.publish(failure('user', i));
    const resumed = feed.subscribe({ after: '3' });
    events.publish(failure('user', 6));
    expect((await take(resumed, 3)).map((f) => f.id)).toEqual(['4', '5', '6']);
  });

  it('filters by entity, in the replay and live', async () => {
    const { events, feed } = setup();
    events.publish(failure('user', 1));
    events.publish(failure('product', 2));
    const products = feed.subscribe({ entity: 'product', after: '0' });
    events.publish(failure('user', 3));
    events.publish(failure('product', 4));
    expect((await take(products, 2)).map((f) => f.entityId)).toEqual([2, 4]);
  });

  it('keeps only the most recent events for replay', async () => {
    const { events, feed } = setup(2);
    for (let i = 1; i <= 4; i++) events.publish(failure('user', i));
    const all = feed.subscribe({ after: '0' });
    events.publish(failure('user', 5));
    expect((await take(all, 3)).map((f) => f.id)).toEqual(['3', '4', '5']);
  });

  it('stops delivering to a subscriber that returned, even one waiting for an event', async () => {
    const { events, feed } = setup();
    const sub = feed.subscribe();
    const pending = sub.next();
    await sub.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    events.publish(failure('user', 1));
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });
});

describe('Channel', () => {
  it('runs onClose once, whether returned twice or not', async () => {
    let closed = 0;
    const channel = new Channel<number>(() => closed++);
    await channel.return();
    await channel.return();
    expect(closed).toBe(1);
  });

  it('cuts off a consumer that falls too far behind, with an error saying how to resume', async () => {
    const channel = new Channel<number>(() => {}, 2);
    [1, 2, 3].forEach((n) => channel.push(n));
    expect(await take(channel, 2)).toEqual([1, 2]);
    await expect(channel.next()).rejects.toThrow(/fell more than 2 events behind; resubscribe with `after`/);
  });
});
