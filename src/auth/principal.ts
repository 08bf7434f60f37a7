/** The scopes a token's space-separated `scope` claim may grant. */
export type Scope = 'read' | 'write' | 'admin';

/** Who is calling, as far as a verified token says. */
export interface Principal {
  subject: string | undefined;
  scopes: ReadonlySet<string>;
}

/**
 * What a request's credentials came to: no token (anonymous), a verified one, or one
 * that was refused, with the reason to give the caller.
 */
export type Credentials =
  | { kind: 'anonymous' }
  /** `expiresAt`: the token's `exp`, in epoch milliseconds (undefined when it has none). */
  | { kind: 'verified'; principal: Principal; expiresAt: number | undefined }
  | { kind: 'refused'; reason: string };

export const ANONYMOUS: Credentials = { kind: 'anonymous' };
