import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { parseId, parseIds } from '../../graphql/ids';
import { definedFields } from '../../graphql/patch';
import { CreateProductInput, UpdateProductArgs } from './product.input';
import { Product } from './product.type';

@Resolver(() => Product)
export class ProductResolver {
  @Authorized('read')
  @Query(() => Product, { nullable: true, description: 'One product, or null if there is none with this id.' })
  product(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context) {
    return loaders.product.load(parseId(id));
  }

  @Authorized('read')
  @Query(() => [Product], { nullable: 'items', description: 'In the order of `ids`, null where there is no product; at most 100.' })
  async products(@Arg('ids', () => [ID]) ids: string[], @Ctx() { loaders }: Context) {
    return loaders.product.loadMany(parseIds(ids));
  }

  @Authorized('write')
  @Mutation(() => Product, { description: 'A taken sku is a CONFLICT.' })
  async createProduct(@Arg('input', () => CreateProductInput) input: CreateProductInput, @Ctx() { core, loaders }: Context) {
    const row = await core.products.create({ ...input });
    loaders.product.prime(row.id, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Product, { description: 'With `expectedVersion`, fails with CONFLICT unless the product is still at that version.' })
  async updateProduct(@Args(() => UpdateProductArgs) { id, input, expectedVersion }: UpdateProductArgs, @Ctx() { core, loaders }: Context) {
    const productId = parseId(id);
    const row = await core.products.update(productId, definedFields(input), expectedVersion == null ? {} : { expectedVersion });
    loaders.product.clear(productId).prime(productId, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Boolean, { description: 'True if deleted, false if there was none; CONFLICT while orders refer to it.' })
  async deleteProduct(@Arg('id', () => ID) id: string, @Ctx() { core, loaders }: Context) {
    const productId = parseId(id);
    const deleted = await core.products.delete(productId);
    loaders.product.clear(productId).prime(productId, null);
    return deleted;
  }
}
