import type { Core } from '../core';
import type { Entities } from '../entities';
import type { StatusReport } from '../metrics/status';
import { loadersOf, type LoadersOf } from '../writethrough/loaders';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own loaders, who is asking, and the status report. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
  status: () => Promise<StatusReport>;
}

/** One loader per registered entity, by its cache name: `loaders.user`, `loaders.product`, … */
export type Loaders = LoadersOf<Entities>;

/** Loaders are made per request, so a batch never mixes requests and nothing is cached in-process for longer. */
export function createContext(core: Core, access: Access, status: () => Promise<StatusReport>): Context {
  return {
    core,
    access,
    status,
    loaders: loadersOf<Entities>(core.repositories),
  };
}

