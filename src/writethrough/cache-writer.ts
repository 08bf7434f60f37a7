import { setTimeout as sleep } from 'node:timers/promises';
import type { Cache } from '../cache/cache';
import type { CasWrite } from '../cache/redis-cache';
import type { FailureEvents, WriteOperation, WriteThroughFailure } from './failures';
import type { CoreLogger } from './logger';

/** A committed write's cache update, with what a failure report needs to name it. */
export interface PendingWrite {
  entity: string;
  entityId: number;
  operation: WriteOperation;
  cas: CasWrite;
}

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** Delay before the first retry; each later one waits twice as long. */
  delayMs: number;
}

/**
 * Writes committed rows to the cache after their transaction: all of them in one
 * pipeline, the failed ones again with backoff, and whatever still fails reported.
 * It never throws: the transaction has committed, so the caller's answer stands
 * whatever happens here.
 */
export class CacheWriter {
  constructor(
    private readonly cache: Cache,
    private readonly retry: RetryPolicy,
    private readonly failures: FailureEvents,
    private readonly instance: string,
    private readonly logger: CoreLogger,
  ) {}

  async write(writes: readonly PendingWrite[]): Promise<WriteThroughFailure[]> {
    const failed: Array<[PendingWrite, string]> = [];
    let pending = [...writes];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const outcomes = await this.cache.casSetMany(pending.map((w) => w.cas));
      const retryable: Array<[PendingWrite, string]> = [];
      outcomes.forEach((outcome, i) => {
        const w = pending[i]!;
        // 'stale' is success: an equal or newer version is already cached.
        if (outcome === 'set' || outcome === 'stale') return;
        // Past its deadline a retry cannot land either, and the key may hold an
        // older value: report it at once.
        if (outcome === 'late') failed.push([w, 'the cache write reached Redis after its deadline']);
        else retryable.push([w, describe(outcome)]);
      });
      if (attempt === this.retry.retries) {
        failed.push(...retryable);
        break;
      }
      pending = retryable.map(([w]) => w);
      if (pending.length > 0) await sleep(this.retry.delayMs * 2 ** attempt);
    }
    return failed.map(([w, error]) => this.report(w, error));
  }

  private report(w: PendingWrite, error: string): WriteThroughFailure {
    const failure = this.failures.publish({
      entity: w.entity,
      entityId: w.entityId,
      operation: w.operation,
      version: w.cas.version,
      error,
      occurredAt: new Date(),
      instance: this.instance,
    });
    this.logger.warn({ failure }, 'cache write failed after retries; the committed row is safe in MySQL');
    return failure;
  }
}

function describe(err: Error): string {
  // A timed-out command may still run inside Redis later; say so, so nobody reading
  // the report assumes the key was left unchanged.
  if (/timed out/i.test(err.message)) return `${err.message} (outcome unknown: the write may still land)`;
  return err.message;
}
