import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/cache/cache';
import { CacheUnavailableError, CircuitBreakingCache } from '../../src/cache/circuit-breaker';
import type { CasOutcome } from '../../src/cache/cas-script';
import type { CasWrite } from '../../src/cache/redis-cache';

/** A cache that answers every batch of writes with the same outcomes. */
function answering(outcomes: Array<CasOutcome | Error>): Cache {
  return {
    mget: async (keys) => keys.map(() => null),
    casSetMany: async () => outcomes,
  };
}

const SETTINGS = { errorPercent: 50, minRequests: 2, resetMs: 60_000 };
const quiet = { warn() {}, info() {} };
const writes: CasWrite[] = ['a', 'b'].map((key) => ({ key, version: 1, value: '{"v":1}', ttlMs: 1_000, notAfterMs: 0 }));

const circuits: CircuitBreakingCache[] = [];
afterEach(() => circuits.splice(0).forEach((c) => c.shutdown()));
function circuit(inner: Cache, connection?: EventEmitter) {
  const c = new CircuitBreakingCache(inner, SETTINGS, { logger: quiet, ...(connection ? { connection } : {}) });
  circuits.push(c);
  return c;
}

describe('CircuitBreakingCache: a batch of writes', () => {
  it('counts a batch with mixed outcomes as an answer, and passes each outcome on', async () => {
    const timedOut = new Error('Command timed out');
    const c = circuit(answering([timedOut, 'set']));
    for (let i = 0; i < 10; i++) expect(await c.casSetMany(writes)).toEqual([timedOut, 'set']);
    expect(c.state).toBe('closed');
  });

  it('counts a batch in which every write went unanswered as a failure', async () => {
    const timedOut = new Error('Command timed out');
    const c = circuit(answering([timedOut, timedOut]));
    expect(await c.casSetMany(writes)).toEqual([timedOut, timedOut]);
    expect(await c.casSetMany(writes)).toEqual([timedOut, timedOut]);
    expect(c.state).toBe('open');
    expect(await c.casSetMany(writes)).toEqual([expect.any(CacheUnavailableError), expect.any(CacheUnavailableError)]);
  });
});

describe('CircuitBreakingCache: shutdown', () => {
  it('holds no timer that keeps the process alive, even while open', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const connection = new EventEmitter();
    const c = circuit(answering([]), connection);
    connection.emit('close'); // opening starts the reset timer
    expect(c.state).toBe('open');
    expect(timers()).toBe(before);
  });

  it('lets go of the connection, so a later reconnect cannot revive it', async () => {
    const connection = new EventEmitter();
    const c = circuit(answering([]), connection);
    c.shutdown();
    expect(['close', 'end', 'ready'].map((event) => connection.listenerCount(event))).toEqual([0, 0, 0]);
    connection.emit('ready');
    await expect(c.mget(['a'])).rejects.toBeInstanceOf(CacheUnavailableError);
  });
});
