import type { ServerResponse } from 'node:http';
import { RequestErrorCode } from '../graphql/request-errors';
import { requestIdOf } from '../logging/request-context';
import { sendErrors, type Handler } from './respond';

export interface HttpErrorLogger {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
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
 * Answers an error that reached the HTTP layer as JSON with a code, never as an HTML
 * page or a stack trace: body-parser's by what was wrong with the body (a 4xx);
 * anything else is ours, logged in full and answered 500 without details in
 * production. A response already under way is cut off instead.
 */
export function answerError(options: { production: boolean; maxBodyBytes: number; logger: HttpErrorLogger }): (err: unknown, res: ServerResponse) => void {
  return (err, res) => {
    const reqId = requestIdOf(res.req);
    if (res.headersSent) {
      options.logger.error({ err, reqId }, 'unexpected error while answering an HTTP request');
      res.destroy();
      return;
    }
    const known = BODY_ERRORS[(err as { type?: unknown } | null)?.type as string];
    if (known) {
      // The caller's mistake, not ours: worth a line when debugging a client, no more.
      options.logger.debug({ status: known.status, code: known.code, reqId }, 'request refused before GraphQL');
      return sendErrors(res, known.status, [{ message: known.message(options.maxBodyBytes), code: known.code }]);
    }
    options.logger.error({ err, reqId }, 'unexpected error while serving an HTTP request');
    const message = options.production ? 'Internal server error' : String((err as Error)?.message ?? err);
    sendErrors(res, 500, [{ message, code: 'INTERNAL_SERVER_ERROR' }]);
  };
}

/** Every path the service does not serve: a JSON 404. */
export function jsonNotFound(): Handler {
  return (_req, res) => sendErrors(res, 404, [{ message: 'nothing is served at this path; GraphQL is at /graphql', code: RequestErrorCode.NoSuchRoute }]);
}
