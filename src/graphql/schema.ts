import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { UserResolver } from '../modules/user/user.resolver';

/** Every resolver the API serves; `npm run schema` prints the schema they build. */
export const resolvers = [UserResolver] as const;

export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...resolvers],
    // class-validator checks every input before a resolver runs, so nothing invalid
    // reaches MySQL or Redis. type-graphql would skip null fields by default; an
    // explicit null is a value to validate (`name: null` must fail, not reach SQL), so
    // optional fields say so themselves with @IsOptional or @ValidateIf.
    validate: { forbidUnknownValues: true, skipMissingProperties: false },
  });
}
