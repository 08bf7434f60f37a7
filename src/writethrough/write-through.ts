import type { Cache } from '../cache/cache';
import { createCache, type RedisClient } from '../cache/redis-client';
import { CircuitBreakingCache, type BreakerSettings } from '../cache/circuit-breaker';
import { CoalescedReads } from '../cache/coalesced-reads';
import { noMetrics, type CoreMetrics } from './core-metrics';
import type { Database } from '../db/client';
import type { ReadReplicas } from '../db/read-replicas';
import { AbandonedWrites, type AbandonedWriteSettings } from '../failures/abandoned-writes';
import { EventFeed } from '../failures/event-feed';
import { FailureLog } from '../failures/failure-log';
import { Fence } from '../failures/fence';
import { ReadLease } from '../failures/read-lease';
import { ReadLeases } from '../failures/read-leases';
import { RepairQueue } from '../failures/repair-queue';
import { RepairWorker, type RepairSettings } from '../failures/repair-worker';
import { SuspectKeys } from '../failures/suspect-keys';
import { AssociationList } from './association-lists';
import type { ListRegistry } from './association-list';
import { CacheWriter } from './cache-writer';
import { definitionsOf, type EntityRegistry } from './entity';
import type { CoreLogger } from './logger';
import { Repository, type RepositoryDeps, type RepositoryHooks, type VersionedTable } from './repository';
import type { CacheSettings } from './settings';
import { UnitOfWork } from './unit-of-work';
import { getTableName } from 'drizzle-orm';
import { ChangeFollower, type ChangeFollowerDeps } from '../changes/change-follower';
import { followedTables } from '../changes/followed-tables';
import type { FollowerMetrics } from '../changes/follower-metrics';
import { resyncTables } from '../changes/resync';
import { followedLists } from '../changes/followed-lists';
import { writeIntents } from './tables';
import { ConsistencyInspector, type InspectorSettings } from '../inspector/consistency-inspector';
import { UnsettledWrites } from './unsettled-writes';
import { WriteIntents } from './write-intents';

export interface WriteThroughDeps {
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
  /**
   * Fenced acknowledgements (failures/read-lease.ts, failures/fence.ts): this instance
   * trusts the cache only while it holds a read lease renewed through MySQL with its
   * feed cursor, and a failed write answers only once every other live instance has
   * read the failure, or after one lease. None: off, and another instance may answer
   * with the version before a failed write until its next poll of the feed.
   */
  readLease?: { leaseMs: number } | undefined;
  /** The consistency inspector (inspector/): a sample of settled writes checked against MySQL later. None: off. */
  inspector?: InspectorSettings | undefined;
  instanceId: string;
  logger: CoreLogger;
  /** A circuit breaker in front of Redis (none: every call waits for Redis, as tests of the raw path want). */
  breaker?: BreakerSettings;
  metrics?: CoreMetrics;
  hooks?: RepositoryHooks;
  /** The change follower (changes/): none, and rows changed behind the API stay stale until their TTL. */
  changes?: {
    connection: ChangeFollowerDeps['connection'];
    settings: ChangeFollowerDeps['settings'];
    metrics?: FollowerMetrics;
  };
}

/**
 * The write-through core for the registry's tables, built on connections made by the
 * caller. Nothing here starts a timer: the caller starts the feed and the repair
 * worker (see `start`), so tests choose what runs.
 */
export function createWriteThrough<R extends EntityRegistry, L extends ListRegistry = Record<never, never>>(registry: R, deps: WriteThroughDeps, listRegistry?: L) {
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
  // With a read lease, failed writes go through the fence; without, straight to the log.
  const leases = deps.readLease && new ReadLeases(db, instanceId);
  const leaseMs = deps.readLease?.leaseMs ?? 0;
  const lease = leases && new ReadLease(leases, feed, { leaseMs, renewEveryMs: deps.failureFeedPollMs }, logger);
  const reporter = leases ? new Fence(failureLog, leases, { leaseMs }, logger, (outcome, seconds) => metrics.fenceWait(outcome, seconds)) : failureLog;
  const writer = new CacheWriter(cache, { retries: settings.writeRetries, delayMs: settings.writeRetryDelayMs }, reporter, instanceId, logger, metrics);
  // With leases, a read past the cache waits for the writes it saw to settle; that needs their intents.
  const unsettled = leases && deps.intents ? new UnsettledWrites(db, { maxWaitMs: deps.intents.graceMs }, logger) : undefined;
  let inspector: ConsistencyInspector | undefined;
  const work = new UnitOfWork(db, writer, hooks, metrics, deps.intents ? new WriteIntents() : undefined, (writes) => {
    unsettled?.settled(writes);
    inspector?.observe(writes);
  });
  const repositoryDeps = {
    db,
    // Reads of concurrent requests share MGETs; writes go straight to `cache`.
    cache: new CoalescedReads(cache),
    work,
    settings,
    logger,
    suspects,
    metrics,
    ...(lease ? { lease } : {}),
    ...(unsettled ? { unsettled } : {}),
    // Bound late: the inspector is built over the repositories these deps make.
    ...(deps.inspector?.readSampleRate
      ? { readSampler: { sampleRead: (hits: number) => inspector?.sampleRead(hits) ?? false, observeRead: (entity: string, id: number, version: number) => inspector?.observeRead(entity, id, version) } }
      : {}),
    ...(deps.replicas ? { replicas: deps.replicas } : {}),
    ...(hooks ? { hooks } : {}),
  };
  const lists = listsOf((listRegistry ?? {}) as L, repositoryDeps);
  const listsByName: Record<string, AssociationList> = Object.fromEntries(Object.values(lists).map((l) => [l.entity, l]));
  const repositories = repositoriesOf(registry, repositoryDeps, Object.values(lists));
  // Entities and lists, by the name failures and intents record.
  const cached = { ...byName(repositories), ...listsByName };
  const repairWorker = new RepairWorker({
    queue: new RepairQueue(db, instanceId),
    cache,
    repositories: cached,
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
  const entities = byName(repositories);
  if (deps.inspector) {
    inspector = new ConsistencyInspector({
      cache,
      redis,
      entities: cached,
      failureOpen: (entity, id) => suspects.hasUnrepaired(entity, id),
      reporter: failureLog,
      instanceId,
      settings: deps.inspector,
      logger,
      observe: (entity, result) => metrics.inspection(entity, result),
      observeAge: (entity, seconds) => metrics.inconsistencyAge(entity, seconds),
    });
  }
  const abandonedWrites = deps.intents
    ? new AbandonedWrites({
        db,
        cache,
        keyOf: (entity, id) => {
          const repository = cached[entity];
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

  const followed = followedTables(Object.values(entities));
  const follower = deps.changes
    ? new ChangeFollower({
        ...deps.changes,
        tables: followed,
        intentsTable: getTableName(writeIntents),
        cache,
        instanceId,
        logger,
        resync: () => resyncTables(db, cache, followed),
        // Bound late, as the inspector is built after the follower's tables are known.
        onApplied: (changes) => inspector?.observe(changes),
        ...(Object.keys(listsByName).length > 0 ? { lists: followedLists(listsByName) } : {}),
      })
    : undefined;

  return {
    cache,
    circuit,
    follower,
    writer,
    work,
    failureLog,
    suspects,
    feed,
    lease,
    inspector,
    repairWorker,
    abandonedWrites,
    /** One per registered entity, under the registry's own names (`repositories.users`). */
    repositories,
    /** The same, by the entity's cache name (`byName.user`): what failures and intents record. */
    byName: entities,
    /** One per association list, under the list registry's names (`lists.userOrders`). */
    lists,
    /** The same, by the list's cache name (`listsByName.user_orders`): what failures and intents record. */
    listsByName,
    /**
     * Starts following the failure feed (the cursor first, then the unrepaired keys,
     * so nothing recorded in between is missed) and, unless told not to, polling it
     * for other instances' events, running the repair worker and sweeping abandoned
     * write intents (`sweepIntents`, by default whatever `repairs` is). With a read
     * lease, the lease's renewals are the feed's polls, and reads use the cache once
     * the first has succeeded; without polling there is no lease, and no cache reads.
     */
    async start(options: { repairs?: boolean; pollFeed?: boolean; sweepIntents?: boolean; followChanges?: boolean; inspect?: boolean } = {}): Promise<void> {
      const poll = options.pollFeed !== false;
      await feed.start({ poll: poll && !lease });
      for (const event of await failureLog.unrepaired(100_000)) suspects.apply(event);
      if (poll) await lease?.start();
      if (options.repairs !== false) repairWorker.start();
      if ((options.sweepIntents ?? options.repairs) !== false) abandonedWrites?.start();
      if (options.followChanges !== false) follower?.start();
      if (options.inspect !== false) inspector?.start();
    },
    async stop(): Promise<void> {
      feed.stop();
      await lease?.stop();
      await follower?.stop();
      await abandonedWrites?.stop();
      await unsettled?.stop();
      await inspector?.stop();
      await repairWorker.stop();
      // Before the caller disconnects Redis, so the disconnect is not logged as an outage.
      circuit?.shutdown();
    },
  };
}

export type WriteThrough<R extends EntityRegistry> = ReturnType<typeof createWriteThrough<R>>;

/** A registry's repositories, under the registry's names, each typed by its table. */
export type RepositoriesOf<R extends EntityRegistry> = { readonly [K in keyof R]: Repository<R[K]['table']> };

function repositoriesOf<R extends EntityRegistry>(registry: R, deps: RepositoryDeps, lists: readonly AssociationList[]): RepositoriesOf<R> {
  // One name used twice, by two entities or an entity and a list, is refused before anything is built.
  definitionsOf(registry, lists.map((l) => l.entity));
  const entries = Object.entries(registry).map(([key, definition]) => [key, new Repository(definition, deps, lists.filter((l) => l.definition.edges === definition.table))] as const);
  return Object.fromEntries(entries) as unknown as RepositoriesOf<R>;
}

/** A list registry's lists, under its names. */
export type ListsOf<L extends ListRegistry> = { readonly [K in keyof L]: AssociationList };

function listsOf<L extends ListRegistry>(registry: L, deps: RepositoryDeps): ListsOf<L> {
  return Object.fromEntries(Object.entries(registry).map(([key, definition]) => [key, new AssociationList(definition, deps)])) as ListsOf<L>;
}

/** The repair worker and the sweep look repositories up by the entity names the failure log records. */
function byName(repositories: object): Record<string, Repository<VersionedTable>> {
  const all = Object.values(repositories) as Array<Repository<VersionedTable>>;
  return Object.fromEntries(all.map((r) => [r.entity, r]));
}
