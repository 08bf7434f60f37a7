import { asc, inArray, sql } from 'drizzle-orm';
import type { Cache } from '../cache/cache';
import { decodeEnvelope } from '../cache/envelope';
import type { Database } from '../db/client';
import { writeIntents, type WriteIntentRow } from '../writethrough/tables';
import type { FailedWrite, WriteOperation } from '../writethrough/failures';
import type { Transaction } from '../writethrough/unit-of-work';
import type { FailureEvent } from './failure-event';
import { Rounds } from './rounds';
import type { CoreLogger } from '../writethrough/logger';

export interface AbandonedWriteSettings {
  /**
   * How old an intent must be before it counts as abandoned: longer than any live
   * process takes from its COMMIT to the end of its cache write, retries included.
   * (Too short costs nothing but a needless repair and a failure event.)
   */
  graceMs: number;
  /** How often each instance sweeps. */
  intervalMs: number;
  /** Intents taken per transaction; a sweep takes batches until none is left. */
  batchSize: number;
}

export interface AbandonedWritesDeps {
  db: Database;
  cache: Cache;
  /** entity name → how its keys are spelled in the cache */
  keyOf: (entity: string, id: number) => string;
  /** The failure log: the sweep records in its own transaction, and announces after its commit. */
  reporter: {
    recordIn(tx: Transaction, failed: readonly FailedWrite[]): Promise<FailureEvent[]>;
    announce(recorded: readonly FailureEvent[]): void;
  };
  /**
   * Keys with an unrepaired failure: their write's failure was reported already (by
   * the process itself, which lived to see its cache write fail), so they are left to
   * that repair rather than reported twice.
   */
  suspects: { hasUnrepaired(entity: string, id: number): boolean };
  settings: AbandonedWriteSettings;
  instanceId: string;
  logger: CoreLogger;
}

export interface Sweep {
  /** Intents taken (older than the grace) and deleted. */
  swept: number;
  /** Keys among them behind their write, reported to the failure log for repair. */
  stale: number;
}

export const ABANDONED_ERROR = 'the process that committed this write ended before its cache write was known to land';

/**
 * Closes the crash window: a process killed between a COMMIT and its cache write
 * leaves the old value in the cache, with nothing to say so but the write's intent
 * (writethrough/tables.ts `writeIntents`). Every instance sweeps the intents older than the
 * grace: a key that has not reached the intent's version (absent is fine: the next
 * read fills it from MySQL) is reported as a failed write, which makes it suspect on
 * every instance at once and hands it to the repair worker, as if the dead process
 * had reported it itself. Then the intents are deleted, stale or not.
 */
export class AbandonedWrites {
  private readonly rounds: Rounds<Sweep>;

  constructor(private readonly deps: AbandonedWritesDeps) {
    this.rounds = new Rounds(() => this.sweepAll(), {
      intervalMs: deps.settings.intervalMs,
      onError: (err) => deps.logger.warn({ err }, 'sweeping write intents failed; will retry'),
    });
  }

  start(): void {
    // At start-up too: the intents of the process this one replaces are likely there.
    this.rounds.start(true);
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** Sweeps every intent older than the grace, a batch at a time. Sweeps never overlap. */
  sweepOnce(): Promise<Sweep> {
    return this.rounds.runOnce();
  }

  private async sweepAll(): Promise<Sweep> {
    const total: Sweep = { swept: 0, stale: 0 };
    for (;;) {
      const batch = await this.sweepBatch();
      total.swept += batch.swept;
      total.stale += batch.stale;
      if (batch.swept < this.deps.settings.batchSize) break;
    }
    if (total.stale > 0) this.deps.logger.warn({ ...total }, 'writes abandoned between COMMIT and their cache write were found; repairing their keys');
    return total;
  }

  /**
   * One transaction: lock a batch (SKIP LOCKED, so two instances never take the same
   * intent and neither waits), check their keys, record the stale ones as failures and
   * delete the batch. The failures and the DELETE commit together, on the connection
   * the sweep already holds; if anything fails, the intents stay for the next sweep.
   */
  private async sweepBatch(): Promise<Sweep> {
    const { db, settings } = this.deps;
    let recorded: FailureEvent[] = [];
    const sweep = await db.transaction(
      async (tx) => {
        const intents = await tx
          .select()
          .from(writeIntents)
          .where(sql`${writeIntents.writtenAt} < NOW(3) - INTERVAL ${settings.graceMs * 1000} MICROSECOND`)
          .orderBy(asc(writeIntents.id))
          .limit(settings.batchSize)
          .for('update', { skipLocked: true });
        if (intents.length === 0) return { swept: 0, stale: 0 };
        const stale = await this.staleOf(newestPerKey(intents));
        recorded = await this.deps.reporter.recordIn(tx, stale.map((intent) => this.failureOf(intent)));
        await tx.delete(writeIntents).where(inArray(writeIntents.id, intents.map((i) => i.id)));
        return { swept: intents.length, stale: stale.length };
      },
      // READ COMMITTED: lock the rows taken, not the gap new intents are inserted into.
      { isolationLevel: 'read committed' },
    );
    // Committed: the keys become suspect here and on every instance through the feed.
    this.deps.reporter.announce(recorded);
    return sweep;
  }

  /**
   * The intents whose key holds an older version than theirs. If the cache cannot be
   * read, this throws, and the intents wait for a sweep that can read it: until then
   * the cache is not answering reads either (they go to MySQL), so nothing stale is
   * served meanwhile, and reporting every key would flood the log with false failures.
   */
  private async staleOf(intents: WriteIntentRow[]): Promise<WriteIntentRow[]> {
    intents = intents.filter((intent) => !this.deps.suspects.hasUnrepaired(intent.entity, intent.entityId));
    if (intents.length === 0) return [];
    const raws = await this.deps.cache.mget(intents.map((i) => this.deps.keyOf(i.entity, i.entityId)));
    return intents.filter((intent, i) => {
      const raw = raws[i];
      // Absent, or a value that is not ours (a reader takes it for a miss): nothing stale to serve.
      const envelope = raw == null ? undefined : decodeEnvelope(raw);
      // An invalidation mark ranks half a version below the write that made it.
      return envelope !== undefined && envelope.version < intent.version - 0.5;
    });
  }

  private failureOf(intent: WriteIntentRow): FailedWrite {
    return {
      entity: intent.entity,
      entityId: intent.entityId,
      operation: intent.operation as WriteOperation,
      version: intent.version,
      error: ABANDONED_ERROR,
      occurredAt: intent.writtenAt,
      instance: this.deps.instanceId,
    };
  }
}

/** One intent per key, the newest version's: it is the one the key must reach. */
function newestPerKey(intents: WriteIntentRow[]): WriteIntentRow[] {
  const byKey = new Map<string, WriteIntentRow>();
  for (const intent of intents) {
    const key = `${intent.entity}:${intent.entityId}`;
    const seen = byKey.get(key);
    if (!seen || seen.version < intent.version) byKey.set(key, intent);
  }
  return [...byKey.values()];
}
