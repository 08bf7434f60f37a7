import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthSettings } from '../config';
import { ANONYMOUS, type Credentials } from './principal';
import { reusingVerifications } from './verified-tokens';

export type TokenVerifier = (authorization: string | undefined) => Promise<Credentials>;

/**
 * Checks `Authorization: Bearer <JWT>` with jose: HS256 against the shared secret, or
 * the keys a JWKS URL publishes (fetched and cached by jose, refreshed on an unknown
 * key id). Never throws: a bad token becomes 'refused', with a reason safe to show.
 * A verified token is reused until its `exp` (auth/verified-tokens.ts), up to
 * `verifiedTokenCacheSize` of them; 0 checks every request's token anew.
 */
export function createTokenVerifier(settings: AuthSettings & { secret?: string }): TokenVerifier {
  return reusingVerifications(joseVerifier(settings), { size: settings.verifiedTokenCacheSize ?? 0 });
}

/** Every token checked by jose, each time. */
function joseVerifier(settings: AuthSettings & { secret?: string }): TokenVerifier {
  const key = verificationKey(settings);
  const options = {
    // Pinned: a token must not choose how it is checked ("alg": "none", or HS256
    // signed with a public RSA key).
    algorithms: settings.secret ? ['HS256'] : ['RS256', 'ES256', 'EdDSA', 'PS256'],
    ...(settings.issuer ? { issuer: settings.issuer } : {}),
    ...(settings.audience ? { audience: settings.audience } : {}),
    clockTolerance: 5,
  };
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return ANONYMOUS;
    const match = /^Bearer +([A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]*)$/.exec(authorization.trim());
    if (!match) return { kind: 'refused', reason: 'the Authorization header must be "Bearer <token>"' };
    try {
      // Two calls because jose's overloads take either a key or a key getter, not a union.
      const { payload } = typeof key === 'function' ? await jwtVerify(match[1]!, key, options) : await jwtVerify(match[1]!, key, options);
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      return {
        kind: 'verified',
        principal: { subject: payload.sub, scopes: new Set(scope.split(' ').filter(Boolean)) },
        expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
      };
    } catch (err) {
      return { kind: 'refused', reason: reasonFor(err) };
    }
  };
}

function verificationKey(settings: AuthSettings): Uint8Array | JWTVerifyGetKey {
  if (settings.secret) return new TextEncoder().encode(settings.secret);
  if (settings.jwksUrl) return createRemoteJWKSet(new URL(settings.jwksUrl));
  throw new Error('token verification needs JWT_SECRET or JWT_JWKS_URL');
}

/** Says what was wrong without echoing the token or the key. */
function reasonFor(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's ${err.claim} claim is not accepted`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this service does not accept';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was signed with a key this service does not know';
  return 'the token is invalid';
}
