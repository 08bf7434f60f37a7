import type { Core } from '../core';
import type { Entities, Lists } from '../entities';
import type { StatusReport } from '../metrics/status';
import { listLoadersOf, loadersOf, type ListLoadersOf, type LoadersOf } from '../writethrough/loaders';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own loaders, who is asking, and the status report. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
  status: () => Promise<StatusReport>;
}

/** One loader per registered entity and association list, by its cache name: `loaders.user`, `loaders.user_orders`, … */
export type Loaders = LoadersOf<Entities> & ListLoadersOf<Lists>;

/** The list loaders' factory, one per core (its prototype holds a getter per list). */
const listLoaderFactories = new WeakMap<Core, () => ListLoadersOf<Lists>>();
function newListLoaders(core: Core): ListLoadersOf<Lists> {
  let factory = listLoaderFactories.get(core);
  if (!factory) listLoaderFactories.set(core, (factory = listLoadersOf<Lists>(core.lists)));
  return factory();
}

/** Loaders are made per request, so a batch never mixes requests and nothing is cached in-process for longer. */
export function createContext(core: Core, access: Access, status: () => Promise<StatusReport>): Context {
  return {
    core,
    access,
    status,
    // Assigned, not spread: a spread would call the list loaders' getters (made on first use).
    loaders: Object.assign(newListLoaders(core), loadersOf<Entities>(core.repositories)),
  };
}

