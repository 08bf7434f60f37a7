import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { requestIds } from '../logging/request-context';
import type { Middleware } from './cors';
import { pathOf, type Handler } from './respond';

export interface Routes {
  /** /graphql (and /graphql/), every method: Apollo answers the ones it does not take. */
  graphql: Handler;
  /** Served for GET and HEAD, by exact path. */
  pages: Record<string, Handler>;
  /** Every other request. */
  notFound: Handler;
  cors: Middleware;
  /** Answers an error a handler threw, or CORS failed with. */
  answerError(err: unknown, res: ServerResponse): void;
}

/**
 * The whole HTTP side of the service as one Node request listener: a request id,
 * CORS (preflights end there), then one lookup by path. A handful of fixed paths
 * need no router; measured, Express's router and its per-request middleware chain
 * were the largest cost of a cached read after Redis itself (bench/findings.md).
 */
export function dispatch(routes: Routes): RequestListener {
  const pages = new Map(Object.entries(routes.pages));
  const route = (req: IncomingMessage): Handler => {
    const path = pathOf(req.url);
    if (path === '/graphql' || path === '/graphql/') return routes.graphql;
    const page = req.method === 'GET' || req.method === 'HEAD' ? pages.get(path) : undefined;
    return page ?? routes.notFound;
  };
  return (req, res) =>
    requestIds(req, res, () =>
      routes.cors(req, res, (err) => {
        if (err) return routes.answerError(err, res);
        try {
          const answered = route(req)(req, res);
          if (answered) answered.catch((error: unknown) => routes.answerError(error, res));
        } catch (error) {
          routes.answerError(error, res);
        }
      }),
    );
}
