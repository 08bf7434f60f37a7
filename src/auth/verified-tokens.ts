import { LRUCache } from 'lru-cache';
import type { Credentials } from './principal';
import type { TokenVerifier } from './token-verifier';

/** How long a verification is reused at most, whatever the token's `exp`: a key taken out of a JWKS is noticed within this. */
export const MAX_REUSE_MS = 60_000;

interface Verified {
  credentials: Credentials;
  /** When to verify again: the token's `exp`, or MAX_REUSE_MS after it was verified, whichever is sooner. */
  until: number;
}

/**
 * Verifies each token once while it stays valid. Checking a JWT's signature is most of
 * what a cached read costs the service besides Redis (jose's HMAC through WebCrypto,
 * ~130 µs a request, bench/profile.ts), and a client sends the same token with every
 * request. Keyed by the whole token, so a token that differs in one byte (tampered,
 * or signed with another key) is a different key and is verified afresh. Only
 * verified tokens are kept: a refused one is checked again each time it is sent,
 * and is never taken for valid. An entry is never used at or past the token's `exp`
 * (jose would still accept it within its clock tolerance; this is stricter).
 * Bounded: at most `size` tokens, least recently used dropped first.
 */
export function reusingVerifications(verify: TokenVerifier, options: { size: number; now?: () => number }): TokenVerifier {
  if (options.size <= 0) return verify;
  const now = options.now ?? Date.now;
  const cache = new LRUCache<string, Verified>({ max: options.size });
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return verify(authorization);
    const hit = cache.get(authorization);
    if (hit !== undefined) {
      if (now() < hit.until) return hit.credentials;
      cache.delete(authorization);
    }
    const credentials = await verify(authorization);
    if (credentials.kind === 'verified') {
      const verifiedAt = now();
      const until = Math.min(credentials.expiresAt ?? Infinity, verifiedAt + MAX_REUSE_MS);
      if (until > verifiedAt) cache.set(authorization, { credentials, until });
    }
    return credentials;
  };
}
