import { getTableName, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../db/client';
import { SINGLE_OWNER, type ListDefinition, type ListRow } from './association-list';
import { listVersions } from './tables';
import type { Transaction } from './unit-of-work';

type Executor = Pick<Database, 'execute'>;

/**
 * The SQL of one association list: its state for a batch of owners, read in one
 * statement, and inside a writer's transaction; and the pages older than the cache.
 */
export class ListStatements {
  private readonly edges: SQLWrapper;
  private readonly id: SQLWrapper;
  private readonly owner: SQLWrapper | undefined;
  private readonly versions = sql.identifier(getTableName(listVersions));

  constructor(private readonly definition: ListDefinition) {
    this.edges = sql.identifier(getTableName(definition.edges));
    this.id = sql.identifier(definition.edges.id.name);
    this.owner = definition.owner && sql.identifier(definition.owner.name);
  }

  /**
   * The lists of `owners`, each its version and newest ids, in ONE statement (a UNION
   * ALL): InnoDB reads a statement from one read view, so each version comes with
   * exactly the edges that version has. Two statements could pair a version with the
   * edges of a later one, and the compare-and-set would then keep that list at a
   * version it does not match. Each owner's edges are an index range read with a LIMIT.
   */
  async snapshot(db: Executor, owners: readonly number[]): Promise<ListRow[]> {
    const { name, cachedLength } = this.definition;
    const parts = [
      sql`(SELECT owner_id AS owner, version, NULL AS edge FROM ${this.versions} WHERE list = ${name} AND owner_id IN (${sql.join(owners.map((o) => sql`${o}`), sql`, `)}))`,
      ...owners.map((o) => sql`(SELECT ${o} AS owner, NULL AS version, ${this.id} AS edge FROM ${this.edges}${this.whereOwner(o)} ORDER BY ${this.id} DESC LIMIT ${cachedLength + 1})`),
    ];
    const [rows] = (await db.execute(sql.join(parts, sql` UNION ALL `))) as unknown as [Array<{ owner: unknown; version: unknown; edge: unknown }>];
    const lists = new Map(owners.map((o) => [o, { id: o, version: 0, ids: [] as number[], more: false }]));
    for (const r of rows) {
      const list = lists.get(Number(r.owner));
      if (!list) continue;
      if (r.version !== null) list.version = Number(r.version);
      else list.ids.push(Number(r.edge));
    }
    return [...lists.values()].map((list) => trimmed(list, cachedLength));
  }

  /**
   * The list of `owner` inside the transaction that has just changed one of its edges.
   * The trigger took the list's version row (an exclusive lock) when the edge was
   * written, so no other writer of this list is between its edge and its COMMIT. But
   * this transaction's read view may be older than the last such COMMIT (placeOrder
   * reads the user first), so the edges are a locking read, which sees the latest
   * committed rows, not the read view's; the version row is this transaction's own.
   */
  async locked(tx: Transaction, owner: number): Promise<ListRow> {
    const { name, cachedLength } = this.definition;
    const [[version]] = (await tx.execute(sql`SELECT version FROM ${this.versions} WHERE list = ${name} AND owner_id = ${owner} FOR UPDATE`)) as unknown as [Array<{ version: unknown }>];
    const [edges] = (await tx.execute(
      sql`SELECT ${this.id} AS edge FROM ${this.edges}${this.whereOwner(owner)} ORDER BY ${this.id} DESC LIMIT ${cachedLength + 1} FOR UPDATE`,
    )) as unknown as [Array<{ edge: unknown }>];
    return trimmed({ id: owner, version: version ? Number(version.version) : 0, ids: edges.map((e) => Number(e.edge)), more: false }, cachedLength);
  }

  /** A page older than the cached ids: the `limit` newest edges below `beforeId`. */
  async olderThan(db: Executor, owner: number, beforeId: number, limit: number): Promise<number[]> {
    const below = sql`${this.id} < ${beforeId}`;
    const where = this.owner ? sql` WHERE ${this.owner} = ${owner} AND ${below}` : sql` WHERE ${below}`;
    const [edges] = (await db.execute(sql`SELECT ${this.id} AS edge FROM ${this.edges}${where} ORDER BY ${this.id} DESC LIMIT ${limit}`)) as unknown as [
      Array<{ edge: unknown }>,
    ];
    return edges.map((e) => Number(e.edge));
  }

  private whereOwner(owner: number): SQL {
    if (this.owner) return sql` WHERE ${this.owner} = ${owner}`;
    if (owner !== SINGLE_OWNER) throw new Error(`list ${this.definition.name} has one owner, ${SINGLE_OWNER}, not ${owner}`);
    return sql``;
  }
}

/** `cachedLength + 1` ids were read, so that the last one says whether older ones exist. */
function trimmed(list: ListRow, cachedLength: number): ListRow {
  if (list.ids.length <= cachedLength) return list;
  return { ...list, ids: list.ids.slice(0, cachedLength), more: true };
}
