import { afterAll, beforeAll } from 'vitest';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/server';
import { createTestCore, type TestCore, type TestCoreOptions } from './core';
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
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

/**
 * The real HTTP server on an ephemeral port, over the same core main.ts builds, on a
 * database and key prefix of the test's own.
 */
export async function startTestServer(options: TestCoreOptions & { production?: boolean } = {}): Promise<TestServer> {
  const t = await createTestCore(options);
  const logger = createLogger({ level: 'silent', instanceId: 'test' });
  const server = await startServer(
    {
      schema: await buildGraphQLSchema(),
      core: t.core,
      logger,
      production: options.production ?? false,
      readiness: { mysql: () => t.pool.query('SELECT 1'), redis: () => t.redis.ping() },
    },
    { host: '127.0.0.1', port: 0 },
  );
  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) } as GraphQLResponse<any>;
  };
  return {
    ...t,
    server,
    url: server.url,
    gql,
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
