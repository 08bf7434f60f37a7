import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createTokenVerifier } from './auth/token-verifier';
import { issueToken, makeUpSecret } from './auth/tokens';
import { connectRedis } from './cache/client';
import { createRedisClient, pingRedis } from './cache/redis-client';
import { ConfigError, loadConfig, type Config } from './config';
import { coreSettings, createCore } from './core';
import { createDatabase, createPool } from './db/client';
import { ReadReplicas, replicaName } from './db/read-replicas';
import { migrateDatabase } from './db/migrate';
import { ensureServices, ServicesUnavailableError } from './dev/services';
import { buildGraphQLSchema } from './graphql/schema';
import { createLogger, type Logger } from './logging/logger';
import { createObservability } from './metrics/observability';
import { PersistedQueryStore } from './http/persisted-query-store';
import { loadSafelist } from './http/safelist';
import { seedDemoData } from './seed';
import { startServer, type RunningServer } from './server';

/**
 * The edge: the one place that reads the environment, opens connections, starts the
 * server and installs signal handlers. Everything below it is handed what it uses.
 */
async function main(): Promise<void> {
  loadEnvFile(resolve(__dirname, '..', '.env'));
  const config = loadConfig(process.env);
  // Pretty lines for a person at a terminal in development; JSON everywhere else.
  const pretty = config.env === 'development' && process.stdout.isTTY === true;
  const logger = createLogger({ level: config.logLevel, instanceId: config.instanceId, pretty });
  if (config.autoStartServices) {
    await ensureServices({
      mysqlUrl: config.mysql.url,
      redisUrl: config.redis.url,
      dataDir: resolve(__dirname, '..', '.local'),
      logger,
    });
  }
  await migrateDatabase(config.mysql.url);

  const pool = createPool(config.mysql);
  const db = createDatabase(pool, undefined, config.mysql.deadlines);
  // Read replicas, only for the reads Redis cannot answer (see Repository.loadPastCache).
  // Their pools are lazy: a replica that is down fails its reads, which the primary then answers.
  const replicaPools = config.mysql.replicaUrls.map((url) => ({ name: replicaName(url), pool: createPool({ url, poolSize: config.mysql.poolSize }) }));
  const replicas =
    replicaPools.length > 0 ? new ReadReplicas(replicaPools.map((r) => ({ name: r.name, db: createDatabase(r.pool, undefined, config.mysql.deadlines) }))) : undefined;
  if (replicas) logger.info({ replicas: replicaPools.map((r) => r.name) }, 'reads that Redis cannot answer go to the read replicas');
  // A Redis Cluster's client when REDIS_CLUSTER_NODES is set (see cache/redis-client.ts).
  const redis = createRedisClient(config.redis);
  // ioredis emits an error on every failed reconnect; the circuit breaker logs the
  // outage once, when it starts and when it ends.
  redis.on('error', () => {});
  await connectRedis(redis).catch((err: Error) =>
    logger.warn({ err: err.message }, 'Redis does not answer yet; serving from MySQL until it does'),
  );

  const observability = createObservability();
  const core = createCore({ db, ...(replicas ? { replicas } : {}), redis, logger, metrics: observability.coreMetrics, ...coreSettings(config) });
  await core.start();
  if (config.seedDemoData) await seedDemoData(core, logger);

  const auth = authSettings(config);
  const readiness = {
    mysql: () => pool.query('SELECT 1'),
    redis: async () => {
      if (core.circuit?.state === 'open') throw new Error('circuit open: Redis stopped answering');
      return pingRedis(redis);
    },
  };
  const server = await startServer(
    {
      schema: await buildGraphQLSchema(),
      core,
      logger,
      production: config.env === 'production',
      verifyToken: createTokenVerifier(auth),
      requireAuthForReads: config.auth.requireAuthForReads,
      graphql: config.graphql,
      http: config.http,
      persistedQueries: {
        store: new PersistedQueryStore(redis, config.cache.keyPrefix, logger),
        safelist: config.http.persistedQueriesOnly ? loadSafelist(resolve(config.http.persistedQueriesManifest)) : undefined,
      },
      readiness,
      observability: observability.bind(core, readiness, config.instanceId),
    },
    { host: config.host, port: config.port },
  );
  logger.info({ url: server.url }, `Throughline is serving GraphQL at ${server.url}`);
  if (auth.madeUp) await announceDevelopmentToken(auth.secret!, logger);

  installShutdown(config, logger, server, async () => {
    await core.stop();
    redis.disconnect();
    await pool.end();
    await Promise.all(replicaPools.map((r) => r.pool.end()));
  });
}

/**
 * Development without JWT_SECRET or JWT_JWKS_URL: a secret made up for this run, so
 * the API is never open, and a token to paste into Apollo Sandbox. (Production
 * refuses to start without one: see config.ts.)
 */
function authSettings(config: Config): Config['auth'] & { madeUp: boolean } {
  if (config.auth.secret || config.auth.jwksUrl) return { ...config.auth, madeUp: false };
  return { ...config.auth, secret: makeUpSecret(), madeUp: true };
}

async function announceDevelopmentToken(secret: string, logger: Logger): Promise<void> {
  const token = await issueToken(secret, ['read', 'write', 'admin'], { subject: 'developer', expiresIn: '12h' });
  logger.warn(
    { scopes: 'read write admin', expiresIn: '12h' },
    `No JWT_SECRET is set, so tokens are signed with a secret made up for this run. For Apollo Sandbox, add the header  Authorization: Bearer ${token}`,
  );
}

/** Settings in `.env`, if there is one; variables already in the environment win. */
function loadEnvFile(path: string): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the pools.
 * If that takes longer than SHUTDOWN_TIMEOUT_MS, exit anyway, with a failure code.
 */
function installShutdown(config: Config, logger: Logger, server: RunningServer, close: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await server.stop();
      await close();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** Start-up failures the operator can fix get one clear line, not a stack trace. */
function explain(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof ServicesUnavailableError) return err.message;
  if (err instanceof Error && err.message.startsWith('PERSISTED_QUERIES_MANIFEST:')) return err.message;
  const e = err as { code?: string; message?: string; address?: string; port?: number };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ETIMEDOUT' || e?.code === 'ENOTFOUND') {
    return `Cannot reach MySQL (${e.code}${e.address ? ` at ${e.address}:${e.port}` : ''}): start it, or set MYSQL_URL`;
  }
  if (e?.code === 'ER_ACCESS_DENIED_ERROR') return `MySQL refused the login: check the user and password in MYSQL_URL`;
  if (e?.code === 'EADDRINUSE') return `Port ${e.port} is already in use: stop whatever holds it, or set PORT`;
  return undefined;
}

main().catch((err: unknown) => {
  const line = explain(err);
  if (line) console.error(line);
  else console.error('Throughline failed to start:', err);
  process.exit(1);
});
