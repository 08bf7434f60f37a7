import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/writethrough/channel';

describe('Channel', () => {
  it('hands out pushed values in order, to a consumer already waiting or one that comes later', async () => {
    const channel = new Channel<number>(() => {});
    const waiting = channel.next();
    channel.push(1);
    channel.push(2);
    expect(await waiting).toEqual({ value: 1, done: false });
    expect(await channel.next()).toEqual({ value: 2, done: false });
  });

  it('ends a consumer waiting when it is returned, and runs onClose once', async () => {
    let closed = 0;
    const channel = new Channel<number>(() => closed++);
    const waiting = channel.next();
    await channel.return();
    await channel.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    channel.push(1);
    expect(await channel.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it('cuts off a consumer that falls too far behind, with an error saying how to resume', async () => {
    const channel = new Channel<number>(() => {}, 2);
    [1, 2, 3].forEach((n) => channel.push(n));
    expect([(await channel.next()).value, (await channel.next()).value]).toEqual([1, 2]);
    await expect(channel.next()).rejects.toThrow(/fell more than 2 events behind; resubscribe with `after`/);
  });
});
