import { Args, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { parseEventId } from '../../graphql/ids';
import type { WriteThroughFailure as Failure } from '../../writethrough/failures';
import { WriteThroughFailuresArgs } from './failure.args';
import { WriteThroughFailure } from './failure.type';

@Resolver(() => WriteThroughFailure)
export class WriteThroughFailureResolver {
  @Subscription(() => WriteThroughFailure, {
    description: 'Every write whose cache update failed, as it happens; with `after`, the ones since that event first.',
    subscribe: ({ args, context }) => {
      const { entity, after } = args as WriteThroughFailuresArgs;
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
