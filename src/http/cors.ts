import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';

/** A connect-style step, on Node's own request and response. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface CorsPolicy {
  /** Undefined: any localhost origin in development, none in production. */
  origins: string[] | undefined;
  credentials: boolean;
  production: boolean;
}

const LOCALHOST = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/** Whether a browser page from `origin` may call the API. */
export function originAllowed(policy: CorsPolicy, origin: string): boolean {
  if (policy.origins === undefined) return !policy.production && LOCALHOST.test(origin);
  return policy.origins.includes('*') || policy.origins.includes(origin);
}

/**
 * The CORS headers, by the `cors` package, for the allowed origins only: a page from
 * anywhere else gets no Access-Control-Allow-Origin, so its browser keeps the answer
 * from it. Preflights are answered here, before anything else runs.
 */
export function corsMiddleware(policy: CorsPolicy): Middleware {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && originAllowed(policy, origin)),
    credentials: policy.credentials,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'apollo-require-preflight', 'x-apollo-operation-name'],
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
  });
}

/**
 * The same list for WebSocket upgrades, which CORS does not cover: a browser sends
 * its page's Origin and opens the socket whatever the answer's headers say, so the
 * server must refuse the upgrade itself. Clients that are not browsers send no
 * Origin and are let through (as they are over HTTP).
 */
export function upgradeAllowed(policy: CorsPolicy, request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || originAllowed(policy, origin)) return true;
  // A page of the service's own (/monitor) is same-origin, allowed without a list.
  const host = request.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
