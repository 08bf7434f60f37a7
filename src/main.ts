import 'reflect-metadata';
import { resolve } from 'node:path';
import { createTokenVerifier } from './auth/token-verifier';
import { issueToken, makeUpSecret } from './auth/tokens';
import { pingRedis } from './cache/redis-client';
import { loadConfig, type Config } from './config';
import { coreSettings, createCore } from './core';
import { openConnections } from './connections';
import { migrateDatabase } from './db/migrate';
import { ensureServices } from './dev/services';
import { LIST_TRIGGERS, VERSIONED_TABLES } from './entities';
import { loadEnvFile } from './env-file';
import { buildGraphQLSchema } from './graphql/schema';
import { createLogger, type Logger } from './logging/logger';
import { createObservability } from './metrics/observability';
import { PersistedQueryStore } from './http/persisted-query-store';
import { loadSafelist } from './http/safelist';
import { seedDemoData } from './seed';
import { startServer, type RunningServer } from './server';
import { checkCanListen, checkMysqlAnswers, connectRedisAtStartup } from './startup-checks';
import { explainMysqlError, explainStartupError } from './startup-errors';

/**
 * The edge: the one place that reads the environment, opens connections, starts the
 * server and installs signal handlers. Everything below it is handed what it uses.
 */
async function main(): Promise<void> {
  loadEnvFile();
  const config = loadConfig(process.env);
  // Pretty lines for a person at a terminal in development; JSON everywhere else.
  const pretty = config.env === 'development' && process.stdout.isTTY === true;
  const logger = createLogger({ level: config.logLevel, instanceId: config.instanceId, pretty });
  // Each start-up mistake is found before anything is built on it, and named (startup-errors.ts).
  await checkCanListen(config.host, config.port);
  if (config.autoStartServices) {
    await ensureServices({
      mysqlUrl: config.mysql.url,
      redisUrl: config.redis.url,
      dataDir: resolve(__dirname, '..', '.local'),
      logger,
      // Unasked, private servers are started only at the default URLs: a mistyped one is named, not filled.
      startAtAnyLocalUrl: config.autoStartAnyLocalUrl,
    });
  }
  await checkMysqlAnswers(config.mysql.url);
  await migrateDatabase(config.mysql.url, { versionedTables: VERSIONED_TABLES, triggers: LIST_TRIGGERS }).catch((err: unknown) => {
    throw explainMysqlError(err, config.mysql.url);
  });

  const { pool, db, replicas, redis, close } = openConnections(config);
  if (replicas) logger.info({ replicas: replicas.names }, 'reads that Redis cannot answer go to the read replicas');
  // ioredis emits an error on every failed reconnect; the circuit breaker logs the
  // outage once, when it starts and when it ends.
  redis.on('error', () => {});
  const redisProblem = await connectRedisAtStartup(redis, config.redis);
  if (redisProblem) logger.warn(redisProblem);

  const observability = createObservability();
  // The change follower gets this logger: when the binlog cannot be followed it warns once, naming the settings to turn on.
  const changes = config.changeFollower ? { changes: { ...config.changeFollower, metrics: observability.followerMetrics } } : {};
  const core = createCore({ db, ...(replicas ? { replicas } : {}), redis, logger, metrics: observability.coreMetrics, ...coreSettings(config), ...changes });
  await core.start();
  if (config.seedDemoData) await seedDemoData(core, logger);

  const auth = authSettings(config);
  // Issued before the server starts: both explorers are built with it pre-filled.
  const developmentToken = auth.madeUp ? await issueDevelopmentToken(auth.secret!) : undefined;
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
      explorer: {
        enabled: config.explorer,
        headers: developmentToken ? { Authorization: `Bearer ${developmentToken}` } : undefined,
      },
    },
    { host: config.host, port: config.port },
  );
  // Before the line that says it serves: whoever waits for that line may stop it at once.
  installShutdown(config, logger, server, async () => {
    await core.stop();
    await close();
  });
  logger.info({ url: server.url }, `Throughline is serving GraphQL at ${server.url}`);
  announcePages(server.url, config.explorer, logger);
  if (developmentToken) announceDevelopmentToken(developmentToken, config.explorer, logger);
}

/**
 * Development without JWT_SECRET or JWT_JWKS_URL: a secret made up for this run, so
 * the API is never open, and a token for the explorers, pre-filled there and printed
 * for anything else. (Production refuses to start without one: see config.ts.)
 */
function authSettings(config: Config): Config['auth'] & { madeUp: boolean } {
  if (config.auth.secret || config.auth.jwksUrl) return { ...config.auth, madeUp: false };
  return { ...config.auth, secret: makeUpSecret(), madeUp: true };
}

function issueDevelopmentToken(secret: string): Promise<string> {
  return issueToken(secret, ['read', 'write', 'admin'], { subject: 'developer', expiresIn: '12h' });
}

function announceDevelopmentToken(token: string, explorers: boolean, logger: Logger): void {
  const where = explorers ? 'The explorers have it pre-filled; for any other client' : 'For a client';
  logger.warn(
    { scopes: 'read write admin', expiresIn: '12h' },
    `No JWT_SECRET is set, so tokens are signed with a secret made up for this run. ${where}, add the header  Authorization: Bearer ${token}`,
  );
}

/** What a person who just started the service can open, in one line. */
function announcePages(graphqlUrl: string, explorers: boolean, logger: Logger): void {
  const origin = new URL(graphqlUrl).origin;
  const pages = {
    ...(explorers ? { sandbox: graphqlUrl, graphiql: `${origin}/graphiql` } : {}),
    monitor: `${origin}/monitor`,
  };
  const explorerWords = explorers ? `Open ${pages.sandbox} in a browser for Apollo Sandbox, or ${pages.graphiql} for GraphiQL (bundled, works offline); ` : '';
  logger.info(pages, `${explorerWords}operators: ${pages.monitor}; the example web client: npm run example:dev`);
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

/** Start-up failures the operator can fix get one clear line, not a stack trace (the words: startup-errors.ts). */
function explain(err: unknown): string | undefined {
  return explainStartupError(err);
}

main().catch((err: unknown) => {
  const line = explain(err);
  if (line) console.error(line);
  else console.error('Throughline failed to start:', err);
  process.exit(1);
});
