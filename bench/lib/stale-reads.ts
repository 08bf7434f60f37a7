/** A read of one key, timed from send to answer, and the version it got (undefined: no row). */
export interface TimedRead {
  key: string;
  invokedAt: number;
  completedAt: number;
  version: number | undefined;
}

/** An acknowledged write of one key, and the version its answer named. */
export interface TimedWrite {
  key: string;
  completedAt: number;
  version: number;
}

/**
 * The reads that began after a write of their key was acknowledged and returned an
 * older version: what a client of the service sees as the cache lying. A read that
 * overlaps a write may return either version, so only writes acknowledged before the
 * read was sent count.
 */
export function staleReads(reads: readonly TimedRead[], writes: readonly TimedWrite[]): TimedRead[] {
  const byKey = new Map<string, TimedWrite[]>();
  for (const w of writes) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  // Per key, by acknowledgement time, with the highest version acknowledged so far.
  const acked = new Map<string, Array<{ at: number; newest: number }>>();
  for (const [key, ws] of byKey) {
    let newest = 0;
    acked.set(key, [...ws].sort((a, b) => a.completedAt - b.completedAt).map((w) => ({ at: w.completedAt, newest: (newest = Math.max(newest, w.version)) })));
  }
  return reads.filter((r) => {
    const list = acked.get(r.key);
    if (!list) return false;
    // The last acknowledgement strictly before the read was sent.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.at < r.invokedAt) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && (r.version ?? 0) < list[lo - 1]!.newest;
  });
}

/** -log10 of the share; with none, log10 of the total: the most that many can show. */
export function nines(bad: number, total: number): number {
  if (total === 0) return 0;
  return bad === 0 ? Math.log10(total) : -Math.log10(bad / total);
}
