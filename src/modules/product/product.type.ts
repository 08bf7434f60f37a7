import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Something to order. Cached under `<prefix>product:<id>`.', simpleResolvers: true })
export class Product {
  @Field(() => ID)
  id!: number;

  @Field(() => String, { description: 'Unique; cannot be changed once created.' })
  sku!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  priceCents!: number;

  @Field(() => Int)
  stock!: number;

  @Field(() => Int, { description: 'Grows by one with every change, an order taking stock included.' })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}
