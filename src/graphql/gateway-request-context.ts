import type { GraphQLRequestContext, HeaderMap } from '@apollo/server';
import type { GatewayGraphQLRequest, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Why this file exists: Apollo builds what a gateway's executor receives with its
 * internal `makeGatewayGraphQLRequestContext`, whose `response.http.status` is an
 * object literal's getter and setter closing over Apollo's whole request context.
 * V8 allocates the accessor pair of such a literal in the old generation. So every
 * request left a dead old object pointing at its context (the variables, our
 * loaders and each promise they made, the result), and every scavenge took the
 * old object for a live root: the request's young objects were copied, then
 * promoted, and lived until the next full collection. Measured with
 * `--trace-gc-nvp` on users(ids: 100), the same service promoted 77 KB per request
 * through the gateway and 10 KB when Apollo executed itself; with this module,
 * 10 KB either way (bench/findings.md).
 *
 * This builds the same object, field for field, with classes: their accessors are
 * made once, on the prototype, and hold nothing of any request.
 */
export function gatewayRequestContext(
  rc: GraphQLRequestContext<object>,
  server: { logger: GatewayGraphQLRequestContext['logger']; cache: GatewayGraphQLRequestContext['cache'] },
  internals: { includeStacktraceInErrorResponses?: boolean },
): GatewayGraphQLRequestContext {
  const request: GatewayGraphQLRequest = {};
  // `in`, not a truthiness test: Apollo copies a field the client sent as null too.
  if ('query' in rc.request) request.query = rc.request.query;
  if ('operationName' in rc.request) request.operationName = rc.request.operationName;
  if ('variables' in rc.request) request.variables = rc.request.variables;
  if ('extensions' in rc.request) request.extensions = rc.request.extensions;
  const http = rc.request.http;
  if (http) {
    const needQuestion = http.search !== '' && !http.search.startsWith('?');
    request.http = { method: http.method, url: `https://unknown-url.invalid/${needQuestion ? '?' : ''}${http.search}`, headers: new HeadersOfMap(http.headers) };
  }
  return {
    request,
    response: { http: new ResponseHttp(rc.response.http) },
    logger: server.logger,
    schema: rc.schema,
    schemaHash: 'schemaHash no longer exists since Apollo Server 4' as GatewayGraphQLRequestContext['schemaHash'],
    context: rc.contextValue as Record<string, unknown>,
    cache: server.cache,
    queryHash: rc.queryHash!,
    document: rc.document!,
    source: rc.source!,
    operationName: rc.operationName ?? null,
    operation: rc.operation!,
    errors: rc.errors,
    metrics: rc.metrics,
    debug: internals.includeStacktraceInErrorResponses,
    overallCachePolicy: rc.overallCachePolicy,
    requestIsBatched: rc.requestIsBatched,
  };
}

/** The response's status, read and written through to Apollo's own response. */
class ResponseHttp {
  readonly headers: HeadersOfMap;
  constructor(private readonly target: { headers: HeaderMap; status?: number }) {
    this.headers = new HeadersOfMap(target.headers);
  }
  get status(): number | undefined {
    return this.target.status;
  }
  set status(status: number | undefined) {
    this.target.status = status;
  }
}

/** Fetch-style headers over Apollo's HeaderMap, as Apollo's own adapter behaves. */
class HeadersOfMap {
  constructor(private readonly map: HeaderMap) {}
  append(name: string, value: string): void {
    const current = this.map.get(name);
    this.map.set(name, current === undefined ? value : `${current}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name);
  }
  get(name: string): string | null {
    return this.map.get(name) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  set(name: string, value: string): void {
    this.map.set(name, value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** Where Apollo's CommonJS build keeps the function: not an exported path, so found from the package's entry. */
export function apolloGatewayContextModule(): string {
  const require = createRequire(__filename);
  return join(dirname(require.resolve('@apollo/server')), 'utils', 'makeGatewayGraphQLRequestContext.js');
}

export type Installed = 'installed' | 'already' | 'not-loaded' | 'unrecognised';

/**
 * Puts `gatewayRequestContext` in place of Apollo's function. Apollo's CommonJS
 * request pipeline looks the function up on that module's exports at every call,
 * so replacing the export is enough; an ES module build binds it at import, which
 * is why this only acts on the CommonJS build (the one `npm start` runs, and vitest
 * too: see vitest.config.ts), and only once it is loaded: 'not-loaded' otherwise,
 * and Apollo's own function stays (same answers, more garbage). 'unrecognised' means
 * an Apollo release moved or reshaped the function: nothing is replaced, the server
 * warns, and a test fails.
 */
export function installGatewayRequestContext(): Installed {
  const require = createRequire(__filename);
  const path = apolloGatewayContextModule();
  if (!require.cache[require.resolve('@apollo/server')]) return 'not-loaded';
  let mod: { makeGatewayGraphQLRequestContext?: unknown };
  try {
    mod = require(path) as typeof mod;
  } catch {
    return 'unrecognised';
  }
  const current = mod.makeGatewayGraphQLRequestContext;
  if (current === gatewayRequestContext) return 'already';
  if (typeof current !== 'function' || current.length !== 3) return 'unrecognised';
  mod.makeGatewayGraphQLRequestContext = gatewayRequestContext;
  return 'installed';
}
