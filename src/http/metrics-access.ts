import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TokenVerifier } from '../auth/token-verifier';

/** Why /metrics was refused: the status and the code of its JSON error. */
export interface MetricsRefusal {
  status: 401 | 403;
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  message: string;
}

/**
 * Who may read /metrics. `public`: anyone (development's default, or a port only the
 * scraper reaches). `token` (production's default): `Authorization: Bearer <METRICS_TOKEN>`,
 * which a Prometheus scrape job sends with `authorization: { credentials_file: … }`,
 * or a JWT with the admin scope. The metrics name entities, error classes and rates:
 * not secrets, but not for every visitor either.
 */
export function metricsAccess(options: {
  access: 'public' | 'token';
  token: string | undefined;
  verifyToken: TokenVerifier;
}): (req: IncomingMessage) => Promise<MetricsRefusal | undefined> {
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  return async (req) => {
    if (options.access === 'public') return undefined;
    const authorization = req.headers.authorization;
    if (authorization === undefined) return { status: 401, code: 'UNAUTHENTICATED', message: 'reading /metrics needs a token' };
    // Compared in constant time: the token is a shared secret.
    const given = Buffer.from(authorization);
    if (expected && given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
    const credentials = await options.verifyToken(authorization);
    if (credentials.kind === 'refused') return { status: 401, code: 'UNAUTHENTICATED', message: credentials.reason };
    if (credentials.kind === 'verified' && credentials.principal.scopes.has('admin')) return undefined;
    return { status: 403, code: 'FORBIDDEN', message: 'reading /metrics needs METRICS_TOKEN or the admin scope' };
  };
}
