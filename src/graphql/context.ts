import type { Core } from '../core';
import type { OrderRow, ProductRow, UserRow } from '../db/schema';
import type { StatusReport } from '../metrics/status';
import { createLoader, type EntityLoader } from '../writethrough/loaders';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own loaders, who is asking, and the status report. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
  status: () => Promise<StatusReport>;
}

export interface Loaders {
  user: EntityLoader<UserRow>;
  product: EntityLoader<ProductRow>;
  order: EntityLoader<OrderRow>;
}

/** Loaders are made per request, so a batch never mixes requests and nothing is cached in-process for longer. */
export function createContext(core: Core, access: Access, status: () => Promise<StatusReport>): Context {
  return {
    core,
    access,
    status,
    loaders: {
      user: createLoader(core.users),
      product: createLoader(core.products),
      order: createLoader(core.orders),
    },
  };
}
