import type DataLoader from 'dataloader';
import type { Core } from '../core';
import type { OrderRow, ProductRow, UserRow } from '../db/schema';
import { createLoader } from '../writethrough/loaders';
import type { Access } from './auth';

/** What every resolver gets: the core, this request's own DataLoaders, and who is asking. */
export interface Context {
  core: Core;
  loaders: Loaders;
  access: Access;
}

export interface Loaders {
  user: DataLoader<number, UserRow | null>;
  product: DataLoader<number, ProductRow | null>;
  order: DataLoader<number, OrderRow | null>;
}

/** Loaders are made per request, so a batch never mixes requests and nothing is cached in-process for longer. */
export function createContext(core: Core, access: Access): Context {
  return {
    core,
    access,
    loaders: {
      user: createLoader(core.users),
      product: createLoader(core.products),
      order: createLoader(core.orders),
    },
  };
}
