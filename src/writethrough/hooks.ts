import type { WriteOperation } from './failures';

/**
 * Test seams, called at the moments where a race or a rollback can strike. Production passes
 * none; tests use them to hold a cache write back until a competing one has landed.
 */
export interface RepositoryHooks {
  /**
   * Inside the transaction, before COMMIT; throwing rolls it back. After the statements
   * of a create, a delete or an order; before those of an update, which end with the
   * COMMIT in the same round trip (writethrough/statements.ts).
   */
  beforeCommit?(event: { entity: string; operation: WriteOperation; id: number }): Promise<void> | void;
  /** After the transaction committed, before the cache write is sent. */
  afterCommit?(event: { entity: string; operation: WriteOperation; id: number; version: number }): Promise<void> | void;
  /** After the misses were read from MySQL, before they are backfilled. */
  beforeBackfill?(event: { entity: string; ids: readonly number[] }): Promise<void> | void;
}
