/**
 * What the write-through core reports as it works. The core calls these and knows
 * nothing of Prometheus; prometheus.ts implements them, tests may count them, and
 * `noMetrics` ignores them. Labels are bounded: an entity name, an outcome, an
 * operation kind — never an id.
 */
export type LookupResult = 'hit' | 'negative_hit' | 'miss' | 'bypassed';
export type WriteOutcome = 'set' | 'stale' | 'late' | 'error';

export interface CoreMetrics {
  /** Keys a read found in the cache (or not), by result; `bypassed`: suspect keys read from MySQL. */
  cacheLookups(entity: string, result: LookupResult, count: number): void;
  /** The size of one loader batch. */
  loaderBatch(entity: string, size: number): void;
  redisCall(operation: 'mget' | 'cas_set', seconds: number, ok: boolean): void;
  /** `replica_select`: a read the cache could not answer, sent to a read replica. */
  mysqlCall(operation: 'select' | 'replica_select' | 'transaction', seconds: number, ok: boolean): void;
  /** One attempt of one cache write after a commit. */
  cacheWrite(entity: string, outcome: WriteOutcome): void;
  /** How long one attempt's pipeline of a commit's cache writes took. */
  writeThroughSeconds(seconds: number): void;
  cacheWriteRetry(entity: string): void;
  /** A cache write that still failed after its retries (and was recorded). */
  cacheWriteFailure(entity: string): void;
  repair(entity: string, outcome: 'repaired' | 'postponed'): void;
  /**
   * How long a failed write's answer waited for the other instances to read its
   * failure: `passed` when they all did, `expired` when it waited out the read lease.
   */
  fenceWait(outcome: 'passed' | 'expired', seconds: number): void;
  /** The end of one key's check by the consistency inspector, or its repair (inspector/consistency-figures.ts). */
  inspection(entity: string, result: 'consistent' | 'in_flight' | 'recorded' | 'inconsistent' | 'repaired' | 'read_fresh' | 'read_stale'): void;
  /** How long a confirmed inconsistency had been there at most, from its write (or read) to its confirmation. */
  inconsistencyAge(entity: string, seconds: number): void;
}

export const noMetrics: CoreMetrics = {
  cacheLookups() {},
  loaderBatch() {},
  redisCall() {},
  mysqlCall() {},
  cacheWrite() {},
  writeThroughSeconds() {},
  cacheWriteRetry() {},
  cacheWriteFailure() {},
  repair() {},
  fenceWait() {},
  inspection() {},
  inconsistencyAge() {},
};

/** Runs `work`, reporting how long it took and whether it threw. */
export async function timed<T>(
  work: () => Promise<T>,
  report: (seconds: number, ok: boolean) => void,
  /** For work that answers its failures instead of throwing them. */
  succeeded: (result: T) => boolean = () => true,
): Promise<T> {
  const started = process.hrtime.bigint();
  let ok = false;
  try {
    const result = await work();
    ok = succeeded(result);
    return result;
  } finally {
    report(Number(process.hrtime.bigint() - started) / 1e9, ok);
  }
}
