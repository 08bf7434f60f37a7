import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ProductRow } from '../../db/schema';
import type { Context } from '../../graphql/context';
import { parseId, parseIds } from '../../graphql/ids';
import { definedFields } from '../../graphql/patch';
import { CreateProductInput, UpdateProductArgs } from './product.input';
import { DEFAULT_FIRST, listConnection, prefetch, selects } from '../connection/connection';
import { OrderConnection, ReviewConnection } from '../connection/connection.types';
import { Product } from './product.type';

@Resolver(() => Product)
export class ProductResolver {
  @Authorized('read')
  @Query(() => Product, { nullable: true, description: 'One product, or null if there is none with this id.' })
  product(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context, @Info() info: GraphQLResolveInfo) {
    const productId = parseId(id);
    // Its lists in the same MGET as the product (see `selects`).
    if (selects(info, 'orders')) prefetch(loaders.product_orders.load(productId));
    if (selects(info, 'reviews')) prefetch(loaders.product_reviews.load(productId));
    return loaders.product.load(productId);
  }

  @FieldResolver(() => OrderConnection, { description: "The product's orders, newest first; `first` from 1 to 100. Cached and written through with every order placed." })
  orders(
    @Root() product: ProductRow,
    @Arg('first', () => Int, { defaultValue: DEFAULT_FIRST }) first: number,
    @Arg('after', () => String, { nullable: true, description: "An edge's cursor, or pageInfo.endCursor: the page after it." }) after: string | null,
    @Ctx() { core, loaders }: Context,
  ) {
    return listConnection({ list: core.lists.productOrders, lists: loaders.product_orders, nodes: loaders.order, kind: 'order' }, product.id, { first, after });
  }

  @FieldResolver(() => ReviewConnection, { description: "The product's reviews, newest first; `first` from 1 to 100. Cached and written through with every review created or deleted." })
  reviews(
    @Root() product: ProductRow,
    @Arg('first', () => Int, { defaultValue: DEFAULT_FIRST }) first: number,
    @Arg('after', () => String, { nullable: true, description: "An edge's cursor, or pageInfo.endCursor: the page after it." }) after: string | null,
    @Ctx() { core, loaders }: Context,
  ) {
    return listConnection({ list: core.lists.productReviews, lists: loaders.product_reviews, nodes: loaders.review, kind: 'review' }, product.id, { first, after });
  }

  @Authorized('read')
  @Query(() => [Product], { nullable: 'items', description: 'In the order of `ids`, null where there is no product; at most 100.' })
  async products(@Arg('ids', () => [ID]) ids: string[], @Ctx() { loaders }: Context) {
    return loaders.product.loadMany(parseIds(ids));
  }

  @Authorized('write')
  @Mutation(() => Product, { description: 'A taken sku is a CONFLICT.' })
  async createProduct(@Arg('input', () => CreateProductInput) input: CreateProductInput, @Ctx() { core, loaders, logger }: Context) {
    const row = await core.products.create({ ...input }, { logger });
    loaders.product.prime(row.id, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Product, { description: 'With `expectedVersion`, fails with CONFLICT unless the product is still at that version.' })
  async updateProduct(@Args(() => UpdateProductArgs) { id, input, expectedVersion }: UpdateProductArgs, @Ctx() { core, loaders, logger }: Context) {
    const productId = parseId(id);
    const row = await core.products.update(productId, definedFields(input), { expectedVersion: expectedVersion ?? undefined, logger });
    loaders.product.clear(productId).prime(productId, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Boolean, { description: 'True if deleted, false if there was none; CONFLICT while orders refer to it.' })
  async deleteProduct(@Arg('id', () => ID) id: string, @Ctx() { core, loaders, logger }: Context) {
    const productId = parseId(id);
    const deleted = await core.products.delete(productId, { logger });
    loaders.product.clear(productId).prime(productId, null);
    return deleted;
  }
}
