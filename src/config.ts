import { hostname } from 'node:os';
import { z } from 'zod';

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

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: intIn(0, 65535).default(4000),
    MYSQL_URL: url(['mysql:', 'mariadb:']).default('mysql://root@127.0.0.1:3306/throughline'),
    MYSQL_POOL_SIZE: intIn(1, 1000).default(10),
    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    REDIS_COMMAND_TIMEOUT_MS: intIn(10, 60_000).default(250),
    KEY_PREFIX: z.string().min(1).max(64).default('tl:'),
    CACHE_TTL_SECONDS: intIn(1, 30 * 86_400).default(3600),
    CACHE_TTL_JITTER: z.coerce.number().min(0).max(1).default(0.1),
    NEGATIVE_CACHE_TTL_SECONDS: intIn(1, 3600).default(30),
    TOMBSTONE_TTL_SECONDS: intIn(2, 86_400).default(60),
    CACHE_WRITE_RETRIES: intIn(0, 10).default(2),
    CACHE_WRITE_RETRY_DELAY_MS: intIn(0, 10_000).default(25),
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
  })
  // A cache write may be delivered late (a paused Redis, a slow network); the
  // compare-and-set refuses any write older than half the tombstone TTL, so a late
  // write can never outlive the tombstone it is meant to lose against. That bound
  // is only meaningful if a single command can finish well within it.
  .refine((c) => c.REDIS_COMMAND_TIMEOUT_MS * 4 <= c.TOMBSTONE_TTL_SECONDS * 1000, {
    path: ['REDIS_COMMAND_TIMEOUT_MS'],
    message: 'must be at most a quarter of TOMBSTONE_TTL_SECONDS (in ms)',
  });

type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  mysql: { url: string; poolSize: number };
  redis: { url: string; commandTimeoutMs: number };
  cache: CacheSettings;
  logLevel: Env['LOG_LEVEL'];
  instanceId: string;
  seedDemoData: boolean;
  /** Start private MySQL/Redis when they do not answer (development only by default). */
  autoStartServices: boolean;
  shutdownTimeoutMs: number;
  breaker: BreakerSettings;
  repair: RepairSettings;
  /** How often each instance reads new failure events from MySQL for its subscribers. */
  failureFeedPollMs: number;
}

/** When Redis stops answering, stop asking it for a while (see cache/circuit-breaker.ts). */
export interface BreakerSettings {
  /** Open when at least this share of recent Redis calls failed or timed out… */
  errorPercent: number;
  /** …and at least this many were made in the window. */
  minRequests: number;
  /** After this long open, let one call through to probe Redis. */
  resetMs: number;
}

export interface RepairSettings {
  /** How often the worker looks for failures to repair. */
  intervalMs: number;
  /** Failures claimed per round. */
  batchSize: number;
  /** Backoff between attempts at one failure doubles up to this. */
  maxBackoffMs: number;
}

export interface CacheSettings {
  keyPrefix: string;
  ttlSeconds: number;
  ttlJitter: number;
  negativeTtlSeconds: number;
  tombstoneTtlSeconds: number;
  writeRetries: number;
  writeRetryDelayMs: number;
}

/** Thrown by {@link loadConfig}: one line per bad variable, each naming it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `Invalid configuration: ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as they do in most .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'configuration');
        const got = env[name] === undefined ? '' : ` (got ${JSON.stringify(redact(name, env[name]!))})`;
        return `${name} ${issue.message}${got}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    mysql: { url: e.MYSQL_URL, poolSize: e.MYSQL_POOL_SIZE },
    redis: { url: e.REDIS_URL, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    cache: {
      keyPrefix: e.KEY_PREFIX,
      ttlSeconds: e.CACHE_TTL_SECONDS,
      ttlJitter: e.CACHE_TTL_JITTER,
      negativeTtlSeconds: e.NEGATIVE_CACHE_TTL_SECONDS,
      tombstoneTtlSeconds: e.TOMBSTONE_TTL_SECONDS,
      writeRetries: e.CACHE_WRITE_RETRIES,
      writeRetryDelayMs: e.CACHE_WRITE_RETRY_DELAY_MS,
    },
    logLevel: e.LOG_LEVEL,
    instanceId: e.INSTANCE_ID,
    seedDemoData: e.SEED_DEMO_DATA,
    autoStartServices: e.AUTO_START_SERVICES ?? e.NODE_ENV === 'development',
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    breaker: { errorPercent: e.BREAKER_ERROR_PERCENT, minRequests: e.BREAKER_MIN_REQUESTS, resetMs: e.BREAKER_RESET_MS },
    repair: { intervalMs: e.REPAIR_INTERVAL_MS, batchSize: e.REPAIR_BATCH_SIZE, maxBackoffMs: e.REPAIR_MAX_BACKOFF_MS },
    failureFeedPollMs: e.FAILURE_FEED_POLL_MS,
  };
}

/** Connection strings may carry passwords; never echo one back, even from a malformed URL. */
function redact(name: string, value: string): string {
  return name.endsWith('_URL') ? value.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@') : value;
}
