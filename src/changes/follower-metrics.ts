/**
 * What the change follower reports as it works; prometheus.ts implements it, and
 * `noFollowerMetrics` ignores it. `source`: 'api' for a transaction that recorded a
 * write intent (one of the service's own mutations, already written through), else
 * 'out_of_band' (a console, a migration, another service).
 */
export type ChangeSource = 'api' | 'out_of_band';

export interface FollowerMetrics {
  /** Row changes applied to the cache, per entity and source. */
  changesApplied(entity: string, source: ChangeSource, count: number): void;
  /** How far behind MySQL's binlog the cache is (0 when caught up). */
  lagSeconds(seconds: number): void;
  /** The binlog file and offset applied up to. */
  position(file: string, position: number): void;
  /** A full re-sync, after the stored position was purged from the server. */
  resync(): void;
}

export const noFollowerMetrics: FollowerMetrics = {
  changesApplied() {},
  lagSeconds() {},
  position() {},
  resync() {},
};
