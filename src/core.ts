import type { Cache } from './cache/cache';
import { createCache, type RedisClient } from './cache/redis-client';
import { CircuitBreakingCache } from './cache/circuit-breaker';
import { CoalescedReads } from './cache/coalesced-reads';
import { noMetrics, type CoreMetrics } from './metrics/core-metrics';
import type { BreakerSettings, CacheSettings, Config, RepairSettings } from './config';
import type { Database } from './db/client';
import type { ReadReplicas } from './db/read-replicas';
import { orders, products, users } from './db/schema';
import { AbandonedWrites, type AbandonedWriteSettings } from './failures/abandoned-writes';
import { EventFeed } from './failures/event-feed';
import { FailureLog } from './failures/failure-log';
import { RepairQueue } from './failures/repair-queue';
import { RepairWorker } from './failures/repair-worker';
import { SuspectKeys } from './failures/suspect-keys';
import { OrderService } from './orders/order-service';
import { CacheWriter } from './writethrough/cache-writer';
import type { CoreLogger } from './writethrough/logger';
import { Repository, type RepositoryHooks, type VersionedTable } from './writethrough/repository';
import { UnitOfWork } from './writethrough/unit-of-work';
import { WriteIntents } from './writethrough/write-intents';

export interface CoreDeps {
  db: Database;
  /**
   * Read replicas for the reads the cache cannot answer (Redis down or its circuit
   * open). Everything else reads and writes `db`, the primary.
   */
  replicas?: ReadReplicas;
  /** A single Redis server's client or a cluster's (see cache/redis-client.ts). */
  redis: RedisClient;
  settings: CacheSettings;
  repair: RepairSettings;
  /** Write intents and their sweep; none: a process killed between COMMIT and its cache write leaves the key stale, unnoticed. */
  intents?: AbandonedWriteSettings | undefined;
  failureFeedPollMs: number;
  instanceId: string;
  logger: CoreLogger;
  /** A circuit breaker in front of Redis (none: every call waits for Redis, as tests of the raw path want). */
  breaker?: BreakerSettings;
  metrics?: CoreMetrics;
  hooks?: RepositoryHooks;
}

/**
 * The write-through core for this service's tables, built on connections made by the
 * caller. Nothing here starts a timer: the caller starts the feed and the repair
 * worker (see `start`), so tests choose what runs.
 */
export function createCore(deps: CoreDeps) {
  const { db, redis, settings, instanceId, logger, hooks } = deps;
  const metrics = deps.metrics ?? noMetrics;
  const redisCache = createCache(redis, metrics);
  const circuit = deps.breaker ? new CircuitBreakingCache(redisCache, deps.breaker, { logger, connection: redis }) : undefined;
  const cache: Cache = circuit ?? redisCache;
  const failureLog = new FailureLog(db, logger);
  const suspects = new SuspectKeys();
  const feed = new EventFeed(failureLog, { pollMs: deps.failureFeedPollMs }, logger, (event) => suspects.apply(event));
  // This instance's own failures are suspect at once, before the mutation answers,
  // and reach its subscribers without waiting for the next poll.
  failureLog.onRecorded((event) => {
    suspects.apply(event);
    void feed.poke();
  });
  const writer = new CacheWriter(cache, { retries: settings.writeRetries, delayMs: settings.writeRetryDelayMs }, failureLog, instanceId, logger, metrics);
  const work = new UnitOfWork(db, writer, hooks, metrics, deps.intents ? new WriteIntents() : undefined);
  const repositoryDeps = {
    db,
    // Reads of concurrent requests share MGETs; writes go straight to `cache`.
    cache: new CoalescedReads(cache),
    work,
    settings,
    logger,
    suspects,
    metrics,
    ...(deps.replicas ? { replicas: deps.replicas } : {}),
    ...(hooks ? { hooks } : {}),
  };
  const repositories = {
    users: new Repository('user', users, repositoryDeps),
    products: new Repository('product', products, repositoryDeps),
    orders: new Repository('order', orders, repositoryDeps),
  };
  const repairWorker = new RepairWorker({
    queue: new RepairQueue(db, instanceId),
    cache,
    repositories: byEntity(repositories),
    settings: deps.repair,
    logger,
    cacheAvailable: () => circuit?.state !== 'open',
    onRepaired: (events) => {
      events.forEach((event) => suspects.apply(event));
      void feed.poke();
    },
    flushPending: () => failureLog.flushPending(),
    metrics,
  });
  const entities = byEntity(repositories);
  const abandonedWrites = deps.intents
    ? new AbandonedWrites({
        db,
        cache,
        keyOf: (entity, id) => {
          const repository = entities[entity];
          if (!repository) throw new Error(`no repository for entity "${entity}" in the write intents`);
          return repository.cacheLayout.key(id);
        },
        reporter: failureLog,
        suspects,
        settings: deps.intents,
        instanceId,
        logger,
      })
    : undefined;

  return {
    cache,
    circuit,
    writer,
    work,
    failureLog,
    suspects,
    feed,
    repairWorker,
    abandonedWrites,
    ...repositories,
    ordering: new OrderService(db, work, repositories),
    /**
     * Starts following the failure feed (the cursor first, then the unrepaired keys,
     * so nothing recorded in between is missed) and, unless told not to, polling it
     * for other instances' events, running the repair worker and sweeping abandoned
     * write intents (`sweepIntents`, by default whatever `repairs` is).
     */
    async start(options: { repairs?: boolean; pollFeed?: boolean; sweepIntents?: boolean } = {}): Promise<void> {
      await feed.start({ poll: options.pollFeed !== false });
      for (const event of await failureLog.unrepaired(100_000)) suspects.apply(event);
      if (options.repairs !== false) repairWorker.start();
      if ((options.sweepIntents ?? options.repairs) !== false) abandonedWrites?.start();
    },
    async stop(): Promise<void> {
      feed.stop();
      await abandonedWrites?.stop();
      await repairWorker.stop();
      // Before the caller disconnects Redis, so the disconnect is not logged as an outage.
      circuit?.shutdown();
    },
  };
}

export type Core = ReturnType<typeof createCore>;

/** The core's settings as the configuration gives them (callers add connections and a logger). */
export function coreSettings(config: Config) {
  return {
    settings: config.cache,
    repair: config.repair,
    intents: config.intents,
    failureFeedPollMs: config.failureFeedPollMs,
    breaker: config.breaker,
    instanceId: config.instanceId,
  } satisfies Partial<CoreDeps>;
}

/** The repair worker looks repositories up by the entity names the failure log records. */
function byEntity(repositories: object): Record<string, Repository<VersionedTable>> {
  const all = Object.values(repositories) as Array<Repository<VersionedTable>>;
  return Object.fromEntries(all.map((r) => [r.entity, r]));
}
