import type { Config } from './config';
import { entities, lists } from './entities';
import { OrderService } from './orders/order-service';
import { createWriteThrough, type WriteThroughDeps } from './writethrough/write-through';

export type CoreDeps = WriteThroughDeps;

/**
 * The write-through core (writethrough/write-through.ts) over this service's entity
 * registry, plus what only this service has: placing orders. Each repository is also
 * reachable by its registry name (`core.users`), as resolvers use it.
 */
export function createCore(deps: CoreDeps) {
  const core = createWriteThrough(entities, deps, lists);
  return { ...core, ...core.repositories, ordering: new OrderService(core.work, core.repositories) };
}

export type Core = ReturnType<typeof createCore>;

/** The core's settings as the configuration gives them (callers add connections and a logger). */
export function coreSettings(config: Config) {
  return {
    settings: config.cache,
    repair: config.repair,
    intents: config.intents,
    failureFeedPollMs: config.failureFeedPollMs,
    readLease: config.readLease,
    inspector: config.inspector,
    breaker: config.breaker,
    instanceId: config.instanceId,
  } satisfies Partial<CoreDeps>;
}
