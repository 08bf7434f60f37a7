import { isDeepStrictEqual } from 'node:util';
import { decodeEnvelope } from '../cache/envelope';
import type { EntityCache } from '../writethrough/entity-cache';

/**
 * What one cached key says about a row, set against MySQL's row:
 *
 * - `ok`: it answers what MySQL holds: the same row at the same version, or "no such
 *   row" (a tombstone or negative entry) for an id MySQL has no row for.
 * - `stale`: it answers something else while MySQL has the row: an older version, the
 *   same version with other content, a version MySQL never reached, or "no such row".
 * - `orphaned`: it holds a row that MySQL no longer has.
 * - `unreadable`: a value readers treat as a miss and read MySQL for — not an envelope
 *   the service wrote, or an invalidation mark — so it tells no lie; the row counts
 *   as missing from the cache.
 */
export type Verdict = 'ok' | 'stale' | 'orphaned' | 'unreadable';

export function judgeKey<Row extends { id: number; version: number }>(
  layout: EntityCache<Row>,
  raw: string,
  row: Row | undefined,
): Verdict {
  const envelope = decodeEnvelope(raw);
  if (!envelope || envelope.kind === 'invalidated') return 'unreadable';
  if (!row) return envelope.kind === 'row' ? 'orphaned' : 'ok';
  if (envelope.kind !== 'row' || envelope.version !== row.version) return 'stale';
  // Compared as rows, not as JSON text: the same row may be written with its fields
  // in another order (by another release of the service) and still be the same row.
  const cached = layout.read(raw);
  return cached.hit && isDeepStrictEqual(cached.row, row) ? 'ok' : 'stale';
}
