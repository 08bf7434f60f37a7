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
  /**
   * Keys whose cache entry may be stale after a failed write, each with the version its
   * entry must reach to be trusted (failures/suspect-keys.ts): read from MySQL until then.
   */
  suspects?: Suspects;
  /**
   * This instance's read lease (failures/read-lease.ts): while it is not fresh, the
   * cache may hold a version another instance's failed write has outdated and this
   * instance cannot know of, so reads go to the primary. None: always trusted.
   */
  lease?: { fresh(): boolean };
  /**
   * The consistency inspector's sample of cache hits (inspector/): asked once per batch
   * whether to check one of its rows against MySQL, off the request path. None: no sample.
   */
  readSampler?: { sampleRead(hits: number): boolean; observeRead(entity: string, id: number, version: number): void };
  /**
   * Committed writes whose cache update has not settled (writethrough/unsettled-writes.ts):
   * a read past the cache answers a version only once its write has settled, so no
   * read on another instance can then return an older one. None: it answers at once.
   */
  unsettled?: { awaitSettled(entity: string, seen: ReadonlyArray<{ id: number; version: number | undefined }>): Promise<void> };
  /**
   * Read replicas, for the reads the cache could not answer (see `loadPastCache`).
   * None: those reads go to the primary, as every other read does.
   */
  replicas?: ReadReplicas;
  metrics?: CoreMetrics;
  now?: () => number;
}

/** What the read path asks of the suspect keys (failures/suspect-keys.ts has the rules). */
export interface Suspects {
  readonly size: number;
  has(entity: string, id: number): boolean;
  /** Whether a failure of the key is still open (a suspect key may have none left). */
  hasUnrepaired(entity: string, id: number): boolean;
  /** May a cached entry of this version (a row, or a tombstone or negative entry) answer? */
  trusts(entity: string, id: number, cached: { version: number; row: boolean } | undefined): boolean;
  /** A read of a suspect key went to MySQL and saw this version (undefined: no row). */
  sawInMySql(entity: string, id: number, version: number | undefined): void;
  /** A read trusted the key's entry: with every failure repaired, it is suspect no more. */
  settle(entity: string, id: number): void;
}
