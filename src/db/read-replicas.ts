import type { Database } from './client';

/** One read replica: its Drizzle handle, on a pool the edge made, and a name for logs. */
export interface ReadReplica {
  /** `host:port/database`: never the credentials. */
  readonly name: string;
  readonly db: Database;
}

/**
 * The replicas the service may read when the cache cannot answer, taken in turn
 * (round-robin). A replica whose read failed rests for `restMs`: while it rests,
 * `next()` passes it over, so an unreachable replica costs one failed read (and one
 * log line) per rest instead of one per request. With every replica resting, `next()`
 * gives none and the caller reads the primary.
 *
 * Not Drizzle's `withReplicas`: that sends every SELECT to a replica, and this service
 * wants replicas for one kind of read only (see Repository.loadPastCache).
 */
export class ReadReplicas {
  private turn = 0;
  private readonly restingUntil = new Map<ReadReplica, number>();

  constructor(
    private readonly replicas: readonly ReadReplica[],
    private readonly options: { restMs?: number; now?: () => number } = {},
  ) {}

  get size(): number {
    return this.replicas.length;
  }

  /** Their names (host:port/database), for the log. */
  get names(): string[] {
    return this.replicas.map((r) => r.name);
  }

  /** The next replica that is not resting, or undefined if there is none. */
  next(): ReadReplica | undefined {
    const now = this.now();
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[this.turn++ % this.replicas.length]!;
      if ((this.restingUntil.get(replica) ?? 0) <= now) return replica;
    }
    return undefined;
  }

  /** The replica failed a read: leave it alone for a while. */
  failed(replica: ReadReplica): void {
    this.restingUntil.set(replica, this.now() + (this.options.restMs ?? DEFAULT_REST_MS));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Long enough that a replica which is down costs little; short enough that one which is back is used again soon. */
const DEFAULT_REST_MS = 5_000;

/** `mysql://user:pw@db-replica-1:3306/throughline` → `db-replica-1:3306/throughline`, for logs. */
export function replicaName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '3306'}${u.pathname}`;
}
