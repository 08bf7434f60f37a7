import { cacheKey } from '../cache/keys';
import { decodeEnvelope, encodeInvalidation, encodeRow, encodeTombstone, MISSING, MISSING_VERSION } from '../cache/envelope';
import type { CasWrite } from '../cache/cache';
import { jitteredTtlMs } from '../cache/ttl';
import type { CacheSettings } from './settings';
import type { RowCodec } from './codec';
import { DecodedValues } from './decoded-values';

/** What a cached key told a reader. */
export type Lookup<Row> = { hit: true; row: Row | null } | { hit: false };

/**
 * How one entity type lives in the cache: its keys, TTLs and envelopes. Pure: it
 * builds the writes and reads the values, the caller sends them.
 */
export class EntityCache<Row extends { id: number; version: number }> {
  /**
   * How long after reading MySQL a cache write may still land. Half the tombstone
   * TTL, so that a tombstone always outlives any write it has to refuse.
   */
  readonly maxWriteDelayMs: number;
  private readonly decoded: DecodedValues<Lookup<Row>>;

  constructor(
    readonly entity: string,
    private readonly codec: RowCodec<Row>,
    private readonly settings: CacheSettings,
    private readonly random: () => number = Math.random,
  ) {
    this.maxWriteDelayMs = (settings.tombstoneTtlSeconds * 1000) / 2;
    this.decoded = new DecodedValues(settings.decodedValues ?? 0);
  }

  key(id: number): string {
    return cacheKey(this.settings.keyPrefix, this.entity, id);
  }

  /** `readAtMs`: when this row was read from (or committed to) MySQL. */
  rowWrite(row: Row, readAtMs: number): CasWrite {
    return {
      key: this.key(row.id),
      version: row.version,
      value: encodeRow(row.version, this.codec.encode(row)),
      ttlMs: jitteredTtlMs(this.settings.ttlSeconds, this.settings.ttlJitter, this.random),
      notAfterMs: readAtMs + this.maxWriteDelayMs,
    };
  }

  /**
   * The `invalidate` policy's write: instead of the row, a mark that readers take for
   * a miss, ranked between the old version and the new one (see envelope.ts), and
   * living as long as a tombstone, to outlast any backfill racing it.
   */
  invalidationWrite(row: Row, readAtMs: number): CasWrite {
    return {
      key: this.key(row.id),
      version: row.version - 0.5,
      value: encodeInvalidation(row.version),
      ttlMs: this.settings.tombstoneTtlSeconds * 1000,
      notAfterMs: readAtMs + this.maxWriteDelayMs,
    };
  }

  /** The tombstone outranks the deleted row by carrying its version + 1. */
  tombstoneWrite(id: number, deletedVersion: number, readAtMs: number): CasWrite {
    return {
      key: this.key(id),
      version: deletedVersion + 1,
      value: encodeTombstone(deletedVersion + 1),
      ttlMs: this.settings.tombstoneTtlSeconds * 1000,
      notAfterMs: readAtMs + this.maxWriteDelayMs,
    };
  }

  /**
   * A tombstone for a row MySQL no longer has, whose deleted version is not known
   * (a repair, an audit). Ids are never reused, so no version of this key can ever be
   * written again: it may outrank every version there could be.
   */
  finalTombstoneWrite(id: number, readAtMs: number): CasWrite {
    return this.tombstoneWrite(id, Number.MAX_SAFE_INTEGER - 1, readAtMs);
  }

  missingWrite(id: number, readAtMs: number): CasWrite {
    return {
      key: this.key(id),
      version: MISSING_VERSION,
      value: MISSING,
      ttlMs: jitteredTtlMs(this.settings.negativeTtlSeconds, this.settings.ttlJitter, this.random),
      notAfterMs: readAtMs + this.maxWriteDelayMs,
    };
  }

  /** A tombstone or negative entry is a hit that answers "no such row". */
  read(raw: string | null): Lookup<Row> {
    if (raw === null) return { hit: false };
    return this.decode(raw);
  }

  /**
   * `read` for the value Redis just returned for `id`, decoded once per distinct value
   * (see decoded-values.ts): the lookup and its row are shared, and frozen.
   */
  readShared(id: number, raw: string | null): Lookup<Row> {
    if (raw === null) return { hit: false };
    return this.decoded.get(id, raw, (r) => frozen(this.decode(r)));
  }

  private decode(raw: string): Lookup<Row> {
    const envelope = decodeEnvelope(raw);
    if (!envelope) return { hit: false };
    if (envelope.kind === 'invalidated') return { hit: false };
    if (envelope.kind !== 'row') return { hit: true, row: null };
    return { hit: true, row: this.codec.decode(envelope.row) };
  }
}

function frozen<Row>(lookup: Lookup<Row>): Lookup<Row> {
  if (lookup.hit && lookup.row) Object.freeze(lookup.row);
  return Object.freeze(lookup);
}
