import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Scope } from './principal';

/** A secret for development when none is configured: different at every start. */
export function makeUpSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Signs an HS256 token with these scopes (development and tests; production tokens come from an identity provider). */
export function issueToken(
  secret: string,
  scopes: readonly Scope[],
  options: { subject?: string; expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setSubject(options.subject ?? 'developer')
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
