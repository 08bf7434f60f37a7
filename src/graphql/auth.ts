import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { Credentials, Scope } from '../auth/principal';

/** What a request may do: its credentials, and whether reads need a token. */
export interface Access {
  credentials: Credentials;
  requireAuthForReads: boolean;
}

/**
 * Fails unless the caller may use something that needs `scope`. A token that was
 * sent but refused fails everything, public reads included: a client with a broken
 * token should hear about it, not be served as anonymous.
 */
export function requireScope(access: Access, scope: Scope): void {
  const { credentials } = access;
  if (credentials.kind === 'refused') throw unauthenticated(credentials.reason);
  if (scope === 'read' && !access.requireAuthForReads) return;
  if (credentials.kind === 'anonymous') throw unauthenticated(`this needs a token with the ${scope} scope`);
  if (!credentials.principal.scopes.has(scope)) {
    throw new GraphQLError(`this needs the ${scope} scope, which the token does not grant`, { extensions: { code: 'FORBIDDEN', scope } });
  }
}

function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Unauthenticated: ${reason}`, { extensions: { code: 'UNAUTHENTICATED' } });
}

/** type-graphql's @Authorized('read' | 'write' | 'admin'): runs before the arguments are even validated. */
export const authChecker: AuthChecker<{ access: Access }, Scope> = ({ context }, scopes) => {
  for (const scope of scopes) requireScope(context.access, scope);
  return true;
};
