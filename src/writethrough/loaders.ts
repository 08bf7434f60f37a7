import DataLoader from 'dataloader';
import type { Repository, Row, VersionedTable } from './repository';

/** The most ids one `Repository.load` is given: it bounds one MGET and one IN (…) list. */
export const MAX_BATCH_IDS = 500;

/** What a loader is asked for: one id (`load`) or a list of ids (`loadMany`). */
type Ask = number | readonly number[];

/** One fetch in flight: the ids it asks for, then their rows in the same order. */
class Flight<R> {
  done: Promise<void> = Promise.resolve();
  rows: Array<R | null> = [];
  constructor(readonly ids: number[]) {}
}

/**
 * One loader per entity per request. Everything asked of it while a request resolves
 * one level of its query, single ids and whole lists alike, becomes one batch: one
 * `Repository.load` (so one MGET and, for the misses, one SELECT … IN per type, however
 * many fields asked), and an id asked twice in one request is fetched once and answered
 * with the same row both times.
 *
 * DataLoader only schedules here (it collects the asks of one tick); the memo is ours.
 * DataLoader's own would cost a promise and a closure for every id of a list, which for
 * a warm `users(ids: 100)` was most of the request's garbage (bench/findings.md); a list
 * here is one ask and one promise.
 */
export class EntityLoader<R> {
  /**
   * Each id this request has asked for: its row (null: there is none), or the fetch in
   * flight for it, which a later ask waits for instead of fetching it again. A write
   * that primes or clears an id replaces or removes its entry, so a fetch that was out
   * meanwhile sees that the entry is no longer its own and leaves it alone.
   */
  private readonly memo = new Map<number, R | null | Flight<R>>();
  private readonly batcher: DataLoader<Ask, R | null | Array<R | null>>;

  constructor(private readonly fetch: (ids: readonly number[]) => Promise<Array<R | null>>) {
    // No DataLoader cache (`memo` is the cache) and no limit on asks per batch (the
    // ids are what is split, into fetches of MAX_BATCH_IDS).
    this.batcher = new DataLoader((asks) => this.answer(asks), { cache: false, maxBatchSize: Infinity });
  }

  /** The row with this id, or null if there is none. */
  load(id: number): Promise<R | null> {
    const entry = this.memo.get(id);
    if (entry !== undefined && !(entry instanceof Flight)) return Promise.resolve(entry);
    return this.batcher.load(id) as Promise<R | null>;
  }

  /** The rows with these ids, in order, null where there is none; the first failure fails the list. */
  loadMany(ids: readonly number[]): Promise<Array<R | null>> {
    return this.batcher.load(ids) as Promise<Array<R | null>>;
  }

  /** What a write in this request left: later asks for `id` get `row`. */
  prime(id: number, row: R | null): this {
    this.memo.set(id, row);
    return this;
  }

  /** Forgets `id`: the next ask fetches it again (a fetch in flight may have read it before the write). */
  clear(id: number): this {
    this.memo.delete(id);
    return this;
  }

  /** One DataLoader batch: every id its asks name, each fetched at most once in this request. */
  private async answer(asks: readonly Ask[]): Promise<Array<R | null | Array<R | null>>> {
    const flight = new Flight<R>([]);
    const flights = new Set<Flight<R>>();
    const known = new Map<number, R | null>();
    let repeats = false;
    const visit = (id: number) => {
      const entry = this.memo.get(id);
      if (entry === undefined) {
        flight.ids.push(id);
        this.memo.set(id, flight);
      } else {
        repeats = true;
        if (entry === flight) return;
        if (entry instanceof Flight) flights.add(entry);
        else known.set(id, entry);
      }
    };
    for (const ask of asks) {
      if (typeof ask === 'number') visit(ask);
      else for (const id of ask) visit(id);
    }
    if (flight.ids.length > 0) {
      flight.done = this.fetchInto(flight);
      flights.add(flight);
    }
    await Promise.all([...flights].map((f) => f.done));
    // The warm list: one ask, every id in it new to this request and named once.
    if (asks.length === 1 && !repeats && typeof asks[0] !== 'number') return [flight.rows];
    const answered = new Map(known);
    for (const f of flights) f.ids.forEach((id, i) => answered.has(id) || answered.set(id, f.rows[i] ?? null));
    return asks.map((ask) => (typeof ask === 'number' ? answered.get(ask)! : ask.map((id) => answered.get(id)!)));
  }

  /** Fetches a flight's ids, and remembers their rows where no write has come in meanwhile. */
  private async fetchInto(flight: Flight<R>): Promise<void> {
    const { ids } = flight;
    const chunks: number[][] = [];
    for (let i = 0; i < ids.length; i += MAX_BATCH_IDS) chunks.push(ids.slice(i, i + MAX_BATCH_IDS));
    try {
      flight.rows = (await Promise.all(chunks.map((chunk) => this.fetch(chunk)))).flat();
    } catch (err) {
      for (const id of ids) if (this.memo.get(id) === flight) this.memo.delete(id);
      throw err;
    }
    // An entry that is no longer this flight was primed or cleared by a write while it
    // was out: that is newer than what was read here.
    for (let i = 0; i < ids.length; i++) {
      if (this.memo.get(ids[i]!) === flight) this.memo.set(ids[i]!, flight.rows[i] ?? null);
    }
  }
}

export function createLoader<T extends VersionedTable>(repository: Repository<T>): EntityLoader<Row<T>> {
  return new EntityLoader((ids) => repository.load(ids));
}
