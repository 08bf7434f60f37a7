/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type UsersQueryVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type UsersQuery = { users: Array<{ id: string, name: string, email: string, version: number, updatedAt: string } | null> };

export type UserQueryVariables = Exact<{
  id: string | number;
}>;


export type UserQuery = { user: { id: string, name: string, email: string, version: number, updatedAt: string } | null };

export type RenameUserMutationVariables = Exact<{
  id: string | number;
  name: string;
  expectedVersion?: number | null | undefined;
}>;


export type RenameUserMutation = { updateUser: { id: string, name: string, email: string, version: number, updatedAt: string } };

export type UserFieldsFragment = { id: string, name: string, email: string, version: number, updatedAt: string };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const UserFieldsFragmentDoc = new TypedDocumentString(`
    fragment UserFields on User {
  id
  name
  email
  version
  updatedAt
}
    `, {"fragmentName":"UserFields"}) as unknown as TypedDocumentString<UserFieldsFragment, unknown>;
export const UsersDocument = new TypedDocumentString(`
    query Users($ids: [ID!]!) {
  users(ids: $ids) {
    ...UserFields
  }
}
    fragment UserFields on User {
  id
  name
  email
  version
  updatedAt
}`) as unknown as TypedDocumentString<UsersQuery, UsersQueryVariables>;
export const UserDocument = new TypedDocumentString(`
    query User($id: ID!) {
  user(id: $id) {
    ...UserFields
  }
}
    fragment UserFields on User {
  id
  name
  email
  version
  updatedAt
}`) as unknown as TypedDocumentString<UserQuery, UserQueryVariables>;
export const RenameUserDocument = new TypedDocumentString(`
    mutation RenameUser($id: ID!, $name: String!, $expectedVersion: Int) {
  updateUser(id: $id, input: {name: $name}, expectedVersion: $expectedVersion) {
    ...UserFields
  }
}
    fragment UserFields on User {
  id
  name
  email
  version
  updatedAt
}`) as unknown as TypedDocumentString<RenameUserMutation, RenameUserMutationVariables>;