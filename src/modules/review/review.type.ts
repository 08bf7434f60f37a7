import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Product } from '../product/product.type';
import { User } from '../user/user.type';

@ObjectType({ description: "A user's rating of one product, with a few words. Cached under `<prefix>review:<id>`.", simpleResolvers: true })
export class Review {
  @Field(() => ID)
  id!: number;

  @Field(() => User, { description: 'Who wrote it; cannot be changed once created.' })
  user!: User;

  @Field(() => Product, { description: 'What it is about; cannot be changed once created.' })
  product!: Product;

  @Field(() => Int, { description: 'From 1 to 5.' })
  rating!: number;

  @Field(() => String, { description: 'At most 2,000 characters.' })
  body!: string;

  @Field(() => Int, { description: 'Starts at 1 and grows by one with every update; pass it back as `expectedVersion`.' })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}
