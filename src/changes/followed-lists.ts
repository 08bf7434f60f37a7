import { getTableName } from 'drizzle-orm';
import type { AssociationList } from '../writethrough/association-lists';
import { listVersions } from '../writethrough/tables';
import type { FollowedLists } from './change-applier';

/**
 * The follower's view of the association lists: a change to a row of `list_versions`
 * (which the edge tables' triggers bump, whoever writes the edge) names the list that
 * changed, and the list is read again and written through as the write path would.
 */
export function followedLists(lists: Readonly<Record<string, AssociationList>>): FollowedLists {
  return {
    table: getTableName(listVersions),
    listOf: (image) => {
      const name = String(image.list);
      return lists[name] ? { entity: name, owner: Number(image.owner_id) } : undefined;
    },
    layoutOf: (entity) => lists[entity]!.cacheLayout as unknown as ReturnType<FollowedLists['layoutOf']>,
    reread: (entity, owners) => lists[entity]!.selectByIds(owners),
  };
}
