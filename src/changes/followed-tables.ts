import { getTableName } from 'drizzle-orm';
import { policyRules } from '../writethrough/cache-policy';
import type { Repository, VersionedTable } from '../writethrough/repository';
import type { FollowedTable } from './change-applier';
import { rowFromImage } from './row-images';

/** The follower writes each table as its repository does: same keys, same policy, same rows. */
export function followedTables(repositories: ReadonlyArray<Repository<VersionedTable>>): FollowedTable[] {
  return repositories.map((r) => ({
    table: getTableName(r.table),
    entity: r.entity,
    source: r.table,
    layout: r.cacheLayout as unknown as FollowedTable['layout'],
    rules: policyRules(r.policy),
    fromImage: rowFromImage(r.table),
  }));
}
