import { decodeEnvelope } from '../cache/envelope';
import type { EntityCache } from '../writethrough/entity-cache';
import { judgeKey } from './key-verdict';

/**
 * What the inspector makes of one committed write's key, some time after the write
 * settled:
 * - `consistent`: the key is absent, or holds that version or a newer one that MySQL
 *   had (an invalidation mark or an unreadable value tells no lie either: readers miss);
 * - `recorded`: it is behind, and the failure log already holds an open failure for
 *   the key: a known inconsistency, being repaired, not a new one;
 * - `inconsistent`: it holds an older version, or a value MySQL never had at that
 *   version (other content, a version MySQL never reached, a row MySQL no longer has).
 */
export type Inspection = 'consistent' | 'recorded' | 'inconsistent';

export interface InspectedKey<Row> {
  /** The version the write committed (a delete: its tombstone's, the deleted version + 1). */
  version: number;
  /** The key's value, null if absent. */
  raw: string | null;
  /** MySQL's row now, undefined if there is none. */
  row: Row | undefined;
  /** Whether the failure log has an open failure for the key. */
  failureOpen: boolean;
}

export function inspect<Row extends { id: number; version: number }>(layout: EntityCache<Row>, key: InspectedKey<Row>): Inspection {
  if (key.raw === null) return 'consistent';
  const verdict = judgeKey(layout, key.raw, key.row);
  if (verdict === 'ok' || verdict === 'unreadable') return 'consistent';
  const envelope = decodeEnvelope(key.raw)!;
  // The same version as MySQL's with other content, or a version MySQL never reached
  // (a tombstone for a row that exists has no version MySQL could ever catch up to):
  // no write in flight explains that.
  const neverHad = key.row !== undefined && (envelope.kind !== 'row' || envelope.version >= key.row.version);
  if (!neverHad && envelope.version >= key.version) return 'consistent';
  return key.failureOpen ? 'recorded' : 'inconsistent';
}
