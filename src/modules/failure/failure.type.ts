import { Field, ID, Int, ObjectType } from 'type-graphql';
import { FAILURE_ENTITIES_TEXT } from './failure.args';

@ObjectType({
  description:
    'A committed write whose cache update failed after its retries (repairedAt null), or the repair of one (repairedAt set). MySQL has the row; until the repair, every instance reads that key from MySQL.',
  simpleResolvers: true,
})
export class WriteThroughFailure {
  @Field(() => ID, { description: 'Orders the events of every instance; pass the last one you saw as `after` to resume without missing any.' })
  id!: string;

  @Field(() => ID, { description: 'The failure this event is about: a repair carries the id of the failure it repairs.' })
  failureId!: string;

  @Field(() => String, { description: `${FAILURE_ENTITIES_TEXT}.` })
  entity!: string;

  @Field(() => ID)
  entityId!: number;

  @Field(() => String, { description: "'create', 'update' or 'delete'; 'inspection' when no write failed but the consistency inspector found the key wrong." })
  operation!: string;

  @Field(() => Int, { description: 'The committed version the cache should hold.' })
  version!: number;

  @Field(() => String)
  error!: string;

  @Field(() => Date, { description: 'When the cache write failed.' })
  occurredAt!: Date;

  @Field(() => String, { description: 'The service instance whose cache write failed.' })
  instance!: string;

  @Field(() => Date, { nullable: true, description: 'When the key was set again; null on the event that reports the failure.' })
  repairedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The instance that repaired it.' })
  repairedBy!: string | null;
}
