import { hostname } from 'node:os';
import { z } from 'zod';
import type { MySqlDeadlines } from './db/deadlines';
import type { WebSocketLimits } from './graphql/websocket-bounds';
import type { AbandonedWriteSettings } from './failures/abandoned-writes';
import type { BreakerSettings } from './cache/circuit-breaker';
import type { ChangeFollowerDeps, ChangeFollowerSettings } from './changes/change-follower';
import type { RedisNode } from './cache/client';
import type { RepairSettings } from './failures/repair-worker';
import type { InspectorSettings } from './inspector/consistency-inspector';
import { ENTITY_NAMES } from './entities';
import type { CachePolicy, CacheSettings } from './writethrough/settings';

// The core's settings types are the core's own; the configuration fills them in.
export type { BreakerSettings, CachePolicy, CacheSettings, RedisNode, RepairSettings };

/** The change follower's connection and settings (changes/change-follower.ts), as the core takes them. */
export interface ChangeFollowerConfig {
  connection: ChangeFollowerDeps['connection'];
  settings: ChangeFollowerSettings;
}

/**
 * Every setting the service reads, with its default. Pure: it reads only the `env`
 * object it is given, so tests can call it with a literal.
 */
const intIn = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** An origin is a scheme, a host and maybe a port: nothing else. */
function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === value;
  } catch {
    return false;
  }
}

const policy = z.enum(['write-through', 'invalidate', 'off'], { message: 'must be write-through, invalidate or off' });

/** Per entity type: ~10,000 × (a value as Redis holds it + its row) ≈ a few MB. */
export const DEFAULT_DECODED_VALUES = 10_000;

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: intIn(0, 65535).default(4000),
    MYSQL_URL: url(['mysql:', 'mariadb:']).default('mysql://root@127.0.0.1:3306/throughline'),
    MYSQL_POOL_SIZE: intIn(1, 1000).default(10),
    MYSQL_STATEMENT_TIMEOUT_MS: intIn(100, 3_600_000).default(5_000),
    MYSQL_TRANSACTION_TIMEOUT_MS: intIn(100, 3_600_000).default(10_000),
    MYSQL_REPLICA_URLS: z
      .string()
      .refine((v) => v.split(',').every((u) => url(['mysql:', 'mariadb:']).safeParse(u.trim()).success), {
        message: 'must be a comma-separated list of URLs starting with mysql:// or mariadb://',
      })
      .optional(),
    CHANGE_FOLLOWER: z.enum(['auto', 'off'], { message: 'must be auto or off' }).default('auto'),
    CHANGE_FOLLOWER_MYSQL_URL: url(['mysql:', 'mariadb:']).optional(),
    // A replica's server_id: 1 to 2^32 - 1, and unlike every other replica's of the server.
    CHANGE_FOLLOWER_SERVER_ID: intIn(1, 4_294_967_295).default(4_170_000_001),
    CHANGE_FOLLOWER_LEASE_POLL_MS: intIn(10, 600_000).default(1_000),
    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    REDIS_COMMAND_TIMEOUT_MS: intIn(10, 60_000).default(250),
    REDIS_CLUSTER_NODES: z
      .string()
      .refine((v) => v.split(',').every((node) => parseHostPort(node.trim()) !== undefined), {
        message: 'must be a comma-separated list of host:port seed nodes, like 10.0.0.1:7000,10.0.0.2:7000',
      })
      .optional(),
    KEY_PREFIX: z.string().min(1).max(64).default('tl:'),
    CACHE_POLICY: policy.default('write-through'),
    CACHE_TTL_SECONDS: intIn(1, 30 * 86_400).default(3600),
    CACHE_TTL_JITTER: z.coerce.number().min(0).max(1).default(0.1),
    NEGATIVE_CACHE_TTL_SECONDS: intIn(1, 3600).default(30),
    TOMBSTONE_TTL_SECONDS: intIn(2, 86_400).default(60),
    CACHE_WRITE_RETRIES: intIn(0, 10).default(2),
    CACHE_WRITE_RETRY_DELAY_MS: intIn(0, 10_000).default(25),
    CACHE_DECODED_VALUES: intIn(0, 10_000_000).default(DEFAULT_DECODED_VALUES),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    INSTANCE_ID: z.string().min(1).max(64).default(`${hostname()}-${process.pid}`),
    SEED_DEMO_DATA: bool.default(true),
    AUTO_START_SERVICES: bool.optional(),
    SHUTDOWN_TIMEOUT_MS: intIn(0, 600_000).default(10_000),
    BREAKER_ERROR_PERCENT: intIn(1, 100).default(50),
    BREAKER_MIN_REQUESTS: intIn(1, 10_000).default(5),
    BREAKER_RESET_MS: intIn(10, 600_000).default(1_000),
    REPAIR_INTERVAL_MS: intIn(10, 600_000).default(500),
    REPAIR_BATCH_SIZE: intIn(1, 10_000).default(200),
    REPAIR_MAX_BACKOFF_MS: intIn(100, 86_400_000).default(300_000),
    FAILURE_FEED_POLL_MS: intIn(10, 60_000).default(250),
    READ_LEASE_MS: intIn(0, 600_000).default(2_000),
    INSPECTOR_SAMPLE_RATE: z.coerce.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').default(0.01),
    INSPECTOR_READ_SAMPLE_RATE: z.coerce.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').default(0.001),
    INSPECTOR_DELAY_MS: intIn(0, 3_600_000).default(1_000),
    INSPECTOR_RECHECK_MS: intIn(0, 3_600_000).default(5_000),
    INSPECTOR_MAX_CHECKS_PER_S: intIn(1, 1_000_000).default(50),
    WRITE_INTENTS: bool.default(true),
    WRITE_INTENT_GRACE_MS: intIn(100, 3_600_000).default(5_000),
    WRITE_INTENT_SWEEP_MS: intIn(10, 600_000).default(1_000),
    JWT_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    JWT_JWKS_URL: url(['https:', 'http:']).optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    TOKEN_CACHE_SIZE: intIn(0, 1_000_000).default(10_000),
    METRICS_ACCESS: z.enum(['public', 'token']).optional(),
    WS_MAX_CONNECTIONS: intIn(1, 1_000_000).default(1_000),
    WS_IDLE_TIMEOUT_MS: intIn(0, 86_400_000).default(60_000),
    METRICS_TOKEN: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    REQUIRE_AUTH_FOR_READS: bool.default(false),
    GRAPHQL_INTROSPECTION: bool.optional(),
    GRAPHQL_EXPLORER: bool.optional(),
    MAX_QUERY_DEPTH: intIn(1, 100).default(8),
    MAX_QUERY_COST: intIn(1, 1_000_000).default(5_000),
    MAX_QUERY_ALIASES: intIn(0, 1_000).default(15),
    MAX_QUERY_TOKENS: intIn(10, 1_000_000).default(1_000),
    MAX_QUERY_DIRECTIVES: intIn(0, 1_000).default(50),
    MAX_BODY_BYTES: intIn(1_024, 100 * 1024 * 1024).default(100 * 1024),
    GRAPHQL_EXECUTOR: z.enum(['jit', 'standard'], { message: 'must be jit or standard' }).default('jit'),
    GRAPHQL_JIT_CACHE_SIZE: intIn(1, 100_000).default(500),
    GRAPHQL_JIT_COMPILE_AFTER: intIn(0, 1_000).default(1),
    CORS_ORIGINS: z
      .string()
      .refine((v) => v.split(',').every((o) => o.trim() === '*' || isOrigin(o.trim())), {
        message: 'must be a comma-separated list of origins like https://app.example.com',
      })
      .optional(),
    CORS_CREDENTIALS: bool.default(false),
    PERSISTED_QUERIES_TTL_SECONDS: intIn(60, 365 * 86_400).default(7 * 86_400),
    PERSISTED_QUERIES_ONLY: bool.default(false),
    PERSISTED_QUERIES_MANIFEST: z.string().min(1).default('persisted-queries.json'),
  })
  // A hash tag in the prefix (`{tl}:`) would hash every key to one slot: the whole
  // cache on one node of the cluster, and every batch's keys in one MGET there.
  .refine((c) => c.REDIS_CLUSTER_NODES === undefined || !c.KEY_PREFIX.includes('{'), {
    path: ['KEY_PREFIX'],
    message: 'must not contain "{" with REDIS_CLUSTER_NODES: a hash tag would put every key on one node',
  })
  .refine((c) => c.REDIS_CLUSTER_NODES === undefined || c.AUTO_START_SERVICES !== true, {
    path: ['AUTO_START_SERVICES'],
    message: 'cannot start a Redis Cluster: start the cluster yourself, or unset REDIS_CLUSTER_NODES',
  })
  // The follower filters the binlog by MYSQL_URL's database name: another one would follow nothing.
  .refine((c) => c.CHANGE_FOLLOWER_MYSQL_URL === undefined || [databaseOf(c.MYSQL_URL), ''].includes(databaseOf(c.CHANGE_FOLLOWER_MYSQL_URL)), {
    path: ['CHANGE_FOLLOWER_MYSQL_URL'],
    message: "must name MYSQL_URL's database, or none",
  })
  .refine((c) => c.MYSQL_STATEMENT_TIMEOUT_MS <= c.MYSQL_TRANSACTION_TIMEOUT_MS, {
    path: ['MYSQL_TRANSACTION_TIMEOUT_MS'],
    message: 'must be at least MYSQL_STATEMENT_TIMEOUT_MS',
  })
  // A live write must be done with its cache write (every attempt timing out) before
  // the sweep takes its intent for abandoned; else each slow write is repaired twice.
  .refine((c) => cacheWriteBudgetMs(c) < c.WRITE_INTENT_GRACE_MS, {
    path: ['WRITE_INTENT_GRACE_MS'],
    message: 'must be longer than a cache write with all its retries can take ((CACHE_WRITE_RETRIES + 1) × REDIS_COMMAND_TIMEOUT_MS plus the retry delays)',
  })
  // The lease is renewed at each poll of the feed; a lease shorter than a few polls
  // would lapse between renewals whenever one is a little slow, and reads go to MySQL.
  .refine((c) => c.READ_LEASE_MS === 0 || c.READ_LEASE_MS >= 4 * c.FAILURE_FEED_POLL_MS, {
    path: ['READ_LEASE_MS'],
    message: 'must be 0 (off) or at least 4 × FAILURE_FEED_POLL_MS',
  })
  // A cache write may be delivered late (a paused Redis, a slow network); the
  // compare-and-set refuses any write older than half the tombstone TTL, so a late
  // write can never outlive the tombstone it is meant to lose against. That bound
  // is only meaningful if a single command can finish well within it.
  .refine((c) => c.REDIS_COMMAND_TIMEOUT_MS * 4 <= c.TOMBSTONE_TTL_SECONDS * 1000, {
    path: ['REDIS_COMMAND_TIMEOUT_MS'],
    message: 'must be at most a quarter of TOMBSTONE_TTL_SECONDS (in ms)',
  })
  // In development a missing secret is made up at start-up (see main.ts); in
  // production that would lock everyone out at every restart, or worse, be guessed.
  .refine((c) => c.NODE_ENV !== 'production' || c.JWT_SECRET !== undefined || c.JWT_JWKS_URL !== undefined, {
    path: ['JWT_SECRET'],
    message: 'or JWT_JWKS_URL must be set in production',
  })
  .refine((c) => c.JWT_SECRET === undefined || c.JWT_JWKS_URL === undefined, {
    path: ['JWT_JWKS_URL'],
    message: 'cannot be set together with JWT_SECRET: choose one way to verify tokens',
  });

type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  /**
   * `replicaUrls`: read replicas, used only for the reads the cache cannot answer
   * (Redis down); none by default. Each gets a pool of `poolSize`.
   */
  /** `deadlines`: how long a statement, and a transaction, may wait on MySQL (db/deadlines.ts). */
  mysql: { url: string; poolSize: number; replicaUrls: string[]; deadlines: MySqlDeadlines };
  redis: { url: string; commandTimeoutMs: number; clusterNodes?: RedisNode[] | undefined };
  cache: CacheSettings;
  logLevel: Env['LOG_LEVEL'];
  instanceId: string;
  seedDemoData: boolean;
  /**
   * Start private MySQL/Redis when they do not answer (development only by default):
   * only at the default URLs, unless `autoStartAnyLocalUrl` (AUTO_START_SERVICES=true).
   */
  autoStartServices: boolean;
  /** AUTO_START_SERVICES=true: start them at any local URL; a non-default URL is otherwise never started, only named. */
  autoStartAnyLocalUrl: boolean;
  shutdownTimeoutMs: number;
  breaker: BreakerSettings;
  repair: RepairSettings;
  /** Write intents and their sweep (failures/abandoned-writes.ts); none: a crash between COMMIT and the cache write goes unnoticed. */
  intents: AbandonedWriteSettings | undefined;
  /** How often each instance reads new failure events from MySQL for its subscribers (and renews its read lease). */
  failureFeedPollMs: number;
  /** Fenced acknowledgements (READ_LEASE_MS); undefined: 0, off. */
  readLease: { leaseMs: number } | undefined;
  /** The consistency inspector (INSPECTOR_*); undefined: INSPECTOR_SAMPLE_RATE=0, off. */
  inspector: InspectorSettings | undefined;
  /**
   * The change follower (CHANGE_FOLLOWER=auto): it follows MYSQL_URL's database in the
   * binlog, read as CHANGE_FOLLOWER_MYSQL_URL's user, when the server allows (else it
   * warns once and reports itself off). Undefined: CHANGE_FOLLOWER=off, no follower.
   */
  changeFollower: ChangeFollowerConfig | undefined;
  auth: AuthSettings;
  graphql: GraphQLSettings;
  http: HttpSettings;
  /** Apollo Sandbox at GET /graphql from a browser and the bundled GraphiQL at /graphiql (http/explorer-route.ts). */
  explorer: boolean;
}

export interface HttpSettings {
  /**
   * Browser origins allowed to call the API ('*' for any). Undefined: in development,
   * any http://localhost or 127.0.0.1 origin; in production, none.
   */
  corsOrigins: string[] | undefined;
  /** Let browsers send cookies and credentials cross-origin. */
  corsCredentials: boolean;
  /** How long a registered persisted query (APQ) is kept in Redis. */
  persistedQueriesTtlSeconds: number;
  /** Refuse every operation that is not in the manifest. */
  persistedQueriesOnly: boolean;
  /** The safelist: an Apollo persisted query manifest (JSON). */
  persistedQueriesManifest: string;
  /**
   * Who may read /metrics: anyone, or (`token`) a caller with METRICS_TOKEN or a JWT with
   * the admin scope. The default is `token` in production and `public` in development.
   */
  metrics: { access: 'public' | 'token'; token: string | undefined };
}

export interface AuthSettings {
  /** HS256 secret. Neither this nor jwksUrl in development: main.ts makes one up. */
  secret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Reads need the `read` scope (otherwise they are public). */
  requireAuthForReads: boolean;
  /** How many verified tokens to reuse until their `exp` (0: verify every request's token). */
  verifiedTokenCacheSize?: number;
}

/** Limits every operation must pass before any resolver runs (see graphql/limits.ts). */
export interface GraphQLSettings {
  introspection: boolean;
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxBodyBytes: number;
  /** Bounds on graphql-ws sockets (graphql/websocket-bounds.ts). */
  websocket: WebSocketLimits;
  /** How operations run once validated (see graphql/compiled-execution.ts). */
  executor: ExecutorSettings;
}

export interface ExecutorSettings {
  /** `jit` compiles each operation with graphql-jit; `standard` is graphql-js's execute. */
  kind: 'jit' | 'standard';
  /** Compiled operations kept (an LRU); the rest run on graphql-js until they come back. */
  cacheSize: number;
  /** Runs on graphql-js before an operation is compiled: one-off operations never pay for compiling. */
  compileAfter: number;
}

/** Thrown by {@link loadConfig}: one line per bad variable, each naming it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `Invalid configuration: ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** CACHE_POLICY_<NAME> → the entity it sets the policy of, for every entity in the registry (entities.ts). */
const ENTITY_POLICY_VARIABLES = new Map(ENTITY_NAMES.map((name) => [`CACHE_POLICY_${name.toUpperCase()}`, name]));

/** Every environment variable the service reads as a setting (besides ENV_FILE, env-file.ts). */
export const SETTING_NAMES: readonly string[] = [...Object.keys(schema.shape), ...ENTITY_POLICY_VARIABLES.keys()];

/**
 * The per-entity policies: one variable per registered entity, read apart from the
 * schema because the registry, not this file, says which entities there are. A
 * CACHE_POLICY_<NAME> for no registered entity is a mistake (a typo, or an entity
 * since removed) and is refused, naming the entities there are.
 */
function entityPolicies(env: Record<string, string>): { policies: Partial<Record<string, CachePolicy>>; problems: string[] } {
  const policies: Partial<Record<string, CachePolicy>> = {};
  const problems: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('CACHE_POLICY_')) continue;
    const entity = ENTITY_POLICY_VARIABLES.get(variable);
    if (!entity) {
      const known = [...ENTITY_POLICY_VARIABLES.keys()].join(', ');
      problems.push(`${variable} names no entity (the per-entity policies are ${known})`);
      continue;
    }
    const parsed = policy.safeParse(value);
    if (parsed.success) policies[entity] = parsed.data;
    else problems.push(`${variable} ${parsed.error.issues[0]!.message} (got ${JSON.stringify(value)})`);
  }
  return { policies, problems };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as they do in most .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  const perEntity = entityPolicies(present as Record<string, string>);
  if (!parsed.success || perEntity.problems.length > 0) {
    const issues = parsed.success ? [] : parsed.error.issues;
    throw new ConfigError([
      ...issues.map((issue) => {
        const name = String(issue.path[0] ?? 'configuration');
        const value = env[name];
        const got = value === undefined || value === '' ? '' : ` (got ${JSON.stringify(redact(name, value))})`;
        return `${name} ${issue.message}${got}`;
      }),
      ...perEntity.problems,
    ]);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    mysql: {
      url: e.MYSQL_URL,
      poolSize: e.MYSQL_POOL_SIZE,
      replicaUrls: e.MYSQL_REPLICA_URLS?.split(',').map((u) => u.trim()).filter(Boolean) ?? [],
      deadlines: { statementMs: e.MYSQL_STATEMENT_TIMEOUT_MS, transactionMs: e.MYSQL_TRANSACTION_TIMEOUT_MS },
    },
    redis: {
      url: e.REDIS_URL,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      ...(e.REDIS_CLUSTER_NODES ? { clusterNodes: e.REDIS_CLUSTER_NODES.split(',').map((node) => parseHostPort(node.trim())!) } : {}),
    },
    cache: {
      keyPrefix: e.KEY_PREFIX,
      policy: e.CACHE_POLICY,
      policyByEntity: perEntity.policies,
      ttlSeconds: e.CACHE_TTL_SECONDS,
      ttlJitter: e.CACHE_TTL_JITTER,
      negativeTtlSeconds: e.NEGATIVE_CACHE_TTL_SECONDS,
      tombstoneTtlSeconds: e.TOMBSTONE_TTL_SECONDS,
      writeRetries: e.CACHE_WRITE_RETRIES,
      writeRetryDelayMs: e.CACHE_WRITE_RETRY_DELAY_MS,
      decodedValues: e.CACHE_DECODED_VALUES,
    },
    logLevel: e.LOG_LEVEL,
    instanceId: e.INSTANCE_ID,
    seedDemoData: e.SEED_DEMO_DATA,
    // It starts a single redis-server, never a cluster.
    autoStartServices: e.AUTO_START_SERVICES ?? (e.NODE_ENV === 'development' && e.REDIS_CLUSTER_NODES === undefined),
    autoStartAnyLocalUrl: e.AUTO_START_SERVICES === true,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    breaker: { errorPercent: e.BREAKER_ERROR_PERCENT, minRequests: e.BREAKER_MIN_REQUESTS, resetMs: e.BREAKER_RESET_MS },
    repair: { intervalMs: e.REPAIR_INTERVAL_MS, batchSize: e.REPAIR_BATCH_SIZE, maxBackoffMs: e.REPAIR_MAX_BACKOFF_MS },
    failureFeedPollMs: e.FAILURE_FEED_POLL_MS,
    readLease: e.READ_LEASE_MS > 0 ? { leaseMs: e.READ_LEASE_MS } : undefined,
    inspector:
      e.INSPECTOR_SAMPLE_RATE > 0
        ? { sampleRate: e.INSPECTOR_SAMPLE_RATE, readSampleRate: e.INSPECTOR_READ_SAMPLE_RATE, delayMs: e.INSPECTOR_DELAY_MS, recheckMs: e.INSPECTOR_RECHECK_MS, maxChecksPerSecond: e.INSPECTOR_MAX_CHECKS_PER_S }
        : undefined,
    changeFollower:
      e.CHANGE_FOLLOWER === 'off'
        ? undefined
        : {
            // An explicit database wins over the URL's (mysql2): always MYSQL_URL's.
            connection: { uri: e.CHANGE_FOLLOWER_MYSQL_URL ?? e.MYSQL_URL, database: databaseOf(e.MYSQL_URL) },
            settings: { serverId: e.CHANGE_FOLLOWER_SERVER_ID, leasePollMs: e.CHANGE_FOLLOWER_LEASE_POLL_MS },
          },
    intents: e.WRITE_INTENTS ? { graceMs: e.WRITE_INTENT_GRACE_MS, intervalMs: e.WRITE_INTENT_SWEEP_MS, batchSize: 1_000 } : undefined,
    auth: {
      secret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      requireAuthForReads: e.REQUIRE_AUTH_FOR_READS,
      verifiedTokenCacheSize: e.TOKEN_CACHE_SIZE,
    },
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      maxBodyBytes: e.MAX_BODY_BYTES,
      websocket: { maxConnections: e.WS_MAX_CONNECTIONS, idleMs: e.WS_IDLE_TIMEOUT_MS },
      executor: { kind: e.GRAPHQL_EXECUTOR, cacheSize: e.GRAPHQL_JIT_CACHE_SIZE, compileAfter: e.GRAPHQL_JIT_COMPILE_AFTER },
    },
    http: {
      corsOrigins: e.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean),
      corsCredentials: e.CORS_CREDENTIALS,
      persistedQueriesTtlSeconds: e.PERSISTED_QUERIES_TTL_SECONDS,
      persistedQueriesOnly: e.PERSISTED_QUERIES_ONLY,
      persistedQueriesManifest: e.PERSISTED_QUERIES_MANIFEST,
      metrics: { access: e.METRICS_ACCESS ?? (e.NODE_ENV === 'production' ? 'token' : 'public'), token: e.METRICS_TOKEN },
    },
    explorer: e.GRAPHQL_EXPLORER ?? e.NODE_ENV !== 'production',
  };
}

/** The database a mysql:// URL names ('' for none), as mysql2 reads it. */
function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** `host:port` (an IPv6 host in brackets: `[::1]:7000`); undefined if it is not one. */
function parseHostPort(text: string): RedisNode | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Connection strings may carry passwords; never echo one back, even from a malformed URL; nor a secret. */
function redact(name: string, value: string): string {
  if (name.endsWith('_SECRET')) return '***';
  return /_URLS?$/.test(name) ? value.replace(/\/\/([^:@/]*):[^@]*@/g, '//$1:***@') : value;
}

/** The longest a cache write can take when every attempt times out. */
function cacheWriteBudgetMs(c: { CACHE_WRITE_RETRIES: number; REDIS_COMMAND_TIMEOUT_MS: number; CACHE_WRITE_RETRY_DELAY_MS: number }): number {
  const delays = c.CACHE_WRITE_RETRY_DELAY_MS * (2 ** c.CACHE_WRITE_RETRIES - 1);
  return (c.CACHE_WRITE_RETRIES + 1) * c.REDIS_COMMAND_TIMEOUT_MS + delays;
}
