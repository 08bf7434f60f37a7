import type { Cache, CasWrite } from '../cache/cache';
import type { CasOutcome } from '../cache/cas-script';
import type { PolicyRules } from '../writethrough/cache-policy';
import type { EntityCache } from '../writethrough/entity-cache';
import type { VersionedTable } from '../writethrough/entity';
import type { RowChange } from './binlog-source';
import type { RowImage } from './row-images';

type Versioned = { id: number; version: number };

/** One table the follower writes through: how its rows are cached, and how an image becomes a row. */
export interface FollowedTable {
  /** The table's name in MySQL, as the binlog names it. */
  table: string;
  entity: string;
  /** The Drizzle table, to read its rows back (a re-sync). */
  source: VersionedTable;
  layout: EntityCache<Versioned>;
  rules: PolicyRules;
  fromImage: (image: RowImage) => Versioned;
}

/**
 * The association lists' version table (writethrough/association-lists.ts): a change
 * to one of its rows means that list changed, but the row holds only the version, so
 * the list is read again from MySQL (its state now, at that version or a newer one)
 * and set through the compare-and-set, as a backfill would.
 */
export interface FollowedLists {
  table: string;
  /** The list a version row is of: its cache name and owner, or undefined for a list this core does not keep. */
  listOf(image: RowImage): { entity: string; owner: number } | undefined;
  layoutOf(entity: string): EntityCache<Versioned>;
  /** The lists' states in MySQL now. */
  reread(entity: string, owners: readonly number[]): Promise<Versioned[]>;
}

/** What one batch did to the cache, per entity. */
export interface AppliedBatch {
  /** Keys that took the change. */
  set: Record<string, number>;
  /** Keys that already held this version or a newer one. */
  stale: Record<string, number>;
  /** Changes too old to set as rows: their keys were marked stale instead (see below). */
  invalidated: Record<string, number>;
}

/** A batch the cache did not take; nothing in it can be counted as applied, so the follower sends it again. */
export class ChangeApplyError extends Error {
  readonly code = 'CHANGE_APPLY_FAILED';
}

/**
 * Writes committed row changes to the cache through the same compare-and-set as
 * every other write, so the follower and the write path can never fight: whichever
 * delivers a version first sets it, the other finds it there ('stale'), and an older
 * version never replaces a newer one. Applying a change twice, or out of order, is
 * therefore harmless, which is what lets the follower resume from a checkpoint
 * before the rows it had already applied.
 */
/** A committed change the cache has taken (or already held newer): its key and the version set. */
export type AppliedListener = (changes: ReadonlyArray<{ entity: string; entityId: number; cas: { version: number } }>) => void;

export class ChangeApplier {
  private readonly byTable: Map<string, FollowedTable>;

  constructor(
    private readonly cache: Cache,
    tables: readonly FollowedTable[],
    private readonly onApplied?: AppliedListener,
    private readonly lists?: FollowedLists,
  ) {
    this.byTable = new Map(tables.map((t) => [t.table, t]));
  }

  /** `committedAtMs`: when MySQL logged the changes (the binlog's clock, to the second). */
  async apply(changes: readonly RowChange[], committedAtMs: number): Promise<AppliedBatch> {
    const writes = [...this.writesOf(changes, committedAtMs), ...(await this.listWritesOf(changes))];
    const tally: AppliedBatch = { set: {}, stale: {}, invalidated: {} };
    const outcomes = await this.send(writes.map((w) => w.cas));
    const late: PlannedWrite[] = [];
    outcomes.forEach((outcome, i) => {
      const w = writes[i]!;
      if (outcome === 'late') late.push(w);
      else count(tally[outcome], w.entity);
    });
    // The ones marked stale below are not: a mark tells no lie, and is no row to check.
    this.onApplied?.(writes.filter((_, i) => outcomes[i] !== 'late').map((w) => ({ entity: w.entity, entityId: w.row.id, cas: w.cas })));
    if (late.length === 0) return tally;
    // A list state read a moment ago cannot be this late unless Redis stalled: read it again.
    if (late.some((w) => !w.table)) throw new ChangeApplyError('a list read again from MySQL reached Redis past its deadline');
    // A row is set only within half the tombstone TTL of its commit, so that it can
    // never land after the tombstone of a delete that followed it has expired (see
    // cas-script.ts). A follower that far behind marks the key stale instead: an
    // invalidation mark is a miss to every reader, so it can plant no wrong value
    // however late it lands, and the next read backfills the row from MySQL.
    const marks = late.map((w) => ({ ...w.table!.layout.invalidationWrite(w.row, committedAtMs), notAfterMs: 0 }));
    (await this.send(marks)).forEach((outcome, i) => {
      if (outcome !== 'late') count(outcome === 'set' ? tally.invalidated : tally.stale, late[i]!.entity);
    });
    return tally;
  }

  private async send(writes: CasWrite[]): Promise<CasOutcome[]> {
    if (writes.length === 0) return [];
    const outcomes = await this.cache.casSetMany(writes);
    const failed = outcomes.find((o): o is Error => o instanceof Error);
    if (failed) throw new ChangeApplyError(`the cache refused ${outcomes.filter((o) => o instanceof Error).length} of ${writes.length} writes: ${failed.message}`, { cause: failed });
    return outcomes as CasOutcome[];
  }

  /**
   * The lists whose version rows changed, read again now: their deadline counts from
   * this read, which is what the list state written is (never older than the change).
   * MySQL failing here is a batch the cache did not take: the session sends it again.
   */
  private async listWritesOf(changes: readonly RowChange[]): Promise<PlannedWrite[]> {
    const lists = this.lists;
    if (!lists) return [];
    const owners = new Map<string, Set<number>>();
    for (const change of changes) {
      if (change.table !== lists.table || change.kind === 'delete') continue;
      const list = lists.listOf(change.image);
      if (list) owners.set(list.entity, (owners.get(list.entity) ?? new Set()).add(list.owner));
    }
    const writes: PlannedWrite[] = [];
    for (const [entity, ids] of owners) {
      const readAt = Date.now();
      const rows = await lists.reread(entity, [...ids]).catch((err: unknown) => {
        throw new ChangeApplyError(`could not read the lists of ${entity} again: ${(err as Error).message}`, { cause: err });
      });
      const layout = lists.layoutOf(entity);
      for (const row of rows) writes.push({ entity, row, cas: layout.rowWrite(row, readAt) });
    }
    return writes;
  }

  /** One write per key: within a batch the binlog's order is MySQL's commit order, so the last change to a row is its newest. */
  private writesOf(changes: readonly RowChange[], committedAtMs: number): PlannedWrite[] {
    const byKey = new Map<string, PlannedWrite>();
    for (const change of changes) {
      const table = this.byTable.get(change.table);
      if (!table) continue;
      const row = table.fromImage(change.image);
      const cas = this.casOf(table, change.kind, row, committedAtMs);
      if (!cas) continue;
      byKey.delete(cas.key); // re-inserted last: Map keeps insertion order
      byKey.set(cas.key, { entity: table.entity, table, row, cas });
    }
    return [...byKey.values()];
  }

  private casOf(table: FollowedTable, kind: RowChange['kind'], row: Versioned, committedAtMs: number): CasWrite | undefined {
    if (kind !== 'delete') return table.rules.afterWrite(table.layout, row, committedAtMs);
    const tombstone = table.rules.afterDelete(table.layout, row.id, row.version, committedAtMs);
    // Ids are never reused, so a tombstone is true however late it lands: no deadline.
    return tombstone && { ...tombstone, notAfterMs: 0 };
  }
}

interface PlannedWrite {
  entity: string;
  /** None for a list's state: a list is never marked, it is read again. */
  table?: FollowedTable;
  row: Versioned;
  cas: CasWrite;
}

function count(tally: Record<string, number>, entity: string): void {
  tally[entity] = (tally[entity] ?? 0) + 1;
}
