import type { Inspection } from './inspection';

/** What an inspection ends as: its verdict, or `in_flight` when a first check's inconsistency was gone at the second. */
export type InspectionResult = Inspection | 'in_flight';

const RESULTS: readonly InspectionResult[] = ['consistent', 'in_flight', 'recorded', 'inconsistent'];
const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

export type InspectionCounts = Record<InspectionResult, number>;

export interface ConsistencyWindow extends InspectionCounts {
  checked: number;
  /** -log10 of the inconsistent share; null before anything was checked, Infinity while none was inconsistent. */
  nines: number | null;
}

export interface ConsistencySnapshot {
  total: ConsistencyWindow;
  lastHour: ConsistencyWindow;
  lastDay: ConsistencyWindow;
  repaired: number;
  /** Sampled cache hits since start: checked, and stale (served a version the cache was then confirmed wrong to hold). */
  reads: { checked: number; stale: number; nines: number | null };
  /** Checks waiting: not yet due, due again (a second look), or waiting for the cache or MySQL to answer. */
  pending: number;
}

const zero = (): InspectionCounts => ({ consistent: 0, in_flight: 0, recorded: 0, inconsistent: 0 });

/**
 * The inspector's counts since start, and per minute over the last day, so the nines
 * of the last hour and day can be read off without a time-series store. A minute's
 * bucket is reused a day later (cleared when its minute comes round again).
 */
export class ConsistencyFigures {
  private readonly total = zero();
  private readonly minutes = Array.from({ length: DAY_MINUTES }, () => ({ minute: -1, counts: zero() }));
  private repaired = 0;
  private readonly reads = { checked: 0, stale: 0 };

  constructor(
    private readonly now: () => number = Date.now,
    private readonly pending: () => number = () => 0,
  ) {}

  count(result: InspectionResult): void {
    this.total[result]++;
    this.bucket(Math.floor(this.now() / MINUTE_MS)).counts[result]++;
  }

  countRepaired(): void {
    this.repaired++;
  }

  /** A sampled cache hit, checked against MySQL. */
  countRead(): void {
    this.reads.checked++;
  }

  /** A sampled hit served a version the cache was then confirmed wrong to hold (checked twice). */
  countStaleRead(): void {
    this.reads.stale++;
  }

  snapshot(): ConsistencySnapshot {
    const minute = Math.floor(this.now() / MINUTE_MS);
    const { checked, stale } = this.reads;
    const reads = { checked, stale, nines: ninesOf(stale, checked) };
    return { total: windowOf(this.total), lastHour: this.since(minute - 59), lastDay: this.since(minute - DAY_MINUTES + 1), repaired: this.repaired, reads, pending: this.pending() };
  }

  private since(first: number): ConsistencyWindow {
    const sum = zero();
    for (const b of this.minutes) if (b.minute >= first) for (const r of RESULTS) sum[r] += b.counts[r];
    return windowOf(sum);
  }

  private bucket(minute: number) {
    const b = this.minutes[minute % DAY_MINUTES]!;
    if (b.minute !== minute) Object.assign(b, { minute, counts: zero() });
    return b;
  }
}

/**
 * Nines count the keys found wrong without the log knowing (`inconsistent`); `recorded`
 * ones are failures the service already reported and repairs, and `in_flight` ones
 * were gone by the second check.
 */
function windowOf(counts: InspectionCounts): ConsistencyWindow {
  const checked = RESULTS.reduce((n, r) => n + counts[r], 0);
  return { ...counts, checked, nines: ninesOf(counts.inconsistent, checked) };
}

/** -log10 of the bad share; null before anything was checked, Infinity while none was bad. */
function ninesOf(bad: number, checked: number): number | null {
  return checked === 0 ? null : bad === 0 ? Infinity : -Math.log10(bad / checked);
}
