import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildGraphQLSchema } from '../../src/graphql/schema';

describe('the GraphQL schema', () => {
  it('builds under the test runner, where esbuild emits no decorator metadata', async () => {
    const schema = await buildGraphQLSchema();
    expect(schema.getQueryType()?.getFields()).toHaveProperty('user');
  });

  it('matches the committed schema.graphql (run `npm run schema` after changing a type)', async () => {
    const committed = readFileSync(resolve(__dirname, '../../schema.graphql'), 'utf8');
    expect(`${printSchema(await buildGraphQLSchema())}\n`).toBe(committed);
  });

  it('keeps the names and types of the public contract', async () => {
    const sdl = printSchema(await buildGraphQLSchema());
    for (const line of [
      'user(id: ID!): User',
      'users(ids: [ID!]!): [User]!',
      'createUser(input: CreateUserInput!): User!',
      'deleteUser(id: ID!): Boolean!',
      'createdAt: DateTimeISO!',
      'version: Int!',
      'bio: String',
    ]) {
      expect(sdl).toContain(line);
    }
    expect(sdl).toMatch(/updateUser\(\s+id: ID!\s+input: UpdateUserInput!\s+(""".*"""\s+)?expectedVersion: Int\s+\): User!/s);
  });

  it('gives plain entity fields no resolver of their own: nothing runs per scalar field', async () => {
    const schema = await buildGraphQLSchema();
    const resolved = (type: string) =>
      Object.values((schema.getType(type) as import('graphql').GraphQLObjectType).getFields())
        .filter((field) => field.resolve !== undefined)
        .map((field) => field.name);
    // Their lists are pages of the cached association lists, loaded per request.
    expect(resolved('User')).toEqual(['orders']);
    expect(resolved('Product')).toEqual(['orders', 'reviews']);
    // An order's user and product are loaded through the request's DataLoaders.
    expect(resolved('Order')).toEqual(['user', 'product']);
  });
});
