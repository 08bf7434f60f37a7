import { Field, ObjectType } from 'type-graphql';
import { Order } from '../order/order.type';
import { Review } from '../review/review.type';
import { PageInfo } from './page-info.type';

// One class pair per node type: type-graphql needs a class to hang each field's type on.

@ObjectType({ simpleResolvers: true })
export class OrderEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Order)
  node!: Order;
}

@ObjectType({ description: 'Orders newest first, a page at a time (`first`, `after`); written through to the cache with every order placed.', simpleResolvers: true })
export class OrderConnection {
  @Field(() => [OrderEdge])
  edges!: OrderEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true })
export class ReviewEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Review)
  node!: Review;
}

@ObjectType({ description: 'Reviews newest first, a page at a time (`first`, `after`); written through to the cache with every review created or deleted.', simpleResolvers: true })
export class ReviewConnection {
  @Field(() => [ReviewEdge])
  edges!: ReviewEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
