import type { IncomingHttpHeaders } from 'node:http';
import type { GraphQLError } from 'graphql';
import { RequestErrorCode, requestError } from '../graphql/request-errors';

/** The content types a browser sends from another site without a preflight. */
const SIMPLE_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
/** Apollo's own preflight headers: a page can set them only after CORS let it. */
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'] as const;

/**
 * Whether a request may be a cross-site forgery: something a page on another site
 * could make a browser send without asking first (no preflight, so CORS never
 * checked it) that could also act with credentials the browser added on its own.
 *
 * Apollo's check (which this replaces) refuses every request without a preflight,
 * GET queries included, and so refuses urql's default GET queries. Narrower, and as
 * safe for this service:
 * - a JSON body, a preflight header, or a Bearer token can only come after a
 *   preflight: CORS decided it (browsers never add a Bearer token themselves);
 * - a GET runs queries only (Apollo refuses mutations over GET), so without
 *   credentials it can do nothing that any caller could not do from anywhere;
 * - what a browser adds unasked is cookies and cached HTTP authentication (Basic).
 *   The service reads neither, but a proxy in front of it may, so a GET carrying
 *   them needs a preflight header as before, and a simple POST is always refused.
 */
export function mayBeForged(method: string, headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  if (type !== undefined && !SIMPLE_CONTENT_TYPES.has(essence(type))) return false;
  if (PREFLIGHT_HEADERS.some((name) => nonEmpty(headers[name]))) return false;
  const authorization = headers.authorization;
  if (authorization !== undefined && /^Bearer\s/i.test(authorization)) return false;
  const ambientCredentials = headers.cookie !== undefined || authorization !== undefined;
  return !((method === 'GET' || method === 'HEAD') && !ambientCredentials);
}

/**
 * The refusal of what `mayBeForged` says a browser could forge: thrown where Apollo
 * made its own check (while making the context), so GET /graphql from a browser
 * still opens the landing page first.
 */
export function csrfRefusal(): GraphQLError {
  return requestError(
    'This request was refused as a possible cross-site request forgery: send a JSON body (content-type: application/json), ' +
      `a Bearer token, or a non-empty ${PREFLIGHT_HEADERS.join(' or ')} header`,
    RequestErrorCode.CsrfPrevented,
  );
}

/** `text/plain; charset=utf-8` → `text/plain`. */
function essence(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function nonEmpty(value: string | string[] | undefined): boolean {
  return value !== undefined && value.length > 0;
}
