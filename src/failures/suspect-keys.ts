import type { FailureEvent } from './failure-event';

/**
 * Keys whose cache entry may be stale: a write to them failed and is not repaired
 * yet. Reads of these keys go to MySQL, not to the cache that may be lying, and do
 * not backfill it (the repair worker does that). Fed by this instance's own failures
 * at once, by every instance's failures and repairs through the feed, and at
 * start-up by the log's unrepaired entries, so a restart does not forget them.
 */
export class SuspectKeys {
  /** key → ids of the unrepaired failures that make it suspect */
  private readonly failures = new Map<string, Set<string>>();

  has(entity: string, id: number): boolean {
    return this.failures.has(keyOf(entity, id));
  }

  get size(): number {
    return this.failures.size;
  }

  /** Applies a feed event: a failure makes its key suspect until every failure of it is repaired. */
  apply(event: FailureEvent): void {
    const key = keyOf(event.entity, event.entityId);
    const open = this.failures.get(key) ?? new Set<string>();
    if (event.kind === 'failed') open.add(event.failureId);
    else open.delete(event.failureId);
    if (open.size > 0) this.failures.set(key, open);
    else this.failures.delete(key);
  }
}

function keyOf(entity: string, id: number): string {
  return `${entity}:${id}`;
}
