import { afterAll, beforeAll } from 'vitest';
import type { Scope } from '../../src/auth/principal';
import { createTokenVerifier } from '../../src/auth/token-verifier';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { loadConfig, type GraphQLSettings, type HttpSettings } from '../../src/config';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { PersistedQueryStore } from '../../src/http/persisted-query-store';
import type { Safelist } from '../../src/http/safelist';
import { createLogger, type Logger } from '../../src/logging/logger';
import { startServer, type RunningServer, type ServerDeps } from '../../src/server';
import { createTestCore, silentLogger, type TestCore, type TestCoreOptions } from './core';
import { measureCost, type Cost } from './cost';
import { startPrivateRedis, type PrivateRedis } from './redis-server';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

export interface TestServer extends TestCore {
  server: RunningServer;
  url: string;
  /**
   * A request with a token of every scope, unless `token` says otherwise (a token
   * of the test's own, or null for none).
   */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, options?: { token?: string | null }): Promise<GraphQLResponse<T>>;
  /** The secret this server verifies tokens with, for signing test tokens. */
  jwtSecret: string;
  /** A valid token with these scopes. */
  token(scopes: Scope[], options?: Parameters<typeof issueToken>[2]): Promise<string>;
}

/**
 * The real HTTP server on an ephemeral port, over the same core main.ts builds, on a
 * database and key prefix of the test's own.
 */
export interface TestServerOptions extends TestCoreOptions {
  production?: boolean;
  requireAuthForReads?: boolean;
  graphql?: Partial<GraphQLSettings>;
  http?: Partial<HttpSettings>;
  /** Run only these operations (the safelist mode). */
  safelist?: Safelist;
  /** Where the server (not the core: see `logger`) logs; silent unless given. */
  serverLogger?: Logger;
  /** Sandbox and /graphiql, as main.ts passes them; unset, the server's default (on unless production). */
  explorer?: ServerDeps['explorer'];
  /** The secret tokens are verified with; made up unless given (to sign a token before the server starts, as main.ts does). */
  jwtSecret?: string;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const t = await createTestCore(options);
  const logger = options.serverLogger ?? createLogger({ level: 'silent', instanceId: 'test' });
  const jwtSecret = options.jwtSecret ?? makeUpSecret();
  const readiness = { mysql: () => t.pool.query('SELECT 1'), redis: () => t.redis.ping() };
  const production = options.production ?? false;
  const defaults = loadConfig({
    NODE_ENV: production ? 'production' : 'test',
    JWT_SECRET: jwtSecret,
    // vitest.config.ts runs the API tests under each executor. Compiling every
    // operation at first sight makes each test exercise the compiled path.
    GRAPHQL_EXECUTOR: process.env.GRAPHQL_EXECUTOR,
    GRAPHQL_JIT_COMPILE_AFTER: '0',
  });
  const server = await startServer(
    {
      schema: await buildGraphQLSchema(),
      core: t.core,
      logger,
      production,
      readiness,
      observability: t.observability.bind(t.core, readiness, 'test-instance'),
      // Reusing verified tokens as the service does by default, so every auth test runs through it.
      verifyToken: createTokenVerifier({ secret: jwtSecret, requireAuthForReads: false, verifiedTokenCacheSize: defaults.auth.verifiedTokenCacheSize }),
      requireAuthForReads: options.requireAuthForReads ?? false,
      graphql: { ...defaults.graphql, ...options.graphql },
      http: { ...defaults.http, ...options.http },
      persistedQueries: { store: new PersistedQueryStore(t.redis, t.settings.keyPrefix, silentLogger), safelist: options.safelist },
      explorer: options.explorer,
    },
    { host: '127.0.0.1', port: 0 },
  );
  const token = (scopes: Scope[], tokenOptions?: Parameters<typeof issueToken>[2]) => issueToken(jwtSecret, scopes, tokenOptions);
  const everything = await token(['read', 'write', 'admin']);
  const gql = async (query: string, variables?: Record<string, unknown>, requestOptions: { token?: string | null } = {}) => {
    const bearer = requestOptions.token === undefined ? everything : requestOptions.token;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) } as GraphQLResponse<any>;
  };
  return {
    ...t,
    server,
    url: server.url,
    gql,
    jwtSecret,
    token,
    async close() {
      await server.stop();
      await t.close();
    },
  };
}

export interface ServerOnPrivateRedis {
  /** The test server (valid inside tests, after `beforeAll`). */
  readonly s: TestServer;
  /** Its private redis-server, whose command counts are the server's alone. */
  readonly redis: PrivateRedis;
  /** What `work` cost, counted by MySQL and by the private redis-server. */
  cost<T>(work: () => Promise<T>): Promise<Cost<T>>;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that start a test server on a redis-server
 * of the file's own (so Redis commands can be counted on the server side) and stop both.
 */
export function useServerOnPrivateRedis(options: Parameters<typeof startTestServer>[0] = {}): ServerOnPrivateRedis {
  let redis: PrivateRedis | undefined;
  let s: TestServer | undefined;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    s = await startTestServer({ ...options, redisUrl: redis.url });
  });
  afterAll(async () => {
    await s?.close();
    await redis?.kill();
  });
  return {
    get s() {
      return s!;
    },
    get redis() {
      return redis!;
    },
    cost: (work) => measureCost(redis!, s!, work),
  };
}
