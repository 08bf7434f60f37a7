import type { CasWrite } from '../cache/cache';
import type { EntityCache } from './entity-cache';
import type { CachePolicy } from './settings';

type Versioned = { id: number; version: number };

/**
 * Everything that differs between the cache policies, in one place; the read and
 * write paths ask these rules and never test the policy themselves.
 */
export interface PolicyRules {
  readonly name: CachePolicy;
  /** Reads ask the cache and backfill what it misses; otherwise they go to MySQL alone. */
  readonly readsCache: boolean;
  /** Writes leave a write intent for the crash sweep: only a write that touches the cache can leave it stale. */
  readonly recordsIntents: boolean;
  /** What a committed create or update sets in the cache, if anything. */
  afterWrite<R extends Versioned>(layout: EntityCache<R>, row: R, nowMs: number): CasWrite | undefined;
  /** What a delete sets, if anything. */
  afterDelete<R extends Versioned>(layout: EntityCache<R>, id: number, deletedVersion: number, nowMs: number): CasWrite | undefined;
}

/** A delete is an invalidation whatever the policy: every policy that uses the cache leaves a tombstone. */
const tombstone: PolicyRules['afterDelete'] = (layout, id, deletedVersion, nowMs) => layout.tombstoneWrite(id, deletedVersion, nowMs);

const RULES: Record<CachePolicy, PolicyRules> = {
  /** The committed row is set: the next read is a hit with it. */
  'write-through': {
    name: 'write-through',
    readsCache: true,
    recordsIntents: true,
    afterWrite: (layout, row, nowMs) => layout.rowWrite(row, nowMs),
    afterDelete: tombstone,
  },
  /** The key is marked stale at half a version below the write, so the next read misses and backfills. */
  invalidate: {
    name: 'invalidate',
    readsCache: true,
    recordsIntents: true,
    afterWrite: (layout, row, nowMs) => layout.invalidationWrite(row, nowMs),
    afterDelete: tombstone,
  },
  /** Redis is left alone. */
  off: {
    name: 'off',
    readsCache: false,
    recordsIntents: false,
    afterWrite: () => undefined,
    afterDelete: () => undefined,
  },
};

export function policyRules(policy: CachePolicy): PolicyRules {
  return RULES[policy];
}
