/*
 * Throughline /graphiql: GraphiQL (its browser build, with React's, served by
 * src/http/explorer-route.ts from node_modules: no CDN) against this service.
 *
 * Queries and mutations: POST /graphql, with the Headers tab's headers. Subscriptions:
 * graphql-ws (its browser build, the one /monitor uses) on the same /graphql path,
 * with the Headers tab's headers as the connection parameters (names lowercased):
 * a browser cannot set headers on a WebSocket, and the service reads the token from
 * `connectionParams.authorization`. One lazy client per set of headers: its socket
 * opens with the first subscription and closes soon after the last.
 *
 * `?query=` and `?variables=` in the address open GraphiQL with them. The headers the server was given (in development, the token it made up) fill
 * the Headers tab; they are never put in a URL.
 */
(function () {
  'use strict';

  const config = JSON.parse(document.getElementById('explorer-config').textContent);
  // GraphiQL's dialogs add a <style> element (react-remove-scroll), with this nonce
  // if there is one: the page's CSP allows no other inline style.
  window.__webpack_nonce__ = config.nonce;

  const endpoint = new URL('/graphql', location.href).href;
  const socketUrl = endpoint.replace(/^http/, 'ws');

  const DEFAULT_QUERY = `# Throughline's GraphiQL, served by the service itself: it works offline.
#
# Queries and mutations go to POST /graphql; subscriptions to graphql-ws on the
# same path, with the headers (below) as connection parameters. Mutations need a
# token with the write scope, writeThroughFailures and cacheStatus the admin scope:
# {"Authorization": "Bearer <token>"} in the Headers tab.
#
# Ctrl-Enter runs the operation; Ctrl-Space completes; the book icon opens the docs.

query Users {
  users(ids: ["1", "2", "3"]) {
    id
    name
    email
    version
  }
}
`;

  // ------------------------------------------------------------ the fetcher

  /** GraphiQL's fetcher: subscriptions over graphql-ws, everything else POSTed. */
  function fetcher(params, options) {
    const headers = (options && options.headers) || {};
    if (isSubscription(params, options && options.documentAST)) return subscribe(params, headers);
    return post(params, headers);
  }

  /** The operation GraphiQL runs (by its name, or the only one) is a subscription. */
  function isSubscription(params, documentAST) {
    if (!documentAST) return false; // the schema's introspection
    const operations = documentAST.definitions.filter((d) => d.kind === 'OperationDefinition');
    const operation = params.operationName
      ? operations.find((d) => d.name && d.name.value === params.operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
    return Boolean(operation) && operation.operation === 'subscription';
  }

  async function post(params, headers) {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify(params),
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { errors: [{ message: `HTTP ${response.status} ${response.statusText}: ${text.slice(0, 500)}` }] };
    }
  }

  const clients = new Map();

  function clientFor(headers) {
    const connectionParams = {};
    for (const [name, value] of Object.entries(headers)) connectionParams[name.toLowerCase()] = String(value);
    const key = JSON.stringify(Object.entries(connectionParams).sort());
    let client = clients.get(key);
    if (!client) {
      client = window.graphqlWs.createClient({ url: socketUrl, connectionParams, lazy: true, lazyCloseTimeout: 3000, retryAttempts: 0 });
      clients.set(key, client);
    }
    return client;
  }

  /**
   * The subscription's events as an async iterator (GraphiQL shows each as it comes,
   * and calls `return` on Stop). An error, or the socket closing, is shown as the
   * last result, in the shape of a GraphQL response.
   */
  function subscribe(params, headers) {
    const events = clientFor(headers).iterate({ query: params.query, variables: params.variables, operationName: params.operationName });
    let failed = false;
    const iterator = {
      [Symbol.asyncIterator]: () => iterator,
      next() {
        if (failed) return Promise.resolve({ done: true, value: undefined });
        return events.next().catch((error) => {
          failed = true;
          return { done: false, value: { errors: describe(error) } };
        });
      },
      return: () => events.return(),
    };
    return iterator;
  }

  /** What graphql-ws rejects with: the operation's GraphQL errors, a CloseEvent, or an Error. */
  function describe(error) {
    if (Array.isArray(error)) return error;
    if (error && typeof error.code === 'number' && 'reason' in error) {
      return [{ message: `the socket closed (${error.code}${error.reason ? `: ${error.reason}` : ''})` }];
    }
    return [{ message: error && error.message ? error.message : String(error) }];
  }

  // ------------------------------------------------------------ the page

  const search = new URLSearchParams(location.search);
  const headers = config.headers ? JSON.stringify(config.headers, null, 2) : undefined;
  const props = {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    // `headers` fills the Headers tab now (over any stored); `defaultHeaders` every new tab.
    ...(headers ? { headers, defaultHeaders: headers, defaultEditorToolsVisibility: 'headers' } : {}),
    ...(search.has('query') ? { query: search.get('query') } : {}),
    ...(search.has('variables') ? { variables: search.get('variables') } : {}),
  };
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, props));
})();
