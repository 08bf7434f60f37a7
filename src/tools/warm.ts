import type { Cache } from '../cache/cache';
import type { CasOutcome } from '../cache/cas-script';
import type { Database } from '../db/client';
import type { Row, VersionedTable } from '../writethrough/repository';
import type { CachedEntity } from './entities';
import { TableReader } from './table-reader';

export interface WarmDeps {
  db: Database;
  cache: Cache;
  now?: () => number;
}

export interface WarmOptions {
  /** Rows per SELECT and per pipeline of compare-and-sets. Default 1000. */
  chunk?: number;
  /** Once aborted, the warm-up stops after the chunk in flight and returns what it did. */
  signal?: AbortSignal;
  /** After each chunk: rows done, and the table's size (at least `done`). */
  onProgress?: (done: number, total: number) => void;
}

export interface WarmSummary {
  entity: string;
  /** Rows read from MySQL (and offered to the cache). */
  rows: number;
  /** Keys written. */
  set: number;
  /** Keys that already held this version or a newer one, and were left alone. */
  alreadyNewer: number;
  /** Writes that failed or arrived too late to be allowed; those keys were not written. */
  failed: number;
  /** The first failure's message, to say why. */
  firstError?: string;
  ms: number;
  perSecond: number;
  /** Stopped by the signal before the last row. */
  interrupted: boolean;
}

export const DEFAULT_WARM_CHUNK = 1000;

/**
 * Loads every row of one entity into the cache, through the same compare-and-set as
 * every other cache write, so a warm-up running beside live traffic never replaces a
 * newer value: a row an update changed after this chunk was read is refused by
 * version. Running it again is harmless; every key it finds current is left alone.
 *
 * Each chunk is one keyset SELECT and one pipeline of writes. The next chunk's SELECT
 * is sent while the current chunk's pipeline is in Redis, so MySQL, Redis and this
 * process work side by side instead of taking turns.
 */
export async function warmEntity(deps: WarmDeps, entity: CachedEntity, options: WarmOptions = {}): Promise<WarmSummary> {
  const { chunk = DEFAULT_WARM_CHUNK, signal, onProgress } = options;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  const now = deps.now ?? Date.now;
  const reader = new TableReader(deps.db, entity.table);
  const started = performance.now();
  const total = await reader.count();
  const tally = new Tally();

  // readAt is taken before the SELECT: a write's deadline counts from the moment
  // its data may already have been superseded, not from when it was sent.
  const read = (afterId: number): Promise<Page> => {
    const readAt = now();
    const page = reader.rowsAfter(afterId, chunk).then((rows) => ({ rows, readAt }));
    // Handled here so that a failure while the previous chunk is being written is not
    // an unhandled rejection; awaiting the page below still throws it.
    page.catch(() => undefined);
    return page;
  };

  let interrupted = false;
  let page = await read(0);
  while (page.rows.length > 0) {
    const { rows, readAt } = page;
    const after = rows[rows.length - 1]!.id;
    // A short page is the last one.
    const more = rows.length === chunk;
    const next = more && !signal?.aborted ? read(after) : undefined;
    tally.add(await deps.cache.casSetMany(rows.map((row) => entity.layout.rowWrite(row, readAt))));
    onProgress?.(tally.rows, Math.max(total, tally.rows));
    if (!more) break;
    if (signal?.aborted) {
      // Stop after the chunk in hand; a page already read is dropped unwritten.
      interrupted = true;
      break;
    }
    page = await (next ?? read(after));
  }

  const ms = performance.now() - started;
  return {
    entity: entity.name,
    ...tally.summary(),
    ms,
    perSecond: ms > 0 ? (tally.rows * 1000) / ms : 0,
    interrupted,
  };
}

interface Page {
  rows: Array<Row<VersionedTable>>;
  readAt: number;
}

class Tally {
  rows = 0;
  private set = 0;
  private alreadyNewer = 0;
  private failed = 0;
  private firstError: string | undefined;

  add(outcomes: ReadonlyArray<CasOutcome | Error>): void {
    for (const outcome of outcomes) {
      this.rows++;
      if (outcome === 'set') this.set++;
      else if (outcome === 'stale') this.alreadyNewer++;
      else {
        this.failed++;
        this.firstError ??= outcome === 'late' ? 'a write reached Redis past its deadline' : outcome.message;
      }
    }
  }

  summary(): Pick<WarmSummary, 'rows' | 'set' | 'alreadyNewer' | 'failed' | 'firstError'> {
    const { rows, set, alreadyNewer, failed, firstError } = this;
    return { rows, set, alreadyNewer, failed, ...(firstError === undefined ? {} : { firstError }) };
  }
}
