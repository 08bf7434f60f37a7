import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { CacheStatus } from './status.type';

@Resolver(() => CacheStatus)
export class StatusResolver {
  @Authorized('admin')
  @Query(() => CacheStatus, { description: 'Backlog, circuit, hit ratio and recent samples: the numbers behind /monitor, for scripts.' })
  async cacheStatus(@Ctx() { status }: Context) {
    const report = await status();
    const { hit, negative_hit, miss, bypassed } = report.lookups;
    return { ...report, lookups: { hits: hit, negativeHits: negative_hit, misses: miss, bypassed } };
  }
}
