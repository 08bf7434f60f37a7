import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'A committed write whose cache update failed after its retries. MySQL has the row; the cache may not, until it is repaired.',
})
export class WriteThroughFailure {
  @Field(() => ID, { description: 'Pass the last one you saw as `after` to resume without missing any.' })
  id!: string;

  @Field(() => String, { description: "'user', 'product' or 'order'." })
  entity!: string;

  @Field(() => ID)
  entityId!: number;

  @Field(() => String, { description: "'create', 'update' or 'delete'." })
  operation!: string;

  @Field(() => Int, { description: 'The committed version the cache should hold.' })
  version!: number;

  @Field(() => String)
  error!: string;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => String, { description: 'The service instance whose cache write failed.' })
  instance!: string;
}
