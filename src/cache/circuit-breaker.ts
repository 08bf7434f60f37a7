import type { EventEmitter } from 'node:events';
import { ReplyError } from 'ioredis';
import CircuitBreaker from 'opossum';
import type { Cache, CasWrite } from './cache';
import type { CasOutcome } from './cas-script';

/** When Redis stops answering, stop asking it for a while. */
export interface BreakerSettings {
  /** Open when at least this share of recent Redis calls failed or timed out… */
  errorPercent: number;
  /** …and at least this many were made in the window. */
  minRequests: number;
  /** After this long open, let one call through to probe Redis. */
  resetMs: number;
}

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export interface BreakerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface CircuitBreakingCacheOptions {
  logger: BreakerLogger;
  /**
   * The ioredis client behind the inner cache. Its 'close'/'end' open the circuit and
   * its 'ready' closes it, so a Redis known to be gone costs no failed calls at all.
   */
  connection?: EventEmitter;
}

/** The call was refused without asking Redis: the circuit judged that Redis is not answering. */
export class CacheUnavailableError extends Error {
  constructor(
    readonly state: BreakerState,
    options?: { cause?: unknown },
  ) {
    super(`Redis circuit is ${state === 'halfOpen' ? 'half-open' : state}; not waiting for it`, options);
    this.name = 'CacheUnavailableError';
  }
}

/**
 * How far back the circuit looks when it judges Redis. Long enough to hold
 * `minRequests` calls on a quiet instance (a window shorter than the gap between its
 * calls could never open), short enough to forget an outage soon after it ends. The
 * price, under steady traffic: a Redis that suddenly stops answering is judged on
 * the whole window, so the failures need about `errorPercent` of it (≈ 5 s at 50 %)
 * to outweigh the successes before it. A Redis that drops its connections is
 * caught at once, by the connection's events, not by this.
 */
const ROLLING_WINDOW_MS = 10_000;
const ROLLING_BUCKETS = 10;

/**
 * A cache that stops asking Redis once Redis stops answering, so that requests read
 * MySQL at once instead of each waiting out a command timeout (DESIGN.md, invariant 7).
 * One circuit for the whole Redis server: reads and writes share one connection, and
 * either failing says the same thing about it.
 *
 * Only unanswered calls count against Redis (timeouts, a closed connection). An error
 * reply is an answer: a batch whose writes Redis refused, or a mix of refusals and
 * successes, shows a Redis that is there, and opening the circuit would only send
 * every read to MySQL.
 */
export class CircuitBreakingCache implements Cache {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  private detach: (() => void) | undefined;
  private connectionLost = false;
  private lastFailure: Error | undefined;
  private outageSince: number | undefined;
  private probing = false;

  constructor(
    private readonly inner: Cache,
    settings: BreakerSettings,
    private readonly options: CircuitBreakingCacheOptions,
  ) {
    this.breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name: 'redis',
      // ioredis's commandTimeout already bounds every call; a second, looser clock
      // here would only report the same timeout later.
      timeout: false,
      errorThresholdPercentage: atLeast(settings.errorPercent),
      volumeThreshold: settings.minRequests,
      resetTimeout: settings.resetMs,
      rollingCountTimeout: ROLLING_WINDOW_MS,
      rollingCountBuckets: ROLLING_BUCKETS,
      // Nothing reads latency percentiles or snapshots; with them on, opossum sorts
      // every latency in the window on each failure and runs a second interval.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      errorFilter: isReply,
    });
    this.logTransitions();
    if (options.connection) this.follow(options.connection);
  }

  /** For /readyz and tests. After `shutdown()` it reads 'open': nothing gets through. */
  get state(): BreakerState {
    if (this.breaker.closed) return 'closed';
    if (this.breaker.halfOpen) return 'halfOpen';
    return 'open';
  }

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    // An empty batch asks Redis nothing, so it says nothing about Redis either.
    if (keys.length === 0) return [];
    return this.fire(() => this.inner.mget(keys));
  }

  async casSetMany(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    if (writes.length === 0) return [];
    try {
      return await this.fire(async () => {
        const outcomes = await this.inner.casSetMany(writes);
        // The inner cache never rejects; the circuit only learns of a failure if we do.
        if (outcomes.every(isUnanswered)) throw new UnansweredBatch(outcomes);
        return outcomes;
      });
    } catch (err) {
      if (err instanceof UnansweredBatch) return err.outcomes;
      // The Cache contract: each write gets its own answer, and nothing rejects.
      return writes.map(() => (err instanceof Error ? err : new Error(String(err))));
    }
  }

  /**
   * Stops following the connection and stops opossum's timers. Opossum unrefs its
   * timers, so they would not hold the process open, but letting go of the
   * connection matters: a later 'ready' would close() the shut-down circuit, and
   * opossum would then pass calls straight through with no protection.
   */
  shutdown(): void {
    this.detach?.();
    this.detach = undefined;
    this.breaker.shutdown();
  }

  private async fire<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(call)) as T;
    } catch (err) {
      // Opossum's own rejections (open, shut down) become ours, so callers can tell
      // "not asked" from "asked and failed" without knowing opossum.
      if (err instanceof Error && CircuitBreaker.isOurError(err)) throw new CacheUnavailableError(this.state, { cause: err });
      throw err;
    }
  }

  /**
   * A closed socket fails every call at once, so nothing would wait on it; opening
   * anyway spares those calls and keeps /readyz honest. While the connection stays
   * down, opossum still goes half-open after `resetMs` and lets one call through as
   * a probe; with no offline queue that probe fails at once ("Stream isn't
   * writeable"), so probing a dead connection costs no timeout, and the circuit
   * opens again. 'ready' closes it without waiting for the next probe: ioredis has
   * just reconnected and Redis has answered its ready check. Probes remain what
   * detects recovery when the connection stayed up but Redis did not answer (a
   * blackhole, a paused server): no connection event ever comes then.
   */
  private follow(connection: EventEmitter): void {
    const lost = () => {
      this.connectionLost = true;
      this.breaker.open();
    };
    const back = () => {
      this.connectionLost = false;
      this.breaker.close();
    };
    connection.on('close', lost);
    connection.on('end', lost);
    connection.on('ready', back);
    this.detach = () => {
      connection.off('close', lost);
      connection.off('end', lost);
      connection.off('ready', back);
    };
  }

  /**
   * One line when an outage starts, one at its first probe, one when it ends. While
   * Redis stays away the circuit goes half-open and open again every `resetMs`;
   * logging each round would say nothing new, twice a second.
   */
  private logTransitions(): void {
    const { logger } = this.options;
    this.breaker.on('failure', (err) => (this.lastFailure = err));
    this.breaker.on('open', () => {
      if (this.outageSince !== undefined) return;
      this.outageSince = Date.now();
      const cause = this.connectionLost ? { reason: 'the connection to Redis is gone' } : { reason: 'Redis calls are failing', err: this.lastFailure };
      logger.warn(cause, 'Redis circuit open: reading MySQL and failing cache writes at once');
    });
    this.breaker.on('halfOpen', () => {
      if (this.outageSince === undefined || this.probing) return;
      this.probing = true;
      logger.info({}, 'Redis circuit half-open: the next call probes Redis');
    });
    this.breaker.on('close', () => {
      if (this.outageSince === undefined) return;
      logger.info({ outageMs: Date.now() - this.outageSince }, 'Redis circuit closed: Redis answers again');
      this.outageSince = undefined;
      this.probing = false;
    });
  }
}

/** Every write of the batch went unanswered; carries the outcomes back past opossum. */
class UnansweredBatch extends Error {
  constructor(readonly outcomes: Array<CasOutcome | Error>) {
    const first = outcomes.find((o): o is Error => o instanceof Error);
    super(first?.message ?? 'no write was answered', { cause: first });
    this.name = 'UnansweredBatch';
  }
}

/** An error reply: Redis is there and said no (a script error, OOM, WRONGTYPE). */
function isReply(err: unknown): boolean {
  return err instanceof ReplyError;
}

function isUnanswered(outcome: CasOutcome | Error): boolean {
  return outcome instanceof Error && !isReply(outcome);
}

/**
 * BreakerSettings promise to open when *at least* `errorPercent` of calls failed;
 * opossum opens only *above* its threshold (so 100 would never open). Shading it
 * down by far less than one call in a window makes the two agree, floating-point
 * error included (29 / 100 * 100 is 28.999999999999996).
 */
function atLeast(percent: number): number {
  return percent - 1e-6;
}
