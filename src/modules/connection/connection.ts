import type { GraphQLResolveInfo, SelectionNode } from 'graphql';
import type { ListRow } from '../../writethrough/association-list';
import type { AssociationList, ListPage } from '../../writethrough/association-lists';
import type { EntityLoader } from '../../writethrough/loaders';
import { decodeCursor, encodeCursor } from './cursor';
import type { PageInfo } from './page-info.type';

/** The default page: a screen's worth. */
export const DEFAULT_FIRST = 20;

/**
 * One page of an owner's list as a connection: the list through the request's list
 * loader (one MGET for every owner at this level), the page from its cached ids (or
 * MySQL past them), the nodes through their entity loader (one MGET).
 */
export async function listConnection<N extends { id: number }>(
  source: { list: AssociationList; lists: EntityLoader<ListRow>; nodes: EntityLoader<N>; kind: string },
  owner: number,
  args: { first: number; after?: string | null | undefined },
) {
  const after = decodeCursor(source.kind, args.after);
  const list = (await source.lists.load(owner))!;
  const page = await source.list.page(list, args.first, after);
  return toConnection(source.kind, page, await source.nodes.loadMany(page.ids));
}

/** A page of a list as a Relay connection: the nodes found, each with its cursor. */
export function toConnection<N extends { id: number }>(kind: string, page: ListPage, nodes: ReadonlyArray<N | null>) {
  // A node gone between the list's read and its own (a review deleted meanwhile) is left out.
  const edges = nodes.filter((n): n is N => n !== null).map((node) => ({ cursor: encodeCursor(kind, node.id), node }));
  const pageInfo: PageInfo = {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: false,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges[edges.length - 1]?.cursor ?? null,
  };
  return { edges, pageInfo };
}

/**
 * Whether the query asks for `field` on the value this resolver returns: a resolver
 * that knows its child will load a list starts that load now, in the same turn as its
 * own, so both ride one merged MGET (cache/coalesced-reads.ts) instead of two round
 * trips one after the other.
 */
export function selects(info: GraphQLResolveInfo, field: string): boolean {
  return info.fieldNodes.some((node) => node.selectionSet !== undefined && inSelections(info, node.selectionSet.selections, field, new Set()));
}

/** Fields, inline fragments and named fragments (as Apollo Client and urql send them), each named fragment once. */
function inSelections(info: GraphQLResolveInfo, selections: readonly SelectionNode[], field: string, seen: Set<string>): boolean {
  return selections.some((s) => {
    if (s.kind === 'Field') return s.name.value === field;
    if (s.kind === 'InlineFragment') return inSelections(info, s.selectionSet.selections, field, seen);
    const name = s.name.value;
    const fragment = info.fragments[name];
    if (!fragment || seen.has(name)) return false;
    seen.add(name);
    return inSelections(info, fragment.selectionSet.selections, field, seen);
  });
}

/** Starts a load whose promise the loader keeps for the field that will ask; its failure is that field's to report. */
export function prefetch(load: Promise<unknown>): void {
  load.catch(() => {});
}
