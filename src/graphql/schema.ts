import type { GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';
import { authChecker } from './auth';
// type-graphql prints fields in the order their decorators ran, i.e. the order these
// modules load: users, products, orders, reviews, as in the contract.
import { UserResolver } from '../modules/user/user.resolver';
import { ProductResolver } from '../modules/product/product.resolver';
import { OrderResolver } from '../modules/order/order.resolver';
import { ReviewResolver } from '../modules/review/review.resolver';
import { WriteThroughFailureResolver } from '../modules/failure/failure.resolver';
import { StatusResolver } from '../modules/status/status.resolver';

/** Every resolver the API serves; `npm run schema` prints the schema they build. */
export const resolvers = [UserResolver, ProductResolver, OrderResolver, ReviewResolver, WriteThroughFailureResolver, StatusResolver] as const;

/**
 * type-graphql refuses to build subscriptions without a PubSub, even when each one
 * brings its own `subscribe` function, as ours does (fed by the core's failure feed).
 * This one is never called; if a topic-based subscription is ever added, it says so.
 */
const noTopicPubSub: PubSub = {
  publish() {
    throw new Error('topic subscriptions are not configured: give the subscription a `subscribe` function');
  },
  subscribe() {
    throw new Error('topic subscriptions are not configured: give the subscription a `subscribe` function');
  },
};

export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...resolvers],
    pubSub: noTopicPubSub,
    authChecker,
    // class-validator checks every input before a resolver runs, so nothing invalid
    // reaches MySQL or Redis. type-graphql would skip null fields by default; an
    // explicit null is a value to validate (`name: null` must fail, not reach SQL), so
    // optional fields say so themselves with @IsOptional or @ValidateIf.
    validate: { forbidUnknownValues: true, skipMissingProperties: false },
  });
}
