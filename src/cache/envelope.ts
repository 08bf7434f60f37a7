/**
 * What a cache key holds: JSON whose first member is the version, so the
 * compare-and-set script can read the version with one anchored pattern match
 * instead of decoding the whole value. Three shapes:
 *
 *   {"v":7,"row":{…}}        the row at version 7
 *   {"v":8,"deleted":true}   a tombstone: the row was deleted by the write that would
 *                            have made version 8; any backfill of ≤ 7 loses to it
 *   {"v":0,"missing":true}   a negative entry: no such row when it was looked up; the
 *                            row's first version (1) replaces it
 *   {"v":6.5,"invalidated":true}
 *                            the `invalidate` policy's mark for a write that made
 *                            version 7: a miss for readers; half a version below 7,
 *                            so it replaces the cached 6 but loses to a backfill of 7
 *                            and beats a late backfill of 6 (the race cache-aside
 *                            with a plain DEL is known for)
 */
export type Envelope<Row> =
  | { kind: 'row'; version: number; row: Row }
  | { kind: 'deleted'; version: number }
  | { kind: 'missing'; version: 0 }
  | { kind: 'invalidated'; version: number };

export function encodeRow(version: number, rowJson: string): string {
  return `{"v":${version},"row":${rowJson}}`;
}

export function encodeTombstone(version: number): string {
  return `{"v":${version},"deleted":true}`;
}

/** `version`: the version the invalidating write committed. */
export function encodeInvalidation(version: number): string {
  return `{"v":${version - 0.5},"invalidated":true}`;
}

export const MISSING_VERSION = 0;
export const MISSING = `{"v":${MISSING_VERSION},"missing":true}`;

/**
 * Returns undefined for anything that is not an envelope we wrote (a foreign or
 * truncated value): the caller treats it as a miss and reads MySQL, and the backfill
 * replaces it, since the script gives an unparseable value no version.
 */
export function decodeEnvelope(raw: string): Envelope<unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { v, row, deleted, missing, invalidated } = parsed as Record<string, unknown>;
  if (typeof v !== 'number' || v < 0) return undefined;
  if (invalidated === true && Number.isSafeInteger(v + 0.5)) return { kind: 'invalidated', version: v };
  if (!Number.isSafeInteger(v)) return undefined;
  if (deleted === true) return { kind: 'deleted', version: v };
  if (missing === true && v === MISSING_VERSION) return { kind: 'missing', version: MISSING_VERSION };
  if (typeof row === 'object' && row !== null) return { kind: 'row', version: v, row };
  return undefined;
}
