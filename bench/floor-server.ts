/**
 * The no-I/O floor: the service's own HTTP and GraphQL stack (startServer from
 * src/server.ts: the same HTTP routes, Apollo plugins, query limits, token check and
 * schema) over a stand-in core whose loaders answer constant rows from memory. What
 * it serves per second is the most any cache in front of MySQL could reach with this
 * stack; the bench spawns it as a process of its own, like the real variants.
 *
 * Reads only: mutations would need the real core. Configured from the environment
 * like src/main.ts (PORT, HOST, JWT_SECRET, NODE_ENV, LOG_LEVEL).
 */
import 'reflect-metadata';
import { createTokenVerifier } from '../src/auth/token-verifier';
import { loadConfig } from '../src/config';
import type { Core } from '../src/core';
import type { OrderRow, ProductRow, ReviewRow, UserRow } from '../src/db/schema';
import { buildGraphQLSchema } from '../src/graphql/schema';
import { PersistedQueryStore } from '../src/http/persisted-query-store';
import { createLogger } from '../src/logging/logger';
import { createObservability } from '../src/metrics/observability';
import { startServer } from '../src/server';
import type { Redis } from 'ioredis';

const CREATED = new Date('2026-01-01T00:00:00.000Z');

/** A repository stand-in: load(ids) answers one row per id, built once and then kept, like a cache that never misses. */
function constantRows<Row>(entity: string, make: (id: number) => Row) {
  const rows = new Map<number, Row>();
  return {
    // The loaders (writethrough/loaders.ts) are made per repository, named by its entity.
    entity,
    async load(ids: readonly number[]): Promise<Row[]> {
      return ids.map((id) => {
        let row = rows.get(id);
        if (row === undefined) rows.set(id, (row = make(id)));
        return row;
      });
    },
  };
}

const user = (id: number): UserRow => ({
  id,
  name: `Bench user ${id}`,
  email: `user${id}@bench.test`,
  bio: id % 3 === 1 ? `Bio of user ${id}, who likes fast caches.` : null,
  version: 1,
  createdAt: CREATED,
  updatedAt: CREATED,
});
const product = (id: number): ProductRow => ({
  id,
  sku: `SKU-${id}`,
  name: `Product ${id}`,
  priceCents: 100 + id * 25,
  stock: 1_000_000,
  version: 1,
  createdAt: CREATED,
  updatedAt: CREATED,
});
const review = (id: number): ReviewRow => ({
  id,
  userId: ((id * 3) % 1000) + 1,
  productId: (id % 50) + 1,
  rating: (id % 5) + 1,
  body: `Review ${id}`,
  version: 1,
  createdAt: CREATED,
  updatedAt: CREATED,
});
const order = (id: number): OrderRow => ({
  id,
  userId: ((id * 7) % 1000) + 1,
  productId: (id % 50) + 1,
  quantity: (id % 4) + 1,
  totalCents: 100,
  version: 1,
  createdAt: CREATED,
});

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, instanceId: 'bench-floor' });
  // A cast: only what the read path (createContext's loaders, recentOrders) and the
  // status and metrics gauges touch is here. A resolver needing more fails loudly.
  const repositories = {
    users: constantRows('user', user),
    products: constantRows('product', product),
    orders: constantRows('order', order),
    reviews: constantRows('review', review),
  };
  // Every list holds the newest 100 ids (500 down to 401), whatever its owner.
  const constantList = (entity: string) => ({
    entity,
    load: async (owners: readonly number[]) => owners.map((id) => ({ id, version: 1, ids: Array.from({ length: 100 }, (_, i) => 500 - i), more: true })),
    page: async (list: { ids: number[] }, first: number, after?: number) => {
      const ids = list.ids.filter((id) => after === undefined || id < after);
      return { ids: ids.slice(0, first), hasNextPage: ids.length > first };
    },
  });
  const lists = {
    userOrders: constantList('user_orders'),
    productOrders: constantList('product_orders'),
    productReviews: constantList('product_reviews'),
    recentOrders: constantList('recent_orders'),
  };
  const core = {
    repositories,
    ...repositories,
    lists,
    circuit: undefined,
    failureLog: { countUnrepaired: async () => 0, latestEventId: async () => 0 },
  } as unknown as Core;
  const readiness = { mysql: async () => 'none', redis: async () => 'none' };
  // Persisted queries (APQ) in a Map instead of Redis: only the commands the store
  // uses. The bench sends whole queries, so it is never asked anyway.
  const queries = new Map<string, string>();
  const memoryRedis = {
    get: async (key: string) => queries.get(key) ?? null,
    set: async (key: string, value: string) => void queries.set(key, value),
    del: async (key: string) => Number(queries.delete(key)),
  } as unknown as Redis;
  const server = await startServer(
    {
      schema: await buildGraphQLSchema(),
      core,
      logger,
      production: config.env === 'production',
      verifyToken: createTokenVerifier(config.auth),
      requireAuthForReads: config.auth.requireAuthForReads,
      graphql: config.graphql,
      http: config.http,
      persistedQueries: { store: new PersistedQueryStore(memoryRedis, 'floor:', logger) },
      readiness,
      observability: createObservability().bind(core, readiness, 'bench-floor'),
    },
    { host: config.host, port: config.port },
  );
  logger.info({ url: server.url }, `no-I/O floor serving at ${server.url}`);
  // A graceful exit, so that `node --cpu-prof` writes its profile.
  const stop = () => void server.stop().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('floor server failed:', err);
  process.exit(1);
});
