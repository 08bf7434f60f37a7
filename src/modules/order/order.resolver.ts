import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { OrderRow } from '../../db/schema';
import type { Context } from '../../graphql/context';
import { referenced } from '../../graphql/references';
import { parseId } from '../../graphql/ids';
import { SINGLE_OWNER } from '../../writethrough/association-list';
import { DEFAULT_FIRST, listConnection } from '../connection/connection';
import { OrderConnection } from '../connection/connection.types';
import { Product } from '../product/product.type';
import { User } from '../user/user.type';
import { InvalidInputError } from '../../errors';
import { MAX_RECENT_ORDERS } from '../../orders/order-service';
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
  @Query(() => [Order], {
    description: 'Newest first; `limit` from 1 to 100. From the cached list of the newest orders, as latestOrders.',
    deprecationReason: 'Use latestOrders(first, after): the same orders as a connection, with cursors to page on.',
  })
  async recentOrders(@Arg('limit', () => Int, { defaultValue: 20 }) limit: number, @Ctx() { core, loaders }: Context) {
    assertLimit(limit);
    const page = await core.lists.recentOrders.page((await loaders.recent_orders.load(SINGLE_OWNER))!, limit);
    // An order deleted between the two reads is left out rather than answered as null.
    return (await loaders.order.loadMany(page.ids)).filter((o) => o !== null);
  }

  @Authorized('read')
  @Query(() => OrderConnection, { description: 'Every order, newest first; `first` from 1 to 100. Cached and written through with every order placed.' })
  latestOrders(
    @Arg('first', () => Int, { defaultValue: DEFAULT_FIRST }) first: number,
    @Arg('after', () => String, { nullable: true, description: "An edge's cursor, or pageInfo.endCursor: the page after it." }) after: string | null,
    @Ctx() { core, loaders }: Context,
  ) {
    return listConnection({ list: core.lists.recentOrders, lists: loaders.recent_orders, nodes: loaders.order, kind: 'order' }, SINGLE_OWNER, { first, after });
  }

  @Authorized('write')
  @Mutation(() => Order, { description: 'Takes the stock and records the order in one transaction; not enough stock is a CONFLICT.' })
  async placeOrder(@Arg('input', () => PlaceOrderInput) input: PlaceOrderInput, @Ctx() { core, loaders, logger }: Context) {
    const order = await core.ordering.place({
      userId: parseId(input.userId, 'userId'),
      productId: parseId(input.productId, 'productId'),
      quantity: input.quantity,
    }, { logger });
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

/** recentOrders' own words for a limit out of range, as before it read the cached list. */
function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECENT_ORDERS) {
    throw new InvalidInputError(`limit must be a whole number from 1 to ${MAX_RECENT_ORDERS}`, 'limit');
  }
}
