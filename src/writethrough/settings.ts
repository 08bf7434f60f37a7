/**
 * What a write does to the cache: `write-through` sets the committed row (the next
 * read is a hit); `invalidate` marks the key stale (the next read misses and
 * backfills: cache-aside, without its race); `off` leaves Redis alone (reads go to
 * MySQL). Mostly for comparing them: write-through is the point of this service.
 */
export type CachePolicy = 'write-through' | 'invalidate' | 'off';

export interface CacheSettings {
  keyPrefix: string;
  /** Default: write-through. */
  policy?: CachePolicy;
  /** Per entity, by its name ('user', …), over the entity's own default and then `policy`. */
  policyByEntity?: Partial<Record<string, CachePolicy>>;
  ttlSeconds: number;
  ttlJitter: number;
  negativeTtlSeconds: number;
  tombstoneTtlSeconds: number;
  writeRetries: number;
  writeRetryDelayMs: number;
  /** Per entity type, how many ids' decoded cache values are remembered (decoded-values.ts); 0 or unset: none. */
  decodedValues?: number;
}
