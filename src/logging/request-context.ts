import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Each request's id, for the code that answers it (the GraphQL context, json-errors.ts). */
const ids = new WeakMap<IncomingMessage, string>();

/** The id `requestIds` gave this request; undefined for one it never saw (a WebSocket upgrade). */
export function requestIdOf(req: IncomingMessage): string | undefined {
  return ids.get(req);
}

/** An incoming id is used only if it looks like one: it ends up in every log line. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives each HTTP request an id — the caller's `x-request-id` if it sent a sane one,
 * else a new one — and echoes it in the response. The code that logs for the request
 * asks `requestIdOf` and stamps the id on its lines: the GraphQL context makes a
 * logger that does, and hands it to the core with every read and write (CallScope).
 * The id is passed, not kept in an AsyncLocalStorage: on Node 20 that turns on
 * promise hooks for every promise of the process (bench/findings.md).
 */
export function requestIds(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', requestId);
  ids.set(req, requestId);
  next();
}
