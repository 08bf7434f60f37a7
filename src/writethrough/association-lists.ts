import { getTableColumns } from 'drizzle-orm';
import { InvalidInputError } from '../errors';
import { translateDatabaseError } from '../db/errors';
import { SINGLE_OWNER, listCodec, type ListDefinition, type ListRow } from './association-list';
import { policyRules, type PolicyRules } from './cache-policy';
import type { PendingWrite } from './cache-writer';
import { EntityCache } from './entity-cache';
import { EntityReads } from './entity-reads';
import type { CallScope } from './logger';
import type { WriteOperation } from './failures';
import { ListStatements } from './list-statements';
import type { RepositoryDeps } from './repository-deps';
import type { Transaction } from './unit-of-work';

/** The largest page: `first` is from 1 to this. */
export const MAX_PAGE = 100;

/** One page of a list: edge ids newest first, and whether older ones exist. */
export interface ListPage {
  ids: number[];
  hasNextPage: boolean;
}

/**
 * The write-through core for one association list (association-list.ts): its read
 * path is an entity's (entity-reads.ts, over list states keyed by owner), so a batch
 * of owners costs one MGET, the misses one SELECT, their backfill one pipeline of
 * compare-and-sets; its writes ride in the transaction of the edge that changed it,
 * and go to the cache in that write's pipeline. Failures, intents, suspicion, the
 * fence, repairs and the inspector know it by its name, as they know an entity.
 */
export class AssociationList {
  readonly entity: string;
  readonly cacheLayout: EntityCache<ListRow>;
  private readonly reads: EntityReads<ListRow>;
  private readonly statements: ListStatements;
  private readonly rules: PolicyRules;
  /** The edge row's field that holds its owner's id (none: the one list of every edge). */
  private readonly ownerField: string | undefined;
  private readonly now: () => number;

  constructor(
    readonly definition: ListDefinition,
    private readonly deps: RepositoryDeps,
  ) {
    this.entity = definition.name;
    this.statements = new ListStatements(definition);
    this.cacheLayout = new EntityCache(definition.name, listCodec, deps.settings);
    const source = { select: (db: Parameters<ListStatements['snapshot']>[0], owners: readonly number[]) => this.statements.snapshot(db, owners) };
    // The operator's policy for all (CACHE_POLICY): off leaves lists uncached, invalidate marks them.
    this.rules = policyRules(deps.settings.policyByEntity?.[definition.name] ?? deps.settings.policy ?? 'write-through');
    this.reads = new EntityReads(definition.name, source, this.cacheLayout, this.rules, deps);
    this.now = deps.now ?? Date.now;
    const { owner, edges } = definition;
    this.ownerField = owner && Object.entries(getTableColumns(edges)).find(([, column]) => column === owner)?.[0];
    if (owner && !this.ownerField) throw new Error(`list ${definition.name}: its owner column is not a column of its edge table`);
  }

  /** A loader's batch function: every owner's list (an owner with no edges has an empty one). */
  async load(owners: readonly number[], scope?: CallScope): Promise<ListRow[]> {
    return (await this.reads.load(owners, scope)).map((list, i) => list ?? { id: owners[i]!, version: 0, ids: [], more: false });
  }

  /** Lists straight from the primary, past the cache (repairs, audits, the inspector). */
  selectByIds(owners: readonly number[]): Promise<ListRow[]> {
    return this.reads.selectByIds(owners);
  }

  /** The owner of the list an edge row is in. */
  ownerOf(edge: Record<string, unknown>): number {
    return this.ownerField ? Number(edge[this.ownerField]) : SINGLE_OWNER;
  }

  /**
   * Inside the transaction that has just added or removed an edge: the list's new
   * state, to be written through after COMMIT with the edge's own row.
   */
  async cacheWrites(tx: Transaction, owner: number, operation: WriteOperation): Promise<PendingWrite[]> {
    if (!this.rules.readsCache) return []; // off: nothing to keep, and no list to read
    const list = await this.statements.locked(tx, owner).catch((err: unknown) => {
      throw translateDatabaseError(err, this.entity);
    });
    const cas = this.rules.afterWrite(this.cacheLayout, list, this.now());
    return cas ? [{ entity: this.entity, entityId: owner, operation, cas }] : [];
  }

  /**
   * `first` edges after the cursor's edge (`afterId`), newest first, from the list's
   * cached ids while they reach; past them, from MySQL by id. Ids only go down a
   * list, so a cursor stays valid while edges are added above it.
   */
  async page(list: ListRow, first: number, afterId?: number): Promise<ListPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new InvalidInputError(`first must be a whole number from 1 to ${MAX_PAGE}`, 'first');
    const below = afterId === undefined ? list.ids : list.ids.filter((id) => id < afterId);
    if (below.length >= first) return { ids: below.slice(0, first), hasNextPage: below.length > first || list.more };
    if (!list.more) return { ids: below, hasNextPage: false };
    // The cache ends before the page does: the rest from MySQL, below the last id known.
    const from = below.length > 0 ? below[below.length - 1]! : afterId!;
    const older = await this.statements.olderThan(this.deps.db, list.id, from, first - below.length + 1).catch((err: unknown) => {
      throw translateDatabaseError(err, this.entity);
    });
    const ids = [...below, ...older];
    return { ids: ids.slice(0, first), hasNextPage: ids.length > first };
  }
}
