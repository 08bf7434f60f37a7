import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { OrderRow } from '../../db/schema';
import type { Context } from '../../graphql/context';
import { referenced } from '../../graphql/references';
import { parseId } from '../../graphql/ids';
import { Product } from '../product/product.type';
import { User } from '../user/user.type';
import { PlaceOrderInput } from './order.input';
import { Order } from './order.type';

@Resolver(() => Order)
export class OrderResolver {
  @Authorized('read')
  @Query(() => Order, { nullable: true })
  order(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context) {
    return loaders.order.load(parseId(id));
  }

  @Authorized('read')
  @Query(() => [Order], { description: 'Newest first; `limit` from 1 to 100.' })
  async recentOrders(@Arg('limit', () => Int, { defaultValue: 20 }) limit: number, @Ctx() { core, loaders }: Context) {
    const ids = await core.ordering.recentIds(limit);
    // An order deleted between the two reads is left out rather than answered as null.
    return (await loaders.order.loadMany(ids)).filter((o) => o !== null);
  }

  @Authorized('write')
  @Mutation(() => Order, { description: 'Takes the stock and records the order in one transaction; not enough stock is a CONFLICT.' })
  async placeOrder(@Arg('input', () => PlaceOrderInput) input: PlaceOrderInput, @Ctx() { core, loaders }: Context) {
    const order = await core.ordering.place({
      userId: parseId(input.userId, 'userId'),
      productId: parseId(input.productId, 'productId'),
      quantity: input.quantity,
    });
    loaders.order.prime(order.id, order);
    loaders.product.clear(order.productId);
    return order;
  }

  // Both go through the request's loaders, so a list of orders costs one MGET per type.
  @FieldResolver(() => User)
  async user(@Root() order: OrderRow, @Ctx() { loaders }: Context) {
    return referenced(await loaders.user.load(order.userId), `user ${order.userId} of order ${order.id}`);
  }

  @FieldResolver(() => Product)
  async product(@Root() order: OrderRow, @Ctx() { loaders }: Context) {
    return referenced(await loaders.product.load(order.productId), `product ${order.productId} of order ${order.id}`);
  }
}
