import { GRAPHIQL_PATH } from './explorer-route';
import { send, sendJson, type Handler } from './respond';

/**
 * GET /: where things are, for whoever types the service's address alone. A browser
 * (it asks for HTML) is sent on to GET /graphql, which opens an explorer, when the
 * explorers are on; anything else, or any browser when they are off, gets the paths
 * the service serves, as JSON.
 */
export function indexRoute(options: { explorer: boolean }): Record<string, Handler> {
  const paths = {
    graphql: '/graphql',
    ...(options.explorer ? { graphiql: GRAPHIQL_PATH } : {}),
    monitor: '/monitor',
    healthz: '/healthz',
    readyz: '/readyz',
    metrics: '/metrics',
  };
  return {
    '/': (req, res) => {
      if (options.explorer && /\btext\/html\b/.test(req.headers.accept ?? '')) {
        return send(res, 302, { location: '/graphql', 'content-type': 'text/plain; charset=utf-8' }, 'GraphQL, and its explorer, are at /graphql\n');
      }
      sendJson(res, 200, { service: 'Throughline', paths });
    },
  };
}
