import type { CasOutcome } from './cas-script';
import type { CasWrite } from './redis-cache';

/**
 * The cache as the write-through core uses it: batched reads and compare-and-set
 * writes, one round trip each. RedisCache talks to Redis; CircuitBreakingCache puts a
 * breaker in front of it.
 */
export interface Cache {
  /** One round trip; `null` where a key is absent. Rejects if the cache cannot answer. */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /** One round trip for all the writes; each write's own outcome, or the Error it met. Never rejects. */
  casSetMany(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>>;
}
