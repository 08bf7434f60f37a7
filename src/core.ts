import type { Redis } from 'ioredis';
import { RedisCache } from './cache/redis-cache';
import type { CacheSettings } from './config';
import type { Database } from './db/client';
import { orders, products, users } from './db/schema';
import { OrderService } from './orders/order-service';
import { CacheWriter } from './writethrough/cache-writer';
import { FailureFeed } from './writethrough/failure-feed';
import { FailureEvents } from './writethrough/failures';
import type { CoreLogger } from './writethrough/logger';
import { Repository, type RepositoryHooks } from './writethrough/repository';
import { UnitOfWork } from './writethrough/unit-of-work';

export interface CoreDeps {
  db: Database;
  redis: Redis;
  settings: CacheSettings;
  instanceId: string;
  logger: CoreLogger;
  hooks?: RepositoryHooks;
}

/** The write-through core for this service's tables, built on connections made by the caller. */
export function createCore({ db, redis, settings, instanceId, logger, hooks }: CoreDeps) {
  const cache = new RedisCache(redis);
  const failures = new FailureEvents((err, failure) =>
    logger.error({ err, failure }, 'a write-through failure listener threw'),
  );
  const writer = new CacheWriter(
    cache,
    { retries: settings.writeRetries, delayMs: settings.writeRetryDelayMs },
    failures,
    instanceId,
    logger,
  );
  const work = new UnitOfWork(db, writer, hooks);
  const deps = { db, cache, work, settings, logger, ...(hooks ? { hooks } : {}) };
  const repositories = {
    users: new Repository('user', users, deps),
    products: new Repository('product', products, deps),
    orders: new Repository('order', orders, deps),
  };
  return {
    cache,
    failures,
    writer,
    work,
    ...repositories,
    ordering: new OrderService(db, work, repositories),
    failureFeed: new FailureFeed(failures),
  };
}

export type Core = ReturnType<typeof createCore>;
