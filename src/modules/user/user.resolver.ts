import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { UserRow } from '../../db/schema';
import type { Context } from '../../graphql/context';
import { parseId, parseIds } from '../../graphql/ids';
import { definedFields } from '../../graphql/patch';
import { CreateUserInput, UpdateUserArgs } from './user.input';
import { DEFAULT_FIRST, listConnection, prefetch, selects } from '../connection/connection';
import { OrderConnection } from '../connection/connection.types';
import { User } from './user.type';

@Resolver(() => User)
export class UserResolver {
  @Authorized('read')
  @Query(() => User, { nullable: true, description: 'One user, or null if there is none with this id.' })
  user(@Arg('id', () => ID) id: string, @Ctx() { loaders }: Context, @Info() info: GraphQLResolveInfo) {
    const userId = parseId(id);
    // The user's orders list in the same MGET as the user (see `selects`).
    if (selects(info, 'orders')) prefetch(loaders.user_orders.load(userId));
    return loaders.user.load(userId);
  }

  @FieldResolver(() => OrderConnection, { description: "The user's orders, newest first; `first` from 1 to 100. Cached and written through with every order placed." })
  orders(
    @Root() user: UserRow,
    @Arg('first', () => Int, { defaultValue: DEFAULT_FIRST }) first: number,
    @Arg('after', () => String, { nullable: true, description: "An edge's cursor, or pageInfo.endCursor: the page after it." }) after: string | null,
    @Ctx() { core, loaders }: Context,
  ) {
    return listConnection({ list: core.lists.userOrders, lists: loaders.user_orders, nodes: loaders.order, kind: 'order' }, user.id, { first, after });
  }

  @Authorized('read')
  @Query(() => [User], { nullable: 'items', description: 'In the order of `ids`, null where there is no user; at most 100.' })
  async users(@Arg('ids', () => [ID]) ids: string[], @Ctx() { loaders }: Context) {
    return loaders.user.loadMany(parseIds(ids));
  }

  @Authorized('write')
  @Mutation(() => User)
  async createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() { core, loaders, logger }: Context) {
    const row = await core.users.create({ name: input.name, email: input.email, bio: input.bio ?? null }, { logger });
    loaders.user.prime(row.id, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => User, { description: 'With `expectedVersion`, fails with CONFLICT unless the user is still at that version.' })
  async updateUser(@Args(() => UpdateUserArgs) { id, input, expectedVersion }: UpdateUserArgs, @Ctx() { core, loaders, logger }: Context) {
    const userId = parseId(id);
    const row = await core.users.update(userId, definedFields(input), { expectedVersion: expectedVersion ?? undefined, logger });
    loaders.user.clear(userId).prime(userId, row);
    return row;
  }

  @Authorized('write')
  @Mutation(() => Boolean, { description: 'True if the user was deleted, false if there was none with this id.' })
  async deleteUser(@Arg('id', () => ID) id: string, @Ctx() { core, loaders, logger }: Context) {
    const userId = parseId(id);
    const deleted = await core.users.delete(userId, { logger });
    loaders.user.clear(userId).prime(userId, null);
    return deleted;
  }
}
