import type { FailureEvent } from './failure-event';

interface Suspicion {
  /**
   * The version the key's cache entry must show to be trusted: a cache envelope's
   * version, in which a tombstone counts as the deleted version + 1, like its failure's.
   */
  version: number;
  /** A read found no row in MySQL: a cached row, of any version, is one that was deleted. */
  gone: boolean;
  /** failure id → its version, for the failures not repaired yet */
  open: Map<string, number>;
}

/**
 * Keys whose cache entry may be stale, each with the version its entry must reach to
 * be trusted again. Suspicion is per version, not per failure, because a repair only
 * says what it wrote, not what was committed since:
 * - a failure raises the key's floor to its version; the repair of an older failure
 *   never lowers it, so a newer failure, recorded or still in flight, stays covered;
 * - a read that had to go to MySQL raises the floor to the version it saw, so no later
 *   read on this instance goes back to an older cached version (monotonic reads), nor
 *   brings a row back that it saw deleted;
 * - a key stops being suspect only when a read sees its cache entry at the floor or
 *   above with every failure repaired (`settle`). Until then reads compare the cached
 *   version with the floor: a cache that caught up (a timed-out write that landed
 *   after all, a repair) answers again while its failures wait for their bookkeeping.
 * Fed by this instance's own failures at once, by every instance's failures and
 * repairs through the feed, and at start-up by the log's unrepaired entries.
 */
export class SuspectKeys {
  private readonly keys = new Map<string, Suspicion>();
  /**
   * Keys whose failures are all repaired but whose floor no read has seen reached yet,
   * oldest first. Most are read soon and settle; the rest are let go beyond this many,
   * so a stream of keys never read again cannot grow the map without end.
   */
  private readonly settledLimit: number;
  private readonly settled = new Set<string>();

  constructor(options: { settledLimit?: number } = {}) {
    this.settledLimit = options.settledLimit ?? 10_000;
  }

  has(entity: string, id: number): boolean {
    return this.keys.has(keyOf(entity, id));
  }

  /** Whether a failure of the key is still open (not every suspect key has one: see `settle`). */
  hasUnrepaired(entity: string, id: number): boolean {
    return (this.keys.get(keyOf(entity, id))?.open.size ?? 0) > 0;
  }

  /** Whether a cached version may answer for the key (a cached row or not). */
  trusts(entity: string, id: number, cached: { version: number; row: boolean } | undefined): boolean {
    const s = this.keys.get(keyOf(entity, id));
    if (!s) return true;
    return cached !== undefined && cached.version >= s.version && !(s.gone && cached.row);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Applies a feed event: a failure raises its key's floor; a repair closes only its own failure. */
  apply(event: FailureEvent): void {
    const key = keyOf(event.entity, event.entityId);
    if (event.kind === 'failed') {
      const s = this.suspicion(key);
      s.open.set(event.failureId, event.version);
      s.version = Math.max(s.version, event.version);
      this.settled.delete(key);
      return;
    }
    const s = this.keys.get(key);
    if (!s?.open.delete(event.failureId) || s.open.size > 0) return;
    this.settled.add(key);
    this.letGo();
  }

  /** A read of a suspect key went to MySQL and saw `version` (undefined: no row). */
  sawInMySql(entity: string, id: number, version: number | undefined): void {
    const s = this.keys.get(keyOf(entity, id));
    if (!s) return;
    if (version === undefined) s.gone = true;
    else s.version = Math.max(s.version, version);
  }

  /** A read found the key's cache entry trusted: with no failure open, the key is no longer suspect. */
  settle(entity: string, id: number): void {
    const key = keyOf(entity, id);
    if (this.keys.get(key)?.open.size !== 0) return;
    this.keys.delete(key);
    this.settled.delete(key);
  }

  private suspicion(key: string): Suspicion {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { version: 0, gone: false, open: new Map() }));
    return s;
  }

  private letGo(): void {
    for (const key of this.settled) {
      if (this.settled.size <= this.settledLimit) return;
      this.settled.delete(key);
      this.keys.delete(key);
    }
  }
}

function keyOf(entity: string, id: number): string {
  return `${entity}:${id}`;
}
