import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../../graphql/context';
import type { ConsistencySnapshot } from '../../inspector/consistency-figures';
import { CacheStatus } from './status.type';

@Resolver(() => CacheStatus)
export class StatusResolver {
  @Authorized('admin')
  @Query(() => CacheStatus, { description: 'Backlog, circuit, hit ratio and recent samples: the numbers behind /monitor, for scripts.' })
  async cacheStatus(@Ctx() { status }: Context) {
    const report = await status();
    const { hit, negative_hit, miss, bypassed } = report.lookups;
    return { ...report, lookups: { hits: hit, negativeHits: negative_hit, misses: miss, bypassed }, consistency: report.consistency && consistencyOf(report.consistency) };
  }
}

/** GraphQL's Float has no Infinity: none inconsistent reads as the most nines the checks can show. */
function consistencyOf({ total, lastHour, lastDay, repaired, reads, pending }: ConsistencySnapshot) {
  const finite = (nines: number | null, checked: number) => (nines === Infinity ? Math.log10(checked) : nines);
  const window = ({ in_flight, nines, ...w }: ConsistencySnapshot['total']) => ({ ...w, inFlight: in_flight, nines: finite(nines, w.checked) });
  return { total: window(total), lastHour: window(lastHour), lastDay: window(lastDay), repaired, reads: { ...reads, nines: finite(reads.nines, reads.checked) }, pending };
}
