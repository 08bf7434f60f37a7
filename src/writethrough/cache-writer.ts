import { setTimeout as sleep } from 'node:timers/promises';
import type { Cache, CasWrite } from '../cache/cache';
import { CacheUnavailableError } from '../cache/circuit-breaker';
import type { FailedWrite, FailureReporter, WriteOperation } from './failures';
import { noMetrics, type CoreMetrics } from './core-metrics';
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
 * pipeline, the failed ones again with backoff, and whatever still fails reported
 * to the failure log.
 * It never throws: the transaction has committed, so the caller's answer stands
 * whatever happens here.
 */
export class CacheWriter {
  constructor(
    private readonly cache: Cache,
    private readonly retry: RetryPolicy,
    private readonly reporter: FailureReporter,
    private readonly instance: string,
    private readonly logger: CoreLogger,
    private readonly metrics: CoreMetrics = noMetrics,
  ) {}

  /** `logger`: where the failures are logged, if not the core's own logger (a request's, say). */
  async write(writes: readonly PendingWrite[], logger: CoreLogger = this.logger): Promise<FailedWrite[]> {
    const failed: Array<[PendingWrite, string]> = [];
    let pending = [...writes];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const started = process.hrtime.bigint();
      const outcomes = await this.cache.casSetMany(pending.map((w) => w.cas));
      this.metrics.writeThroughSeconds(Number(process.hrtime.bigint() - started) / 1e9);
      const retryable: Array<[PendingWrite, string]> = [];
      outcomes.forEach((outcome, i) => {
        const w = pending[i]!;
        this.metrics.cacheWrite(w.entity, outcome instanceof Error ? 'error' : outcome);
        // 'stale' is success: an equal or newer version is already cached.
        if (outcome === 'set' || outcome === 'stale') return;
        // Past its deadline a retry cannot land either, and the key may hold an
        // older value: report it at once.
        if (outcome === 'late') failed.push([w, 'the cache write reached Redis after its deadline']);
        // The circuit refused it without asking Redis, and would refuse a retry too.
        else if (outcome instanceof CacheUnavailableError) failed.push([w, outcome.message]);
        else retryable.push([w, describe(outcome)]);
      });
      if (attempt === this.retry.retries) {
        failed.push(...retryable);
        break;
      }
      pending = retryable.map(([w]) => w);
      pending.forEach((w) => this.metrics.cacheWriteRetry(w.entity));
      if (pending.length > 0) await sleep(this.retry.delayMs * 2 ** attempt);
    }
    const reported: FailedWrite[] = [];
    for (const [w, error] of failed) reported.push(await this.report(w, error, logger));
    return reported;
  }

  /** Recorded before the mutation answers, so a crash right after cannot lose it. */
  private async report(w: PendingWrite, error: string, logger: CoreLogger): Promise<FailedWrite> {
    const failure: FailedWrite = {
      entity: w.entity,
      entityId: w.entityId,
      operation: w.operation,
      version: w.cas.version,
      error,
      occurredAt: new Date(),
      instance: this.instance,
    };
    logger.warn({ failure }, 'cache write failed after retries; the committed row is safe in MySQL');
    this.metrics.cacheWriteFailure(w.entity);
    await this.reporter.report(failure);
    return failure;
  }
}

function describe(err: Error): string {
  // A timed-out command may still run inside Redis later; say so, so nobody reading
  // the report assumes the key was left unchanged.
  if (/timed out/i.test(err.message)) return `${err.message} (outcome unknown: the write may still land)`;
  return err.message;
}
