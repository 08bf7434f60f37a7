import type DataLoader from 'dataloader';
import type { Core } from '../core';
import type { OrderRow, ProductRow, UserRow } from '../db/schema';
import type { StatusReport } from '../metrics/status';
import { createLoader } from '../writethrough/loaders';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own DataLoaders, who is asking, and the status report. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
  status: () => Promise<StatusReport>;
}

export interface Loaders {
  user: DataLoader<number, UserRow | null>;
  product: DataLoader<number, ProductRow | null>;
  order: DataLoader<number, OrderRow | null>;
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
