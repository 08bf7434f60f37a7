import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Product } from '../product/product.type';
import { User } from '../user/user.type';

@ObjectType({ description: 'An order of one product by one user. Cached under `<prefix>order:<id>`.', simpleResolvers: true })
export class Order {
  @Field(() => ID)
  id!: number;

  @Field(() => User)
  user!: User;

  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Int, { description: "The product's price when the order was placed, times the quantity." })
  totalCents!: number;

  @Field(() => Date)
  createdAt!: Date;
}
