import { and, eq, gt, lt, min, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { readLeases } from '../writethrough/tables';

/**
 * The `read_leases` table: each instance that trusts the cache renews its row with
 * how far it has read the failure feed. Expiry is MySQL's clock (`NOW(3)`), never an
 * instance's, so a writer and a reader with skewed clocks still agree on who is live.
 */
export class ReadLeases {
  constructor(
    private readonly db: Database,
    private readonly instance: string,
  ) {}

  /** Holds this instance's lease for `leaseMs` more (from when MySQL runs it), with its feed cursor. */
  async renew(cursor: number, leaseMs: number): Promise<void> {
    const expiresAt = sql`NOW(3) + INTERVAL ${leaseMs * 1000} MICROSECOND`;
    await this.db
      .insert(readLeases)
      .values({ instance: this.instance, cursor, expiresAt })
      .onDuplicateKeyUpdate({ set: { cursor, expiresAt } });
  }

  /**
   * The lowest feed cursor of the other instances whose lease is still running
   * (Infinity when there is none): every event up to it is applied on all of them.
   */
  async othersFloor(): Promise<number> {
    const [row] = await this.db
      .select({ floor: min(readLeases.cursor) })
      .from(readLeases)
      .where(and(ne(readLeases.instance, this.instance), gt(readLeases.expiresAt, sql`NOW(3)`)));
    return row?.floor == null ? Infinity : Number(row.floor);
  }

  /** Gives the lease up (at shutdown): writers stop waiting for this instance at once. */
  async release(): Promise<void> {
    await this.db.delete(readLeases).where(eq(readLeases.instance, this.instance));
  }

  /** Removes the rows of instances gone for more than a day (each process has its own id). */
  async purgeExpired(): Promise<void> {
    await this.db.delete(readLeases).where(lt(readLeases.expiresAt, sql`NOW(3) - INTERVAL 1 DAY`));
  }
}
