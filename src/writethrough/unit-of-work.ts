import type { Database } from '../db/client';
import { noMetrics, timed, type CoreMetrics } from './core-metrics';
import { translateDatabaseError } from '../db/errors';
import type { CacheWriter, PendingWrite } from './cache-writer';
import type { RepositoryHooks } from './hooks';
import type { CallScope } from './logger';
import type { WriteIntents } from './write-intents';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** What a transaction hands back: its answer, and the cache writes its commit calls for. */
export interface Committed<R> {
  result: R;
  writes: PendingWrite[];
  /** The work recorded its writes' intents itself (an update, in its own round trip, which also COMMITs); else the unit of work does. */
  intentsRecorded?: boolean;
}

/**
 * The write path every mutation takes: run the statements in one MySQL transaction,
 * and only once it has committed, send all the cache writes it produced in one
 * pipeline. The order is the point: a cache write before COMMIT could publish a row
 * that then rolls back, and a write that rolls back must leave the cache untouched.
 */
export class UnitOfWork {
  constructor(
    private readonly db: Database,
    private readonly writer: CacheWriter,
    private readonly hooks: RepositoryHooks = {},
    private readonly metrics: CoreMetrics = noMetrics,
    /** Where each write leaves its intent before COMMIT; none: a crash between COMMIT and the cache write goes unnoticed. */
    private readonly intents?: WriteIntents,
    /**
     * Told when a transaction's writes have settled: their intents stop holding reads
     * past the cache (writethrough/unsettled-writes.ts), and the consistency inspector
     * samples them (inspector/).
     */
    private readonly onSettled?: (writes: readonly PendingWrite[]) => void,
  ) {}

  get recordsIntents(): boolean {
    return this.intents !== undefined;
  }

  /** `entity` names what the transaction is about, for the errors MySQL raises; the scope's logger hears of its failed cache writes. */
  async run<R>(entity: string, scope: CallScope | undefined, work: (tx: Transaction) => Promise<Committed<R>>): Promise<R> {
    let committed: Committed<R>;
    try {
      committed = await timed(
        () =>
          this.db.transaction(async (tx) => {
            const done = await work(tx);
            // Last before COMMIT: an intent exists exactly when its write does.
            if (this.intents && !done.intentsRecorded) await this.intents.record(tx, done.writes);
            return done;
          }),
        (seconds, ok) => this.metrics.mysqlCall('transaction', seconds, ok),
      );
    } catch (err) {
      throw translateDatabaseError(err, entity);
    }
    for (const w of committed.writes) {
      await this.hooks.afterCommit?.({ entity: w.entity, operation: w.operation, id: w.entityId, version: w.cas.version });
    }
    // The writer never throws: the transaction has committed, so its answer stands.
    await this.writer.write(committed.writes, scope?.logger);
    // Only now: each write is cached, or its failure has passed the fence.
    this.onSettled?.(committed.writes);
    return committed.result;
  }

  async beforeCommit(event: Parameters<NonNullable<RepositoryHooks['beforeCommit']>>[0]): Promise<void> {
    await this.hooks.beforeCommit?.(event);
  }
}
