import type { CoreMetrics, LookupResult } from '../writethrough/core-metrics';

export interface StatsSample {
  /** Start of the bucket. */
  at: Date;
  hits: number;
  misses: number;
  /** Mean time of the cache-write pipelines sent after commits, in ms (null: none). */
  writeThroughMs: number | null;
  failures: number;
}

export interface StatsSnapshot {
  lookups: Record<LookupResult, number>;
  /** hits / (hits + misses), negative hits counting as hits; null before the first lookup. */
  hitRatio: number | null;
  lastRepairAt: Date | null;
  series: StatsSample[];
}

const BUCKET_MS = 10_000;
const BUCKETS = 60; // ten minutes

interface Bucket {
  start: number;
  hits: number;
  misses: number;
  writeSeconds: number;
  writes: number;
  failures: number;
}

/**
 * What this instance has seen since it started, kept in memory for the `cacheStatus`
 * query and the /monitor page: totals, and ten minutes of ten-second buckets for the
 * charts. Prometheus keeps the long history; this is the glance.
 */
export class CacheStats implements CoreMetrics {
  private readonly lookups: Record<LookupResult, number> = { hit: 0, negative_hit: 0, miss: 0, bypassed: 0 };
  private readonly buckets: Bucket[] = [];
  private lastRepair: Date | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  cacheLookups(_: string, result: LookupResult, count: number): void {
    this.lookups[result] += count;
    const bucket = this.bucket();
    if (result === 'hit' || result === 'negative_hit') bucket.hits += count;
    else bucket.misses += count;
  }

  writeThroughSeconds(seconds: number): void {
    const bucket = this.bucket();
    bucket.writeSeconds += seconds;
    bucket.writes++;
  }

  cacheWriteFailure(): void {
    this.bucket().failures++;
  }

  repair(_: string, outcome: 'repaired' | 'postponed'): void {
    if (outcome === 'repaired') this.lastRepair = new Date(this.now());
  }

  loaderBatch(): void {}
  redisCall(): void {}
  mysqlCall(): void {}
  cacheWrite(): void {}
  cacheWriteRetry(): void {}
  fenceWait(): void {}
  inspection(): void {}
  inconsistencyAge(): void {}

  snapshot(): StatsSnapshot {
    const { hit, negative_hit, miss, bypassed } = this.lookups;
    const looked = hit + negative_hit + miss + bypassed;
    return {
      lookups: { ...this.lookups },
      hitRatio: looked === 0 ? null : (hit + negative_hit) / looked,
      lastRepairAt: this.lastRepair,
      series: this.series(),
    };
  }

  /** Every bucket of the last ten minutes, oldest first, empty ones included. */
  private series(): StatsSample[] {
    const current = this.startOf(this.now());
    const byStart = new Map(this.buckets.map((b) => [b.start, b]));
    return Array.from({ length: BUCKETS }, (_, i) => {
      const start = current - (BUCKETS - 1 - i) * BUCKET_MS;
      const b = byStart.get(start);
      return {
        at: new Date(start),
        hits: b?.hits ?? 0,
        misses: b?.misses ?? 0,
        writeThroughMs: b && b.writes > 0 ? (b.writeSeconds / b.writes) * 1000 : null,
        failures: b?.failures ?? 0,
      };
    });
  }

  private bucket(): Bucket {
    const start = this.startOf(this.now());
    let last = this.buckets[this.buckets.length - 1];
    if (last?.start !== start) {
      last = { start, hits: 0, misses: 0, writeSeconds: 0, writes: 0, failures: 0 };
      this.buckets.push(last);
      if (this.buckets.length > BUCKETS) this.buckets.shift();
    }
    return last;
  }

  private startOf(ms: number): number {
    return ms - (ms % BUCKET_MS);
  }
}

/** Reports to every one of `sinks`: the Prometheus metrics and these stats, say. */
export function fanOut(...sinks: CoreMetrics[]): CoreMetrics {
  return {
    cacheLookups: (...a) => sinks.forEach((s) => s.cacheLookups(...a)),
    loaderBatch: (...a) => sinks.forEach((s) => s.loaderBatch(...a)),
    redisCall: (...a) => sinks.forEach((s) => s.redisCall(...a)),
    mysqlCall: (...a) => sinks.forEach((s) => s.mysqlCall(...a)),
    cacheWrite: (...a) => sinks.forEach((s) => s.cacheWrite(...a)),
    writeThroughSeconds: (...a) => sinks.forEach((s) => s.writeThroughSeconds(...a)),
    cacheWriteRetry: (...a) => sinks.forEach((s) => s.cacheWriteRetry(...a)),
    cacheWriteFailure: (...a) => sinks.forEach((s) => s.cacheWriteFailure(...a)),
    repair: (...a) => sinks.forEach((s) => s.repair(...a)),
    fenceWait: (...a) => sinks.forEach((s) => s.fenceWait(...a)),
    inspection: (...a) => sinks.forEach((s) => s.inspection(...a)),
    inconsistencyAge: (...a) => sinks.forEach((s) => s.inconsistencyAge(...a)),
  };
}
