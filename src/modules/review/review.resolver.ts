import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ReviewRow } from '../../db/schema';
import { NotFoundError } from '../../errors';
import type { Context } from '../../graphql/context';
import { referenced } from '../../graphql/references';
import { parseId, parseIds } from '../../graphql/ids';
import { definedFields } from '../../graphql/patch';
import { Product } from '../product/product.type';
import { User } from '../user/user.type';
import { CreateReviewInput, UpdateReviewArgs } from './review.input';
import { Review } from './review.type';

@Resolver(() => Review)
export class ReviewResolver {
  @Authorized('read')
  @Query(() => Review, { nullable: true, description: 'One review, or null if there is none with this id.' })
  review(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context) {
    return loaders.review.load(parseId(id));
  }

  @Authorized('read')
  @Query(() => [Review], { nullable: 'items', description: 'In the order of `ids`, null where there is no review; at most 100.' })
  async reviews(@Arg('ids', () => [ID]) ids: string[], @Ctx() { loaders }: Context) {
    return loaders.review.loadMany(parseIds(ids));
  }

  @Authorized('write')
  @Mutation(() => Review, { description: 'A user or product that does not exist is NOT_FOUND.' })
  async createReview(@Arg('input', () => CreateReviewInput) input: CreateReviewInput, @Ctx() { core, loaders, logger }: Context) {
    const userId = parseId(input.userId, 'userId');
    const productId = parseId(input.productId, 'productId');
    // NOT_FOUND, as placeOrder says it, rather than the foreign key's CONFLICT (which
    // is left for a user or product deleted between this read and the INSERT). One
    // MGET for both, and the loaders keep the rows for the answer's `user` and `product`.
    const [user, product] = await Promise.all([loaders.user.load(userId), loaders.product.load(productId)]);
    if (!user) throw new NotFoundError('user', userId);
    if (!product) throw new NotFoundError('product', productId);
    const row = await core.reviews.create({ userId, productId, rating: input.rating, body: input.body }, { logger });
    loaders.review.prime(row.id, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Review, { description: 'With `expectedVersion`, fails with CONFLICT unless the review is still at that version.' })
  async updateReview(@Args(() => UpdateReviewArgs) { id, input, expectedVersion }: UpdateReviewArgs, @Ctx() { core, loaders, logger }: Context) {
    const reviewId = parseId(id);
    const row = await core.reviews.update(reviewId, definedFields(input), { expectedVersion: expectedVersion ?? undefined, logger });
    loaders.review.clear(reviewId).prime(reviewId, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Boolean, { description: 'True if the review was deleted, false if there was none with this id.' })
  async deleteReview(@Arg('id', () => ID) id: string, @Ctx() { core, loaders, logger }: Context) {
    const reviewId = parseId(id);
    const deleted = await core.reviews.delete(reviewId, { logger });
    loaders.review.clear(reviewId).prime(reviewId, null);
    return deleted;
  }

  // Through the request's loaders, so a list of reviews costs one MGET per type.
  @FieldResolver(() => User)
  async user(@Root() review: ReviewRow, @Ctx() { loaders }: Context) {
    return referenced(await loaders.user.load(review.userId), `user ${review.userId} of review ${review.id}`);
  }

  @FieldResolver(() => Product)
  async product(@Root() review: ReviewRow, @Ctx() { loaders }: Context) {
    return referenced(await loaders.product.load(review.productId), `product ${review.productId} of review ${review.id}`);
  }
}
