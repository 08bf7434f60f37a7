/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Users($ids: [ID!]!) {\n  users(ids: $ids) {\n    ...UserFields\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    ...UserFields\n  }\n}\n\nmutation RenameUser($id: ID!, $name: String!, $expectedVersion: Int) {\n  updateUser(id: $id, input: {name: $name}, expectedVersion: $expectedVersion) {\n    ...UserFields\n  }\n}\n\nfragment UserFields on User {\n  id\n  name\n  email\n  version\n  updatedAt\n}": typeof types.UsersDocument,
};
const documents: Documents = {
    "query Users($ids: [ID!]!) {\n  users(ids: $ids) {\n    ...UserFields\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    ...UserFields\n  }\n}\n\nmutation RenameUser($id: ID!, $name: String!, $expectedVersion: Int) {\n  updateUser(id: $id, input: {name: $name}, expectedVersion: $expectedVersion) {\n    ...UserFields\n  }\n}\n\nfragment UserFields on User {\n  id\n  name\n  email\n  version\n  updatedAt\n}": types.UsersDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Users($ids: [ID!]!) {\n  users(ids: $ids) {\n    ...UserFields\n  }\n}\n\nquery User($id: ID!) {\n  user(id: $id) {\n    ...UserFields\n  }\n}\n\nmutation RenameUser($id: ID!, $name: String!, $expectedVersion: Int) {\n  updateUser(id: $id, input: {name: $name}, expectedVersion: $expectedVersion) {\n    ...UserFields\n  }\n}\n\nfragment UserFields on User {\n  id\n  name\n  email\n  version\n  updatedAt\n}"): typeof import('./graphql').UsersDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
