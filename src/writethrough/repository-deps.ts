import type { Cache } from '../cache/cache';
import type { Database } from '../db/client';
import type { ReadReplicas } from '../db/read-replicas';
import type { CoreMetrics } from './core-metrics';
import type { RepositoryHooks } from './hooks';
import type { CoreLogger } from './logger';
import type { CacheSettings } from './settings';
import type { UnitOfWork } from './unit-of-work';

/** What a repository, its read path and its write path are built on. */
export interface RepositoryDeps {
  db: Database;
  cache: Cache;
  /** Runs each write's transaction, then its cache writes. */
  work: UnitOfWork;
  settings: CacheSettings;
  logger: CoreLogger;
  hooks?: Pick<RepositoryHooks, 'beforeBackfill'>;
  /** Keys whose cache entry may be stale after a failed write: read from MySQL until repaired. */
  suspects?: { readonly size: number; has(entity: string, id: number): boolean };
  /**
   * Read replicas, for the reads the cache could not answer (see `loadPastCache`).
   * None: those reads go to the primary, as every other read does.
   */
  replicas?: ReadReplicas;
  metrics?: CoreMetrics;
  now?: () => number;
}
