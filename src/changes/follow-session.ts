import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { BinlogSource, Checkpoint, RowChange, StreamItem } from './binlog-source';
import { ChangeApplyError, type ChangeApplier } from './change-applier';
import type { FollowerCheckpoints } from './follower-checkpoints';
import type { ChangeSource } from './follower-metrics';

export interface SessionSettings {
  /** Row changes per pipeline of compare-and-sets. */
  batchSize: number;
  /** Row changes received but not applied, past which the binlog connection is paused. */
  maxQueued: number;
  /** How often the position is stored while changes flow (it is stored when the stream idles, too). */
  checkpointEveryMs: number;
}

export interface SessionEvents {
  /** The stream is open and positioned: every commit from here on will be applied. */
  streaming(): void;
  /** A transaction's changes applied: per entity, and whose they were. */
  applied(counts: ReadonlyMap<string, number>, source: ChangeSource): void;
  /** Everything up to this commit is in the cache. */
  committed(checkpoint: Checkpoint, committedAtMs: number): void;
  /** The cache refused a batch; it is sent again after `retryInMs`. */
  cacheRefused(err: ChangeApplyError, retryInMs: number): void;
}

const MAX_RETRY_DELAY_MS = 5_000;

/** The follower's own table (tables.ts): streamed only to recognise its own writes. */
export const CHECKPOINTS_TABLE = 'change_follower_checkpoints';

function freshTransaction() {
  return { counts: new Map<string, number>(), api: false, ownCheckpoint: false, other: false };
}

/**
 * One term of following: the stream from a position, applied batch by batch, the
 * position stored as it goes. Ends by `stop()` or by the first failure (of the
 * stream, MySQL, or the lease), which `run` rejects with; the caller starts a new
 * session from the stored position, so nothing is lost either way.
 *
 * The cache refusing a batch (Redis down) is not a failure: the batch is sent again
 * until it lands, and the position does not move past it meanwhile.
 */
export class FollowSession {
  private readonly queue: StreamItem[] = [];
  private queued = 0;
  private paused = false;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private stopped = false;
  /** The transaction being applied: its changes per entity, whether it recorded a write intent, and whether it only stored a position. */
  private transaction = freshTransaction();
  private unsaved: Checkpoint | undefined;
  private savedAt = 0;

  constructor(
    private readonly source: BinlogSource,
    private readonly applier: ChangeApplier,
    private readonly checkpoints: FollowerCheckpoints,
    private readonly entityOf: ReadonlyMap<string, string>,
    private readonly intentsTable: string,
    private readonly settings: SessionSettings,
    private readonly events: SessionEvents,
  ) {}

  /**
   * `from`: a stored GTID position, or 'end'. `beforeStreaming` runs with the stream
   * open but paused (a re-sync): what commits meanwhile waits in the binlog and is
   * applied after it, so nothing slips between the two.
   */
  async run(from: string | 'end', beforeStreaming?: () => Promise<void>): Promise<void> {
    const startGtid = await this.source.start(from, (item) => this.push(item), (err) => this.fail(err));
    if (from === 'end') {
      // Stored at once: a restart before the first commit must resume here, not at a later end.
      await this.checkpoints.save({ gtid: startGtid, ...this.source.position() });
    }
    if (beforeStreaming) {
      this.source.pause();
      await beforeStreaming();
      this.source.resume();
    }
    this.events.streaming();
    while (!this.stopped && !this.failure) {
      if (this.queue.length === 0) {
        await this.saveIfUnsaved();
        // Checked again: items may have arrived while the position was being saved.
        if (this.queue.length === 0 && !this.stopped && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      await this.applyBatch(this.take());
      // The follower shares the event loop with the API: between batches of a large
      // change, let the requests that arrived meanwhile run.
      await yieldToEventLoop();
    }
    if (this.failure) throw this.failure;
    await this.saveIfUnsaved();
  }

  /** Row changes received and not yet applied. */
  get backlog(): number {
    return this.queued;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Ends the session with `err` (a dead stream, a lost lease). */
  fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  private push(item: StreamItem): void {
    const last = this.queue.at(-1);
    // Commits of transactions with no followed rows (other tables, other databases)
    // only move the position: the newest one stands for them all.
    if (item.type === 'commit' && last?.type === 'commit') this.queue[this.queue.length - 1] = item;
    else this.queue.push(item);
    if (item.type === 'rows') this.queued += item.changes.length;
    if (!this.paused && this.queued > this.settings.maxQueued) {
      this.paused = true;
      this.source.pause();
    }
    this.wake?.();
  }

  /** Items up to `batchSize` changes, in binlog order (at least one item). */
  private take(): StreamItem[] {
    const batch: StreamItem[] = [];
    let changes = 0;
    while (this.queue.length > 0 && (batch.length === 0 || changes < this.settings.batchSize)) {
      const item = this.queue.shift()!;
      batch.push(item);
      if (item.type === 'rows') changes += item.changes.length;
    }
    this.queued -= changes;
    if (this.paused && this.queued <= this.settings.maxQueued / 2) {
      this.paused = false;
      this.source.resume();
    }
    return batch;
  }

  private async applyBatch(batch: StreamItem[]): Promise<void> {
    const rows = batch.filter((i): i is Extract<StreamItem, { type: 'rows' }> => i.type === 'rows');
    const changes = rows.flatMap((i) => i.changes);
    if (changes.length > 0) {
      // The oldest commit time: a row's deadline counts from when MySQL committed it.
      const committedAtMs = Math.min(...rows.map((i) => i.committedAtMs));
      await this.applyUntilAccepted(changes, committedAtMs);
    }
    for (const item of batch) {
      if (item.type === 'rows') this.tally(item.changes);
      else this.commit(item.checkpoint, item.committedAtMs);
    }
    if (this.unsaved && Date.now() - this.savedAt >= this.settings.checkpointEveryMs) await this.saveIfUnsaved();
  }

  private async applyUntilAccepted(changes: RowChange[], committedAtMs: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.applier.apply(changes, committedAtMs);
        return;
      } catch (err) {
        if (!(err instanceof ChangeApplyError)) throw err;
        const delayMs = Math.min(100 * 2 ** attempt, MAX_RETRY_DELAY_MS);
        this.events.cacheRefused(err, delayMs);
        await sleep(delayMs);
        if (this.stopped || this.failure) throw this.failure ?? err;
      }
    }
  }

  private tally(changes: readonly RowChange[]): void {
    for (const { table } of changes) {
      if (table === CHECKPOINTS_TABLE) {
        this.transaction.ownCheckpoint = true;
        continue;
      }
      this.transaction.other = true;
      if (table === this.intentsTable) {
        this.transaction.api = true;
        continue;
      }
      const entity = this.entityOf.get(table);
      if (entity) this.transaction.counts.set(entity, (this.transaction.counts.get(entity) ?? 0) + 1);
    }
  }

  private commit(checkpoint: Checkpoint, committedAtMs: number): void {
    const { counts, api, ownCheckpoint, other } = this.transaction;
    if (counts.size > 0) this.events.applied(counts, api ? 'api' : 'out_of_band');
    this.transaction = freshTransaction();
    // Storing the position is itself a transaction in the binlog: storing its echo
    // would write another, forever. It is stored with the next real change instead
    // (a restart replays the echo, which changes nothing).
    if (!ownCheckpoint || other) this.unsaved = checkpoint;
    this.events.committed(checkpoint, committedAtMs);
  }

  private async saveIfUnsaved(): Promise<void> {
    const checkpoint = this.unsaved;
    if (!checkpoint) return;
    this.unsaved = undefined;
    await this.checkpoints.save(checkpoint);
    this.savedAt = Date.now();
  }
}
