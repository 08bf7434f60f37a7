import type { InspectorSettings } from '../../src/inspector/consistency-inspector';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import type { Cluster, Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { connectRedis, createRedis } from '../../src/cache/client';
import { createRedisCluster } from '../../src/cache/cluster-client';
import { isCluster, type RedisClient } from '../../src/cache/redis-client';
import { DEFAULT_DECODED_VALUES, type BreakerSettings, type CacheSettings, type RedisNode, type RepairSettings } from '../../src/config';
import { createCore, type Core } from '../../src/core';
import { createObservability } from '../../src/metrics/observability';
import { createDatabase, createPool, type Database } from '../../src/db/client';
import type { ReadReplicas } from '../../src/db/read-replicas';
import type { AbandonedWriteSettings } from '../../src/failures/abandoned-writes';
import type { MySqlDeadlines } from '../../src/db/deadlines';
import type { CoreLogger } from '../../src/writethrough/logger';
import type { RepositoryHooks } from '../../src/writethrough/repository';
import type { ChangeFollowerSettings } from '../../src/changes/change-follower';
import type { FollowerMetrics } from '../../src/changes/follower-metrics';
import { createTestDatabase, REDIS_URL, testKeyPrefix, type TestDatabase } from './database';

/** Counts, from the client side, every statement Drizzle sends. */
export class StatementLog implements DrizzleLogger {
  readonly statements: string[] = [];
  logQuery(query: string): void {
    this.statements.push(query);
  }
  get count(): number {
    return this.statements.length;
  }
}

export const silentLogger: CoreLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** `R`: the client the core runs on, a single server's (the default) or a cluster's. */
export interface TestCore<R extends RedisClient = Redis> {
  core: Core;
  /** The metrics the core reports into (bind it to serve /metrics and cacheStatus). */
  observability: ReturnType<typeof createObservability>;
  db: Database;
  pool: Pool;
  redis: R;
  database: TestDatabase;
  settings: CacheSettings;
  statements: StatementLog;
  /** Statements MySQL itself counted on this (single) connection since the last call. */
  serverStatements(): Promise<number>;
  close(): Promise<void>;
}

export interface TestCoreOptions {
  redisUrl?: string;
  settings?: Partial<CacheSettings>;
  hooks?: RepositoryHooks;
  commandTimeoutMs?: number;
  logger?: CoreLogger;
  /**
   * MySQL connections. The default, one, lets `serverStatements()` count every
   * statement on MySQL's side; tests of real concurrency need more.
   */
  poolSize?: number;
  /** Reach the test's database through this local port (a TCP proxy in front of MySQL). */
  mysqlThroughPort?: number;
  /** Share another test core's keys instead of a fresh prefix. */
  keyPrefix?: string;
  repair?: Partial<RepairSettings>;
  instanceId?: string;
  /** Run the repair worker. Default false: tests that repair say so. */
  repairs?: boolean;
  /**
   * Write intents, as in production (on by default, with its sweep running only where
   * `repairs` is, unless `sweepIntents` says otherwise); false: none recorded.
   */
  intents?: Partial<AbandonedWriteSettings> | false;
  sweepIntents?: boolean;
  /** MySQL deadlines (db/deadlines.ts); the production defaults unless given. */
  deadlines?: Partial<MySqlDeadlines>;
  /**
   * Poll MySQL for other instances' failure events. Default false: the poller's
   * queries would land on the connection whose statements the tests count.
   */
  pollFeed?: boolean;
  /** How often the feed is polled (and the read lease renewed); default 50 ms. */
  feedPollMs?: number;
  /**
   * Fenced acknowledgements (READ_LEASE_MS): a read lease of this length, renewed at each
   * poll of the feed, so it needs `pollFeed`. Default: none, off.
   */
  readLeaseMs?: number;
  /** The consistency inspector; its timer runs only if `inspect` is true (tests may call `core.inspector.tick()` instead). */
  inspector?: InspectorSettings;
  inspect?: boolean;
  /** Share another test core's database (as a second instance of the service would); it stays the owner's to drop. */
  database?: TestDatabase;
  /** Put the circuit breaker in front of Redis, as main.ts does (default: none, every call waits for Redis). */
  breaker?: Partial<BreakerSettings>;
  /** Read replicas for the reads the cache cannot answer (their pools are the caller's to close). */
  replicas?: ReadReplicas;
  /**
   * Follow the database's binlog (changes/); the database must be on a server with one
   * (`createTestDatabase(binlogServer.serverUrl)`). Default: no follower.
   */
  changes?: Partial<ChangeFollowerSettings> & { metrics?: FollowerMetrics; /** Read the binlog as this user instead (default: the database's URL). */ url?: string };
}

/**
 * The same graph main.ts builds, on a database and key prefix of the caller's own.
 * The pool holds one connection so that MySQL's own per-session counter
 * (`SHOW SESSION STATUS LIKE 'Questions'`) counts every statement the core sends.
 */
export async function createTestCore(options: TestCoreOptions = {}): Promise<TestCore> {
  const redis = createRedis({ url: options.redisUrl ?? REDIS_URL, commandTimeoutMs: options.commandTimeoutMs ?? 500 });
  return buildTestCore(redis, options);
}

/** The same graph on a Redis Cluster (a private one: see redis-cluster.ts), as REDIS_CLUSTER_NODES makes main.ts build. */
export async function createClusterTestCore(seeds: RedisNode[], options: Omit<TestCoreOptions, 'redisUrl'> = {}): Promise<TestCore<Cluster>> {
  const cluster = createRedisCluster({ url: REDIS_URL, commandTimeoutMs: options.commandTimeoutMs ?? 500, clusterNodes: seeds });
  return buildTestCore(cluster, options);
}

async function buildTestCore<R extends RedisClient>(redis: R, options: TestCoreOptions): Promise<TestCore<R>> {
  redis.on('error', () => {}); // faults are the point of some tests; each command reports its own error
  await connectRedis(redis);
  const database = options.database ?? (await createTestDatabase());
  const pool = createPool({ url: throughPort(database.url, options.mysqlThroughPort), poolSize: options.poolSize ?? 1 });
  const statements = new StatementLog();
  // The production defaults' deadlines, so that every test runs through them.
  const db = createDatabase(pool, statements, { statementMs: 5_000, transactionMs: 10_000, ...options.deadlines });
  const settings: CacheSettings = {
    keyPrefix: options.keyPrefix ?? testKeyPrefix(),
    ttlSeconds: 3600,
    ttlJitter: 0.1,
    negativeTtlSeconds: 30,
    tombstoneTtlSeconds: 60,
    writeRetries: 2,
    writeRetryDelayMs: 10,
    decodedValues: DEFAULT_DECODED_VALUES,
    ...options.settings,
  };
  const observability = createObservability();
  const core = createCore({
    metrics: observability.coreMetrics,
    db,
    ...(options.replicas ? { replicas: options.replicas } : {}),
    redis,
    settings,
    repair: { intervalMs: 50, batchSize: 200, maxBackoffMs: 2_000, ...options.repair },
    failureFeedPollMs: options.feedPollMs ?? 50,
    ...(options.readLeaseMs ? { readLease: { leaseMs: options.readLeaseMs } } : {}),
    ...(options.inspector ? { inspector: options.inspector } : {}),
    ...(options.intents === false ? {} : { intents: { graceMs: 5_000, intervalMs: 100, batchSize: 1_000, ...options.intents } }),
    ...(options.breaker ? { breaker: { errorPercent: 50, minRequests: 5, resetMs: 1_000, ...options.breaker } } : {}),
    instanceId: options.instanceId ?? 'test-instance',
    logger: options.logger ?? silentLogger,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    // Into the test's /metrics, as main.ts wires it, unless the test listens itself.
    ...(options.changes ? { changes: followerOf(database, { metrics: observability.followerMetrics, ...options.changes }) } : {}),
  });
  await core.start({ repairs: options.repairs ?? false, pollFeed: options.pollFeed ?? false, sweepIntents: options.sweepIntents ?? options.repairs ?? false, inspect: options.inspect ?? false });
  let lastQuestions: number | undefined;
  const serverStatements = async () => {
    if ((options.poolSize ?? 1) !== 1) throw new Error('serverStatements() needs a pool of one connection');
    const [rows] = await pool.query("SHOW SESSION STATUS LIKE 'Questions'");
    const questions = Number((rows as Array<{ Value: string }>)[0]!.Value);
    // The SHOW itself is one question; leave it out of the count.
    const delta = lastQuestions === undefined ? 0 : questions - lastQuestions - 1;
    lastQuestions = questions;
    return delta;
  };
  return {
    core,
    observability,
    db,
    pool,
    redis,
    database,
    settings,
    statements,
    serverStatements,
    async close() {
      await core.stop();
      // Leave the shared Redis as it was found (the keys would expire anyway). A
      // cluster is the test's own, and goes with its keys.
      if (!isCluster(redis) && redis.status === 'ready') {
        for await (const keys of redis.scanStream({ match: `${settings.keyPrefix}*`, count: 1000 })) {
          if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
        }
      }
      redis.disconnect();
      await pool.end();
      if (!options.database) await database.drop();
    },
  };
}

function followerOf(database: TestDatabase, options: NonNullable<TestCoreOptions['changes']>) {
  const { metrics, url, ...settings } = options;
  return {
    connection: { uri: url ?? database.url, database: database.name },
    // Fast polls: tests of a takeover wait for one.
    settings: { serverId: 4_170_000_001, leasePollMs: 100, ...settings },
    ...(metrics ? { metrics } : {}),
  };
}

function throughPort(url: string, port: number | undefined): string {
  if (port === undefined) return url;
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}
