import type { Core } from '../../src/core';
import { entities, type Entities } from '../../src/entities';
import type { NewRow, Patch, Repository, Row, VersionedTable } from '../../src/writethrough/repository';

/** A registry key (`users`, `reviews`, …): what `core.<key>` and `entities.<key>` are called. */
export type EntityKey = keyof Entities;

/** Every entity of the registry (src/entities.ts), in its order: what the per-entity suites iterate. */
export const ENTITY_KEYS = Object.keys(entities) as EntityKey[];

/** The rows a sample of an entity that refers to others needs first. */
interface Parents {
  userId: number;
  productId: number;
}

interface SampleRows<T extends VersionedTable> {
  /** Create a user and a product first (a sample row refers to them). */
  parents?: true;
  /** A valid new row; each call's differs from the last where a column is unique. */
  newRow(parents: Parents): NewRow<T>;
  /** A valid patch that sets something to a value of its own for each `n`. */
  patch(n: number): Patch<T>;
}

let seq = 0;
const unique = () => `${++seq}-${Date.now()}`;

/**
 * How to make a valid row and a valid patch of each registered entity, through its
 * repository (not the API). Typed by the registry, so an entity added to it without a
 * sample here fails to compile.
 */
const SAMPLES: { [K in EntityKey]: SampleRows<Entities[K]['table']> } = {
  users: {
    newRow: () => ({ name: 'Sample', email: `sample${unique()}@example.com` }),
    patch: (n) => ({ name: `writer ${n}` }),
  },
  products: {
    newRow: () => ({ sku: `SAMPLE-${unique()}`, name: 'Sample', priceCents: 100, stock: 10 }),
    patch: (n) => ({ name: `writer ${n}` }),
  },
  // The API places orders (OrderService) and never updates them; the repository
  // creates, updates and deletes them like any other entity's rows, and those are the
  // paths the race and failure suites exercise.
  orders: {
    parents: true,
    newRow: ({ userId, productId }) => ({ userId, productId, quantity: 1, totalCents: 100 }),
    patch: (n) => ({ quantity: n + 1 }),
  },
  reviews: {
    parents: true,
    newRow: ({ userId, productId }) => ({ userId, productId, rating: 3, body: 'Sample' }),
    patch: (n) => ({ body: `writer ${n}` }),
  },
};

/** One entity of the registry on one core, with what a test needs to write it. */
export interface EntitySample {
  key: EntityKey;
  /** The cache's name for it (`user`): keys, failures and intents carry it. */
  name: string;
  table: VersionedTable;
  repository: Repository<VersionedTable>;
  /** Creates a valid new row through the repository. */
  create(): Promise<Row<VersionedTable>>;
  /** A valid patch, its own for each `n` (what `update` sets, for `toMatchObject`). */
  patch(n: number): Record<string, unknown>;
  /** Updates `id` with `patch(n)` through the repository. */
  update(id: number, n: number, options?: { expectedVersion?: number }): Promise<Row<VersionedTable>>;
}

/** The entity's repository on `core` (`core.users` for `users`), typed for any table. */
export function repositoryOf(core: Core, key: EntityKey): Repository<VersionedTable> {
  return core.repositories[key] as unknown as Repository<VersionedTable>;
}

/**
 * A sample of `key` on `core`. For an entity that refers to a user and a product
 * (orders, reviews) it creates them first, through `core`: call it in a beforeAll.
 * Other entities' samples write nothing until asked.
 */
export async function entitySample(core: Core, key: EntityKey): Promise<EntitySample> {
  const rows = SAMPLES[key] as unknown as SampleRows<VersionedTable>;
  const repository = repositoryOf(core, key);
  let parents: Parents = { userId: 0, productId: 0 };
  if (rows.parents) {
    const user = await core.users.create(SAMPLES.users.newRow(parents));
    const product = await core.products.create(SAMPLES.products.newRow(parents));
    parents = { userId: user.id, productId: product.id };
  }
  return {
    key,
    name: entities[key].name,
    table: entities[key].table,
    repository,
    create: () => repository.create(rows.newRow(parents)),
    patch: (n) => rows.patch(n) as Record<string, unknown>,
    update: (id, n, options = {}) => repository.update(id, rows.patch(n), options),
  };
}
