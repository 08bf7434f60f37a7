import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLSchema } from 'graphql';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
import type { TokenVerifier } from './auth/token-verifier';
import type { GraphQLSettings, HttpSettings } from './config';
import { corsMiddleware, upgradeAllowed } from './http/cors';
import { csrfRefusal, mayBeForged } from './http/csrf';
import { dispatch } from './http/dispatch';
import { graphqlRoute } from './http/graphql-route';
import { answerError, jsonNotFound } from './http/json-errors';
import type { PersistedQueryStore } from './http/persisted-query-store';
import { subscriptionRefusal, type Safelist } from './http/safelist';
import type { Core } from './core';
import { createCompiledExecutor, executionGateway } from './graphql/compiled-execution';
import { createContext, type Context } from './graphql/context';
import { installGatewayRequestContext } from './graphql/gateway-request-context';
import { drainHttpServer } from './graphql/drain-plugin';
import { createErrorHandling } from './graphql/errors';
import { httpSubscriptionPlugin } from './graphql/http-subscription-plugin';
import { websocketOperations } from './graphql/websocket-operations';
import { createLimits } from './graphql/limits';
import { requestLoggingPlugin } from './graphql/logging-plugin';
import { noStorePlugins } from './graphql/no-store-plugin';
import { monitorRoutes } from './http/monitor-route';
import { indexRoute } from './http/index-route';
import { explorerRoutes, GRAPHIQL_PATH, LANDING_SCRIPT_PATH, type ExplorerSettings } from './http/explorer-route';
import { sandboxLandingPage } from './graphql/landing-page';
import { metricsAccess } from './http/metrics-access';
import { websocketBounds } from './graphql/websocket-bounds';
import { operationalRoutes } from './http/operational-routes';
import { metricsPlugin } from './graphql/metrics-plugin';
import type { Logger } from './logging/logger';
import { requestIdOf } from './logging/request-context';
import type { GraphQLMetrics } from './metrics/prometheus';
import { followerReadiness, type ReadinessChecks, type StatusReport } from './metrics/status';
import type { Registry } from 'prom-client';

export interface ServerDeps {
  schema: GraphQLSchema;
  core: Core;
  logger: Logger;
  production: boolean;
  readiness: ReadinessChecks;
  /** Checks the bearer token of each request and subscription. */
  verifyToken: TokenVerifier;
  requireAuthForReads: boolean;
  graphql: GraphQLSettings;
  http: HttpSettings;
  /** Apollo's APQ store (shared through Redis), and the safelist when only listed operations may run. */
  persistedQueries: { store: PersistedQueryStore; safelist?: Safelist | undefined };
  /** Metrics for /metrics and the GraphQL plugin; the status report behind cacheStatus. */
  observability: { registry: Registry; graphql: GraphQLMetrics; status: () => Promise<StatusReport> };
  /**
   * Apollo Sandbox at GET /graphql from a browser, falling back to the bundled GraphiQL
   * at /graphiql, with `headers` pre-filled in both. Unset: on, without headers,
   * except in production.
   */
  explorer?: ExplorerSettings | undefined;
}

export interface RunningServer {
  url: string;
  port: number;
  httpServer: Server;
  /** Stops accepting, lets in-flight requests finish, then closes. */
  stop(): Promise<void>;
}

/**
 * Apollo Server, and graphql-ws for subscriptions, on one plain Node HTTP server:
 * one port, one path. No web framework: a few fixed routes (http/dispatch.ts).
 */
export async function startServer(deps: ServerDeps, listen: { host: string; port: number }): Promise<RunningServer> {
  const explorer = deps.explorer ?? { enabled: !deps.production };
  const corsPolicy = { origins: deps.http.corsOrigins, credentials: deps.http.corsCredentials, production: deps.production };
  // The routes need Apollo started, which needs the server (to drain it): requests
  // are answered only once it listens, at the end, by then with `handle` set.
  let handle: ReturnType<typeof dispatch> | undefined;
  const httpServer = createServer((req, res) => handle!(req, res));
  const limits = createLimits(deps.graphql, deps.production);
  const contextFor = async (authorization: unknown, logger: Logger = deps.logger) =>
    createContext(
      deps.core,
      {
        credentials: await deps.verifyToken(typeof authorization === 'string' ? authorization : undefined),
        requireAuthForReads: deps.requireAuthForReads,
      },
      deps.observability.status,
      logger,
    );
  const errors = createErrorHandling({ production: deps.production, logger: deps.logger });
  const { formatError } = errors;
  const safelist = deps.persistedQueries.safelist;
  // Subscriptions over graphql-ws share the port and the /graphql path: the
  // WebSocket server takes the upgrade requests, the routes everything else.
  let wss: WebSocketServer | undefined;
  const sockets = websocketBounds(deps.graphql.websocket, () => wss?.clients.size ?? 0);
  const subscriptions = useServer(
    {
      schema: deps.schema,
      // Every operation over the socket is parsed, checked and coded as over HTTP, and a
      // bad one is answered on its own id (graphql/websocket-operations.ts). The token
      // comes in the connection_init payload: browsers cannot set headers on a WebSocket.
      ...websocketOperations({
        schema: deps.schema,
        limits,
        formatError,
        contextFor,
        maxOperationBytes: deps.graphql.maxBodyBytes,
        ...(safelist ? { refuse: (payload) => subscriptionRefusal(safelist, payload.query) } : {}),
      }),
      onConnect: (ctx) => {
        sockets.watch(ctx);
        return true;
      },
      isProd: deps.production,
    },
    (wss = new WebSocketServer({
      // Not `server: httpServer`: ws would re-emit that server's errors (a port in use)
      // as its own, which graphql-ws prints with a stack trace before main.ts can say
      // what happened in one line. The upgrades are handed over below instead; ws
      // still checks the path (400) and verifyClient on each.
      noServer: true,
      path: '/graphql',
      // A message up to this size is read and, if over the operation limit, refused
      // for its id; only a larger one closes the socket (1009, Message Too Big).
      maxPayload: 4 * deps.graphql.maxBodyBytes,
      verifyClient: ({ req }: { req: IncomingMessage }, accept: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void) => {
        if (!upgradeAllowed(corsPolicy, req)) return accept(false, 401);
        const refusal = sockets.refusal(req);
        if (refusal) return accept(false, refusal.status, refusal.body, { 'Content-Type': 'application/json' });
        accept(true);
      },
    })),
  );
  httpServer.on('upgrade', (req, socket, head) => wss!.handleUpgrade(req, socket, head, (ws) => wss!.emit('connection', ws, req)));
  const apollo = new ApolloServer<Context>({
    ...executionMode(deps),
    formatError,
    includeStacktraceInErrorResponses: !deps.production,
    introspection: deps.graphql.introspection,
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    // Replaced by http/csrf.ts (checked in the context function below), which lets urql's default GET queries through.
    csrfPrevention: false,
    persistedQueries: { cache: deps.persistedQueries.store, ttl: deps.http.persistedQueriesTtlSeconds },
    // main.ts owns the signals: it drains this server and then closes the pools, in
    // that order. Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    plugins: [
      drainHttpServer(httpServer),
      requestLoggingPlugin(deps.logger),
      errors.plugin,
      metricsPlugin(deps.observability.graphql),
      ...noStorePlugins(),
      ...limits.plugins,
      httpSubscriptionPlugin(),
      // On stop, close every subscription (clients see 1001 Going Away) along with HTTP.
      { serverWillStart: async () => ({ drainServer: async () => void (await subscriptions.dispose()) }) },
      explorer.enabled
        ? sandboxLandingPage({ headers: explorer.headers, fallbackPath: GRAPHIQL_PATH, fallbackScript: LANDING_SCRIPT_PATH })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const answer = answerError({ production: deps.production, maxBodyBytes: deps.graphql.maxBodyBytes, logger: deps.logger });
  handle = dispatch({
    graphql: graphqlRoute(apollo, {
      maxBodyBytes: deps.graphql.maxBodyBytes,
      safelist,
      context: async (req) => {
        // Every line logged for the request, here and in the core, carries its id.
        const reqId = requestIdOf(req);
        const logger = reqId ? deps.logger.child({ reqId }) : deps.logger;
        try {
          if (mayBeForged(req.method ?? '', req.headers)) throw csrfRefusal();
          return await contextFor(req.headers.authorization, logger);
        } catch (err) {
          // No plugin hears of a failed context: log it here, while its id is known.
          errors.report(err, logger);
          throw err;
        }
      },
      answerError: answer,
    }),
    pages: {
      ...operationalRoutes({
        readiness: deps.readiness,
        degraded: () => followerReadiness(deps.core.follower?.status()),
        registry: deps.observability.registry,
        authorizeMetrics: metricsAccess({ ...deps.http.metrics, verifyToken: deps.verifyToken }),
      }),
      ...monitorRoutes(),
      ...indexRoute({ explorer: explorer.enabled }),
      ...(explorer.enabled ? explorerRoutes({ headers: explorer.headers }) : {}),
    },
    notFound: jsonNotFound(),
    cors: corsMiddleware(corsPolicy),
    answerError: answer,
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(listen.port, listen.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? 'localhost' : listen.host;
  return { url: `http://${host}:${port}/graphql`, port, httpServer, stop: () => apollo.stop() };
}

/**
 * `jit`: Apollo parses and validates as ever, then a compiled executor runs the
 * operation (see graphql/compiled-execution.ts). `standard`: Apollo's own graphql-js.
 */
function executionMode(deps: ServerDeps): { schema: GraphQLSchema } | { gateway: GatewayInterface } {
  const settings = deps.graphql.executor;
  if (settings.kind === 'standard') return { schema: deps.schema };
  const executor = createCompiledExecutor(deps.schema, settings, { observer: deps.observability.graphql.execution, logger: deps.logger });
  const installed = installGatewayRequestContext();
  if (installed === 'unrecognised' || installed === 'not-loaded') {
    deps.logger.warn({ installed }, "Apollo Server's gateway request context was not replaced: compiled execution works, with more garbage collection per request");
  }
  return { gateway: executionGateway(deps.schema, executor) };
}
