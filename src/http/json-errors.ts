import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { RequestErrorCode } from '../graphql/request-errors';

export interface HttpErrorLogger {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A GraphQL-shaped error body, `{ errors: [{ message, extensions: { code } }] }`, with its status. */
export function sendErrors(res: Response, status: number, errors: Array<{ message: string; code: string }>): void {
  res.status(status).json({ errors: errors.map(({ message, code }) => ({ message, extensions: { code } })) });
}

/** The errors body-parser raises (its `type`), as the caller's mistakes they are. */
const BODY_ERRORS: Record<string, { status: number; code: string; message: (limit: number) => string }> = {
  'entity.parse.failed': { status: 400, code: RequestErrorCode.InvalidBody, message: () => 'the request body is not valid JSON' },
  'entity.too.large': { status: 413, code: RequestErrorCode.TooLarge, message: (limit) => `the request body is over ${limit} bytes` },
  'request.size.invalid': { status: 400, code: RequestErrorCode.InvalidBody, message: () => 'the request body is shorter or longer than its Content-Length' },
  'request.aborted': { status: 400, code: RequestErrorCode.InvalidBody, message: () => 'the request body was cut off' },
  'charset.unsupported': { status: 415, code: RequestErrorCode.InvalidBody, message: () => 'the request body must be UTF-8' },
  'encoding.unsupported': { status: 415, code: RequestErrorCode.InvalidBody, message: () => 'the request body must be sent as identity, gzip, deflate or br' },
};

/**
 * Express answers an error with an HTML page, a stack trace with server paths in
 * development. Every error reaching this handler is answered as JSON with a code
 * instead: body-parser's by what was wrong with the body (a 4xx); anything else is
 * ours, logged in full and answered 500 without details in production.
 */
export function jsonErrorHandler(options: { production: boolean; maxBodyBytes: number; logger: HttpErrorLogger }): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const known = BODY_ERRORS[(err as { type?: string }).type ?? ''];
    if (known) {
      // The caller's mistake, not ours: worth a line when debugging a client, no more.
      options.logger.debug({ status: known.status, code: known.code }, 'request refused before GraphQL');
      return sendErrors(res, known.status, [{ message: known.message(options.maxBodyBytes), code: known.code }]);
    }
    options.logger.error({ err }, 'unexpected error while serving an HTTP request');
    const message = options.production ? 'Internal server error' : String((err as Error)?.message ?? err);
    sendErrors(res, 500, [{ message, code: 'INTERNAL_SERVER_ERROR' }]);
  };
}

/** Every path the service does not serve: a JSON 404 rather than Express's HTML. */
export function jsonNotFound(): RequestHandler {
  return (_req, res) => sendErrors(res, 404, [{ message: 'nothing is served at this path; GraphQL is at /graphql', code: RequestErrorCode.NoSuchRoute }]);
}
