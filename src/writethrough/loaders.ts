import DataLoader from 'dataloader';
import type { Repository, Row, VersionedTable } from './repository';
import type { EntityRegistry } from './entity';
import type { ListsOf, RepositoriesOf } from './write-through';
import type { ListRegistry, ListRow } from './association-list';
import type { AssociationList } from './association-lists';
import type { CallScope } from './logger';

/** The most ids one `Repository.load` is given: it bounds one MGET and one IN (…) list. */
export const MAX_BATCH_IDS = 500;

/** What a loader is asked for: one id (`load`) or a list of ids (`loadMany`). */
type Ask = number | readonly number[];

/** Stands in a loader's overrides for an id a write cleared. */
const CLEARED = Symbol('cleared');

/** One fetch: the ids it asks for, then their rows in the same order. */
class Flight<R> {
  done: Promise<void> = Promise.resolve();
  rows: Array<R | null> = [];
  settled = false;
  private index?: Map<number, number>;

  constructor(
    readonly ids: number[],
    /** When it was sent, counted in the loader's `changes`. */
    readonly sentAt: number,
  ) {}

  /** Where `id` is among the ids, or -1. The index is built only if someone asks. */
  indexOf(id: number): number {
    if (!this.index) {
      this.index = new Map();
      this.ids.forEach((each, i) => this.index!.has(each) || this.index!.set(each, i));
    }
    return this.index.get(id) ?? -1;
  }
}

/** Where an id's answer comes from: a value known already, or a fetch (sent or settled). */
type Source<R> = { value: R | null } | { flight: Flight<R>; at: number } | undefined;

/**
 * One loader per entity per request. Everything asked of it while a request resolves
 * one level of its query, single ids and whole lists alike, becomes one batch: one
 * `Repository.load` (so one MGET and, for the misses, one SELECT … IN per type, however
 * many fields asked), and an id asked again later in the request is answered from the
 * fetch that answered it first (or waits for it, if it is still out).
 *
 * DataLoader only schedules here (it collects the asks of one tick); the memo is ours.
 * DataLoader's own would cost a promise and a closure for every id of a list, which for
 * a warm `users(ids: 100)` was most of the request's garbage (bench/findings.md); a list
 * here is one ask and one promise. And the memo is the fetches themselves, indexed only
 * when a second batch asks: most requests make one batch per entity, and pay for no map.
 */
export class EntityLoader<R> {
  /** Every fetch this request made that did not fail, oldest first. */
  private readonly flights: Array<Flight<R>> = [];
  /** What this request's writes left (a row, null, or CLEARED), and when, counted in `changes`. */
  private readonly overrides = new Map<number, { value: R | null | typeof CLEARED; at: number }>();
  private changes = 0;
  private readonly batcher: DataLoader<Ask, R | null | Array<R | null>>;

  constructor(private readonly fetch: (ids: readonly number[]) => Promise<Array<R | null>>) {
    // No DataLoader cache (the fetches are the cache) and no limit on asks per batch
    // (the ids are what is split, into fetches of MAX_BATCH_IDS).
    this.batcher = new DataLoader((asks) => this.answer(asks), { cache: false, maxBatchSize: Infinity });
  }

  /** The row with this id, or null if there is none. */
  load(id: number): Promise<R | null> {
    const source = this.sourceOf(id);
    if (source && 'value' in source) return Promise.resolve(source.value);
    if (source?.flight.settled) return Promise.resolve(source.flight.rows[source.at] ?? null);
    return this.batcher.load(id) as Promise<R | null>;
  }

  /** The rows with these ids, in order, null where there is none; the first failure fails the list. */
  loadMany(ids: readonly number[]): Promise<Array<R | null>> {
    return this.batcher.load(ids) as Promise<Array<R | null>>;
  }

  /** What a write in this request left: later asks for `id` get `row`. */
  prime(id: number, row: R | null): this {
    this.overrides.set(id, { value: row, at: ++this.changes });
    return this;
  }

  /** Forgets `id`: the next ask fetches it again (a fetch that is out may have read it before the write). */
  clear(id: number): this {
    this.overrides.set(id, { value: CLEARED, at: ++this.changes });
    return this;
  }

  /** Whichever is newer, this request's last write of `id` or the last fetch that asked for it. */
  private sourceOf(id: number): Source<R> {
    let flight: Flight<R> | undefined;
    let at = -1;
    for (let i = this.flights.length - 1; i >= 0 && at < 0; i--) {
      at = this.flights[i]!.indexOf(id);
      if (at >= 0) flight = this.flights[i];
    }
    const override = this.overrides.size > 0 ? this.overrides.get(id) : undefined;
    // A write after the fetch was sent is newer than what it read; a fetch sent after a
    // clear read after the write.
    if (override && (!flight || override.at > flight.sentAt)) {
      return override.value === CLEARED ? undefined : { value: override.value };
    }
    return flight ? { flight, at } : undefined;
  }

  /** One DataLoader batch: every id its asks name, each fetched at most once in this request. */
  private async answer(asks: readonly Ask[]): Promise<Array<R | null | Array<R | null>>> {
    const flight = new Flight<R>([], ++this.changes);
    // The usual request asks once per entity: then nothing is known yet, and every id
    // goes into this batch's fetch without a lookup.
    const known = this.flights.length > 0 || this.overrides.size > 0 ? new Map<number, Source<R>>() : undefined;
    for (const ask of asks) {
      if (typeof ask === 'number') this.plan(ask, flight, known);
      else for (const id of ask) this.plan(id, flight, known);
    }
    if (flight.ids.length > 0) {
      flight.done = this.fetchInto(flight);
      this.flights.push(flight);
    }
    const waits = new Set([flight.done]);
    known?.forEach((source) => source && 'flight' in source && waits.add(source.flight.done));
    await Promise.all(waits);
    // A list asked alone, every id fresh: its rows are the fetch's, in order.
    if (!known && asks.length === 1 && typeof asks[0] !== 'number') return [flight.rows];
    const valueOf = (id: number): R | null => {
      const source = known?.get(id);
      if (!source) return flight.rows[flight.indexOf(id)] ?? null;
      return 'value' in source ? source.value : (source.flight.rows[source.at] ?? null);
    };
    return asks.map((ask) => (typeof ask === 'number' ? valueOf(ask) : ask.map(valueOf)));
  }

  /** Puts `id` into this batch's fetch, unless the request has (or is fetching) its row already. */
  private plan(id: number, flight: Flight<R>, known: Map<number, Source<R>> | undefined): void {
    if (known) {
      if (known.has(id)) return;
      const source = this.sourceOf(id);
      if (source) {
        known.set(id, source);
        return;
      }
      known.set(id, undefined); // fetched by this batch
    }
    flight.ids.push(id);
  }

  /** Fetches a flight's ids; a fetch that fails is forgotten, so the next ask tries again. */
  private async fetchInto(flight: Flight<R>): Promise<void> {
    const { ids } = flight;
    const chunks: number[][] = [];
    for (let i = 0; i < ids.length; i += MAX_BATCH_IDS) chunks.push(ids.slice(i, i + MAX_BATCH_IDS));
    try {
      flight.rows = (await Promise.all(chunks.map((chunk) => this.fetch(chunk)))).flat();
      flight.settled = true;
    } catch (err) {
      this.flights.splice(this.flights.indexOf(flight), 1);
      throw err;
    }
  }
}

/** `scope`: the request the loader answers, whose logger hears of what its reads log. */
export function createLoader<T extends VersionedTable>(repository: Repository<T>, scope?: CallScope): EntityLoader<Row<T>> {
  return new EntityLoader((ids) => repository.load(ids, scope));
}

/** A request's loaders for a registry: one per entity, by its cache name (`loaders.user`). */
export type LoadersOf<R extends EntityRegistry> = {
  readonly [K in keyof R as R[K]['name']]: EntityLoader<Row<R[K]['table']>>;
};

/** One loader per repository, made per request, so a batch never mixes requests. */
export function loadersOf<R extends EntityRegistry>(repositories: RepositoriesOf<R>, scope?: CallScope): LoadersOf<R> {
  const loaders: Record<string, EntityLoader<unknown>> = {};
  for (const repository of Object.values(repositories) as Array<Repository<VersionedTable>>) loaders[repository.entity] = createLoader(repository, scope);
  return loaders as unknown as LoadersOf<R>;
}

/** A request's loaders for a list registry: one per list, by its cache name (`loaders.user_orders`), over owner ids. */
export type ListLoadersOf<L extends ListRegistry> = {
  readonly [K in keyof L as L[K]['name']]: EntityLoader<ListRow>;
};

/** Where a request's list loaders keep whom they read for and what they have made: symbols, off the lists' names. */
const SCOPE = Symbol('scope');
const MADE = Symbol('made');
interface ListLoaderState {
  [SCOPE]?: CallScope | undefined;
  [MADE]?: Map<string, EntityLoader<ListRow>>;
}

/**
 * One loader per association list: the lists of a level's owners in one MGET, their
 * misses in one SELECT. Each is made on first use (most requests read no list, and a
 * loader per list per request would be garbage for all of them), by getters on a
 * prototype built once per set of lists: a request's loaders cost one small object.
 */
export function listLoadersOf<L extends ListRegistry>(lists: ListsOf<L>): (scope?: CallScope) => ListLoadersOf<L> {
  const prototype = {};
  for (const list of Object.values(lists) as AssociationList[]) {
    Object.defineProperty(prototype, list.entity, {
      enumerable: true,
      get(this: ListLoaderState) {
        const made = (this[MADE] ??= new Map());
        let loader = made.get(list.entity);
        if (!loader) {
          const scope = this[SCOPE];
          made.set(list.entity, (loader = new EntityLoader<ListRow>((owners) => list.load(owners, scope))));
        }
        return loader;
      },
    });
  }
  return (scope) => {
    const loaders = Object.create(prototype) as ListLoaderState;
    loaders[SCOPE] = scope;
    return loaders as ListLoadersOf<L>;
  };
}
