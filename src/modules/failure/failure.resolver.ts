import { Args, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { badInput, parseEventId } from '../../graphql/ids';
import type { WriteThroughFailure as Failure } from '../../writethrough/failures';
import { WriteThroughFailuresArgs } from './failure.args';
import { WriteThroughFailure } from './failure.type';

const ENTITIES = ['user', 'product', 'order'];

@Resolver(() => WriteThroughFailure)
export class WriteThroughFailureResolver {
  @Subscription(() => WriteThroughFailure, {
    description: 'Every write whose cache update failed, as it happens; with `after`, the ones since that event first.',
    // Runs once, when the client subscribes: bad arguments are refused here, before
    // any event, rather than when the first one would be delivered.
    subscribe: ({ args, context }) => {
      const { entity, after } = args as WriteThroughFailuresArgs;
      if (entity != null && !ENTITIES.includes(entity)) {
        throw badInput(`entity must be one of ${ENTITIES.join(', ')}, got ${JSON.stringify(entity.slice(0, 40))}`, 'entity');
      }
      return (context as Context).core.failureFeed.subscribe({
        entity: entity ?? undefined,
        after: after == null ? undefined : String(parseEventId(after)),
      });
    },
  })
  writeThroughFailures(@Root() failure: Failure, @Args(() => WriteThroughFailuresArgs) _args: WriteThroughFailuresArgs): Failure {
    return failure;
  }
}
