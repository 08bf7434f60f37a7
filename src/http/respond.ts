import type { IncomingMessage, ServerResponse } from 'node:http';

/** A route's handler, on Node's own request and response. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Answers `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(body));
}

/** Answers with these headers and body; Node leaves the body out for HEAD. */
export function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** A GraphQL-shaped error body, `{ errors: [{ message, extensions: { code } }] }`, with its status. */
export function sendErrors(res: ServerResponse, status: number, errors: Array<{ message: string; code: string }>): void {
  sendJson(res, status, { errors: errors.map(({ message, code }) => ({ message, extensions: { code } })) });
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  const at = url?.indexOf('?') ?? -1;
  return at === -1 ? (url ?? '/') : url!.slice(0, at);
}

/** The query string of a request URL, with its `?` (or ''), as Apollo takes it. */
export function searchOf(url: string | undefined): string {
  const at = url?.indexOf('?') ?? -1;
  return at === -1 ? '' : url!.slice(at);
}
