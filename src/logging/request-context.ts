import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request a piece of code runs for, wherever it is in the call chain. */
const current = new AsyncLocalStorage<{ requestId: string }>();

export function currentRequestId(): string | undefined {
  return current.getStore()?.requestId;
}

/** An incoming id is used only if it looks like one: it ends up in every log line. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives each HTTP request an id — the caller's `x-request-id` if it sent a sane one,
 * else a new one — echoes it in the response, and runs the rest of the request inside
 * it, so that every log line written on its behalf (the core's included) carries it.
 */
export function requestIds(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', requestId);
  current.run({ requestId }, next);
}
