import type { Core } from '../core';
import type { Entities, Lists } from '../entities';
import type { StatusReport } from '../metrics/status';
import { listLoadersOf, loadersOf, type ListLoadersOf, type LoadersOf } from '../writethrough/loaders';
import type { CallScope, CoreLogger } from '../writethrough/logger';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own loaders, who is asking, the status report, and where to log. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
  status: () => Promise<StatusReport>;
  /** This request's logger (its lines carry the request's id): hand it to the core's writes as their scope. */
  logger: CoreLogger;
}

/** One loader per registered entity and association list, by its cache name: `loaders.user`, `loaders.user_orders`, … */
export type Loaders = LoadersOf<Entities> & ListLoadersOf<Lists>;

/** The list loaders' factory, one per core (its prototype holds a getter per list). */
const listLoaderFactories = new WeakMap<Core, (scope: CallScope) => ListLoadersOf<Lists>>();
function newListLoaders(core: Core, scope: CallScope): ListLoadersOf<Lists> {
  let factory = listLoaderFactories.get(core);
  if (!factory) listLoaderFactories.set(core, (factory = listLoadersOf<Lists>(core.lists)));
  return factory(scope);
}

/**
 * Loaders are made per request, so a batch never mixes requests and nothing is cached
 * in-process for longer; what their reads log goes to the request's logger.
 */
export function createContext(core: Core, access: Access, status: () => Promise<StatusReport>, logger: CoreLogger): Context {
  const scope = { logger };
  return {
    core,
    access,
    status,
    logger,
    // Assigned, not spread: a spread would call the list loaders' getters (made on first use).
    loaders: Object.assign(newListLoaders(core, scope), loadersOf<Entities>(core.repositories, scope)),
  };
}

