import { Field, ID, Int, ObjectType } from 'type-graphql';

// simpleResolvers: plain fields use graphql's default resolver (a property read), not
// type-graphql's wrapper: nothing runs per field, and graphql-jit inlines the read.
@ObjectType({ description: 'A person who places orders. Cached under `<prefix>user:<id>`.', simpleResolvers: true })
export class User {
  @Field(() => ID)
  id!: number;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String, { nullable: true })
  bio!: string | null;

  @Field(() => Int, { description: 'Starts at 1 and grows by one with every update; pass it back as `expectedVersion`.' })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}
