import { Arg, Args, Authorized, Ctx, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import { requireScope } from '../../graphql/auth';
import type { Context } from '../../graphql/context';
import { badInput, parseEventId } from '../../graphql/ids';
import type { FailureEvent } from '../../failures/failure-event';
import { CACHED_NAMES } from '../../entities';
import { WriteThroughFailuresArgs } from './failure.args';
import { WriteThroughFailure } from './failure.type';

@Resolver(() => WriteThroughFailure)
export class WriteThroughFailureResolver {
  @Subscription(() => WriteThroughFailure, {
    description:
      'Every write whose cache update failed, on any instance, and every repair, as they happen; with `after`, the ones since that event first. Needs the admin scope (send the token as connectionParams.authorization).',
    // Runs once, when the client subscribes: bad arguments are refused here, before
    // any event, rather than when the first one would be delivered.
    subscribe: ({ args, context }) => {
      requireScope((context as Context).access, 'admin');
      const { entity, after } = args as WriteThroughFailuresArgs;
      if (entity != null && !CACHED_NAMES.includes(entity)) {
        throw badInput(`entity must be one of ${CACHED_NAMES.join(', ')}, got ${JSON.stringify(entity.slice(0, 40))}`, 'entity');
      }
      return (context as Context).core.feed.subscribe({
        entity: entity ?? undefined,
        after: after == null ? undefined : parseEventId(after),
      });
    },
  })
  writeThroughFailures(@Root() event: FailureEvent, @Args(() => WriteThroughFailuresArgs) _args: WriteThroughFailuresArgs): FailureEvent {
    return event;
  }

  @Authorized('admin')
  @Query(() => [WriteThroughFailure], { description: 'The failures not repaired yet, oldest first (at most `limit`, 1 to 1000).' })
  async unrepairedWriteThroughFailures(@Arg('limit', () => Int, { defaultValue: 100 }) limit: number, @Ctx() { core }: Context) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badInput('limit must be a whole number from 1 to 1000', 'limit');
    return core.failureLog.unrepaired(limit);
  }
}
