import { IsInt, Max, Min } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MAX_ORDER_QUANTITY } from '../../orders/order-service';

@InputType()
export class PlaceOrderInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  productId!: string;

  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(MAX_ORDER_QUANTITY)
  quantity!: number;
}
