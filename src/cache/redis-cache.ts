import type Redis from 'ioredis';
import { noMetrics, timed, type CoreMetrics } from '../writethrough/core-metrics';
import type { Cache, CasWrite } from './cache';
import { casOutcome, defineCasSet, type CasOutcome } from './cas-script';

export type { CasWrite } from './cache';

/** A batch of writes counts as a failed call only if no write in it was answered. */
export const someAnswered = (outcomes: ReadonlyArray<CasOutcome | Error>): boolean => !outcomes.every((o) => o instanceof Error);

/**
 * The cache as the write-through core sees it: batched reads and compare-and-set
 * writes, one round trip each. It knows Redis, not rows or GraphQL.
 */
export class RedisCache implements Cache {
  constructor(
    private readonly redis: Redis,
    private readonly metrics: CoreMetrics = noMetrics,
  ) {
    defineCasSet(redis);
  }

  /** One MGET for the whole batch; `null` where a key is absent. */
  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return timed(
      () => this.redis.mget(...keys),
      (seconds, ok) => this.metrics.redisCall('mget', seconds, ok),
    );
  }

  /**
   * Sends every write in one pipeline (one round trip) and reports each write's own
   * outcome: one write failing does not fail the others.
   */
  async casSetMany(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    if (writes.length === 0) return [];
    return timed(
      () => this.sendCasSets(writes),
      (seconds, ok) => this.metrics.redisCall('cas_set', seconds, ok),
      someAnswered,
    );
  }

  private async sendCasSets(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    if (writes.length === 1) return [await this.casSet(writes[0]!).catch(asError)];
    const pipeline = this.redis.pipeline();
    for (const w of writes) pipeline.casSet(w.key, w.version, w.value, w.ttlMs, w.notAfterMs);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      return writes.map(() => asError(err));
    }
    return writes.map((_, i) => {
      const [err, reply] = replies?.[i] ?? [new Error('no reply from Redis'), undefined];
      if (err) return err;
      try {
        return casOutcome(reply);
      } catch (e) {
        return asError(e);
      }
    });
  }

  async casSet(w: CasWrite): Promise<CasOutcome> {
    return casOutcome(await this.redis.casSet(w.key, w.version, w.value, w.ttlMs, w.notAfterMs));
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
