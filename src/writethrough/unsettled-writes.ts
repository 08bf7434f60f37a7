import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, inArray, lte, or } from 'drizzle-orm';
import type { Database } from '../db/client';
import { translateDatabaseError } from '../db/errors';
import type { PendingWrite } from './cache-writer';
import type { CoreLogger } from './logger';
import { writeIntents } from './tables';
import { intentVersion } from './write-intents';

/** What a read past the cache returned for a key: a row's version, or undefined for no row. */
export interface SeenVersion {
  id: number;
  version: number | undefined;
}

export interface UnsettledWritesSettings {
  /** How long a read waits for an intent that does not go: its writer has most likely died (the sweep's grace). */
  maxWaitMs: number;
  /** How often the waiting reads look again, in one query per entity (10 ms). */
  stepMs?: number;
  /** How long settled intents gather before one DELETE takes them all (20 ms). */
  reapMs?: number;
}

interface Waiter {
  entity: string;
  seen: readonly SeenVersion[];
  deadline: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The most intents one DELETE names. */
const REAP_BATCH = 500;

/**
 * Committed writes whose cache update has not settled yet: their write intents.
 *
 * A read that goes past the cache (Redis failed, the key is suspect, the lease ran out)
 * sees MySQL's newest version, which may be one whose writer is still between COMMIT
 * and its cache write, or waiting at the fence. Answered at once, it can be followed
 * by a read on another instance that still gets the version before it from Redis: the
 * client sees time go back. So such a read waits until the versions it returns have
 * settled, as the writer itself does before it answers: the cache holds them (or
 * newer), or every instance treats their key as suspect.
 *
 * A settled write's writer deletes its intents (`settled`), batched in one DELETE per
 * few milliseconds for the whole process; a read waits while an intent for its key at
 * or below the version it saw remains (`awaitSettled`). An intent at or below is enough:
 * intents of older versions are deleted with the newer one's, since once the newer
 * version has settled no read can go back past it. For no row, any intent of the key
 * holds the read: the delete's tombstone is the key's last version.
 */
export class UnsettledWrites {
  private readonly reaping: PendingWrite[] = [];
  private reapTimer: NodeJS.Timeout | undefined;
  private reaped: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<Waiter>();
  private looping = false;
  private warned = false;

  constructor(
    private readonly db: Database,
    private readonly settings: UnsettledWritesSettings,
    private readonly logger: CoreLogger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The writes' cache updates have settled (landed, found a newer version, or their
   * failure passed the fence): their intents go. Never throws; an intent that could not
   * be deleted only holds reads up to `maxWaitMs`, and the sweep deletes it later.
   */
  settled(writes: readonly PendingWrite[]): void {
    if (writes.length === 0) return;
    this.reaping.push(...writes);
    this.reapTimer ??= setTimeout(() => this.reapNow(), this.settings.reapMs ?? 20).unref();
  }

  /** Deletes what has gathered now, and waits for every DELETE under way: before the pool closes. */
  async stop(): Promise<void> {
    this.reapNow();
    await this.reaped;
  }

  private reapNow(): void {
    clearTimeout(this.reapTimer);
    this.reapTimer = undefined;
    const writes = this.reaping.splice(0);
    if (writes.length > 0) this.reaped = Promise.all([this.reaped, this.reap(writes)]).then(() => {});
  }

  /** Resolves once no intent holds any of the versions seen, or after `maxWaitMs`; rejects if MySQL cannot say. */
  awaitSettled(entity: string, seen: readonly SeenVersion[]): Promise<void> {
    if (seen.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.add({ entity, seen, deadline: this.now() + this.settings.maxWaitMs, resolve, reject });
      if (!this.looping) void this.loop();
    });
  }

  /** Deletes every gathered intent, a batch per statement. */
  private async reap(writes: readonly PendingWrite[]): Promise<void> {
    for (let i = 0; i < writes.length; i += REAP_BATCH) {
      const batch = writes.slice(i, i + REAP_BATCH);
      const keys = batch.map((w) => and(eq(writeIntents.entity, w.entity), eq(writeIntents.entityId, w.entityId), lte(writeIntents.version, intentVersion(w))));
      try {
        // Found first, then deleted by primary key: a DELETE by range would lock the gap
        // a newer write's intent is inserted into, holding that write (or deadlocking with
        // it). Nothing to find can appear in between: a newer intent has a higher version.
        const found = await this.db.select({ id: writeIntents.id }).from(writeIntents).where(or(...keys));
        if (found.length > 0) await this.db.delete(writeIntents).where(inArray(writeIntents.id, found.map((r) => r.id)));
      } catch (err) {
        this.logger.warn({ err, intents: batch.length }, 'deleting settled write intents failed; reads of their keys past the cache wait for the sweep');
      }
    }
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.waiters.size > 0) {
        await this.step();
        if (this.waiters.size > 0) await sleep(this.settings.stepMs ?? 10);
      }
    } finally {
      this.looping = false;
    }
  }

  /** One query per entity for every waiting read's keys; releases the reads none of whose versions is held. */
  private async step(): Promise<void> {
    const byEntity = new Map<string, Waiter[]>();
    for (const waiter of this.waiters) byEntity.set(waiter.entity, [...(byEntity.get(waiter.entity) ?? []), waiter]);
    await Promise.all(
      [...byEntity].map(async ([entity, waiters]) => {
        let held: Map<number, number>;
        try {
          held = await this.lowestIntents(entity, [...new Set(waiters.flatMap((w) => w.seen.map((s) => s.id)))]);
        } catch (err) {
          // Unable to tell whether what it read has settled, a read fails rather than risk going back in time.
          for (const waiter of waiters) this.finish(waiter, translateDatabaseError(err, entity));
          return;
        }
        for (const waiter of waiters) this.release(waiter, held);
      }),
    );
  }

  private release(waiter: Waiter, held: Map<number, number>): void {
    const pending = waiter.seen.some(({ id, version }) => {
      const lowest = held.get(id);
      return lowest !== undefined && (version === undefined || lowest <= version);
    });
    if (!pending) return this.finish(waiter);
    if (this.now() < waiter.deadline) return;
    if (!this.warned) this.logger.warn({ entity: waiter.entity }, 'a read past the cache waited out the intent grace: a writer died before its cache write, or its intent could not be deleted');
    this.warned = true;
    this.finish(waiter);
  }

  private finish(waiter: Waiter, err?: unknown): void {
    this.waiters.delete(waiter);
    if (err) waiter.reject(err);
    else waiter.resolve();
  }

  /** Each key's lowest intent version still in MySQL, for the keys that have any. */
  private async lowestIntents(entity: string, ids: readonly number[]): Promise<Map<number, number>> {
    const rows = await this.db
      .select({ id: writeIntents.entityId, version: writeIntents.version })
      .from(writeIntents)
      .where(and(eq(writeIntents.entity, entity), inArray(writeIntents.entityId, [...ids])));
    const lowest = new Map<number, number>();
    for (const row of rows) lowest.set(row.id, Math.min(row.version, lowest.get(row.id) ?? Infinity));
    return lowest;
  }
}
