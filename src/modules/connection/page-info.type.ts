import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: "Relay's page info. Pages go forward only (`first`, `after`): hasPreviousPage is false.", simpleResolvers: true })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'The cursor of the first edge; null on an empty page.' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'The cursor of the last edge: pass it as `after` for the next page; null on an empty page.' })
  endCursor!: string | null;
}
