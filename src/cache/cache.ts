import type { CasOutcome } from './cas-script';

/** One compare-and-set: see cas-script.ts for what each part means. */
export interface CasWrite {
  key: string;
  version: number;
  value: string;
  ttlMs: number;
  notAfterMs: number;
}

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
