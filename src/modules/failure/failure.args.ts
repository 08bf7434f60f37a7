import { ArgsType, Field, ID } from 'type-graphql';

@ArgsType()
export class WriteThroughFailuresArgs {
  @Field(() => String, { nullable: true, description: "Only failures of this entity: 'user', 'product' or 'order'." })
  entity?: string | null;

  @Field(() => ID, { nullable: true, description: 'Replay the failures after this event id first.' })
  after?: string | null;
}
