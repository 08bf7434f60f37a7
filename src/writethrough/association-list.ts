import type { MySqlColumn } from 'drizzle-orm/mysql-core';
import type { RowCodec } from './codec';
import { assertName, type VersionedTable } from './entity';

/**
 * An association list: the edges of one owner, newest first (TAO's association
 * lists): a user's orders, a product's reviews. Cached like a row, and written
 * through like one: the list's state is a versioned value, `{ id: owner, version,
 * ids, more }`, under `<prefix><name>:<owner>`, set by the same compare-and-set.
 *
 * The version is the list's own (db table `list_versions`), bumped by a trigger on
 * the edge table in the transaction that adds or removes an edge
 * (db/list-triggers.ts). So a list's version and its members commit together,
 * whoever writes them, and a backfill that read version 7 can never replace the 8 a
 * writer cached, nor bring back an edge a delete removed: the delete made a newer
 * version that does not hold it.
 *
 * Only the newest `cachedLength` ids are cached; `more` says whether older edges
 * exist, whose pages are read from MySQL by cursor.
 */
export interface ListDefinition<N extends string = string, T extends VersionedTable = VersionedTable> {
  /** Keys are `<prefix><name>:<owner id>`; failures, intents and metrics carry it, as they do an entity's name. */
  readonly name: N;
  /** The table whose rows are the edges; the list holds their ids. */
  readonly edges: T;
  /**
   * The edge's column naming its owner (`orders.user_id`). None: one list of every
   * edge of the table (the newest orders), whose owner id is `SINGLE_OWNER`.
   */
  readonly owner?: MySqlColumn | undefined;
  /** The newest ids cached per list (default 100): `first` pages within them cost no SQL. */
  readonly cachedLength: number;
}

/** The owner id of a list that has no owner column: there is one such list. */
export const SINGLE_OWNER = 1;

export type ListRegistry = Readonly<Record<string, ListDefinition>>;

export function defineList<N extends string, T extends VersionedTable>(
  name: N,
  edges: T,
  options: { owner?: MySqlColumn; cachedLength?: number } = {},
): ListDefinition<N, T> {
  assertName(name, 'list');
  const cachedLength = options.cachedLength ?? 100;
  if (!Number.isInteger(cachedLength) || cachedLength < 1 || cachedLength > 1_000) throw new Error(`list ${name}: cachedLength must be from 1 to 1000`);
  return { name, edges, owner: options.owner, cachedLength };
}

/** A list's state at one version: what its key holds, and what a read from MySQL returns. */
export interface ListRow {
  /** The owner's id (`SINGLE_OWNER` for a list without one). */
  id: number;
  /** 0 until its first edge changes after the triggers exist. */
  version: number;
  /** The newest edges' ids, newest first, at most `cachedLength`. */
  ids: number[];
  /** Older edges exist beyond `ids`. */
  more: boolean;
}

/** Lists go to the cache as they are: numbers and a boolean, nothing JSON would change. */
export const listCodec: RowCodec<ListRow> = {
  encode: (row) => JSON.stringify({ id: row.id, version: row.version, ids: row.ids, more: row.more }),
  decode: (json) => json as ListRow,
};
