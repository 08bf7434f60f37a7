import type { Cache, CasWrite } from './cache';
import type { CasOutcome } from './cas-script';

interface Waiting {
  keys: readonly string[];
  resolve: (values: Array<string | null>) => void;
  reject: (err: unknown) => void;
}

/**
 * The most keys one merged MGET asks for. Redis answers one command at a time, so a
 * huge MGET would hold up every other client; a batch larger than this on its own
 * (a loader batch is at most 500 ids, writethrough/loaders.ts) still goes out whole.
 */
export const MAX_COALESCED_KEYS = 1000;

/**
 * Reads made by concurrent requests in one turn of the event loop, sent to Redis as
 * one MGET.
 *
 * Each request's loader sends one batch per entity type. Under load many requests
 * reach that point in the same turn (every request whose bytes arrived in one poll),
 * and each MGET costs its own command, socket write, reply parse and promise chain,
 * which for a one-row read is most of what the cache costs. So batches wait for the
 * end of the turn (setImmediate runs right after the poll phase) and go out together.
 * A batch never waits past the turn it was made in, and one alone goes out as it came.
 *
 * Order is what keeps this correct: the merged MGET is sent after every batch in it
 * was made, on the same connection as the writes, so each batch still sees every
 * write that had answered before it was made (read-your-writes holds). Keys are not
 * deduplicated across batches: a map of every key costs more CPU than Redis spends
 * answering the few keys two requests share. Writes pass straight through.
 */
export class CoalescedReads implements Cache {
  private waiting: Waiting[] = [];

  constructor(
    private readonly inner: Cache,
    private readonly maxKeys = MAX_COALESCED_KEYS,
  ) {}

  mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ keys, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  casSetMany(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    return this.inner.casSetMany(writes);
  }

  private flush(): void {
    const batches = this.waiting;
    this.waiting = [];
    let group: Waiting[] = [];
    let size = 0;
    for (const batch of batches) {
      if (group.length > 0 && size + batch.keys.length > this.maxKeys) {
        this.send(group);
        group = [];
        size = 0;
      }
      group.push(batch);
      size += batch.keys.length;
    }
    this.send(group);
  }

  /** One MGET for the group; each batch gets its own slice of the answer, or the error. */
  private send(group: readonly Waiting[]): void {
    if (group.length === 1) {
      const only = group[0]!;
      this.inner.mget(only.keys).then(only.resolve, only.reject);
      return;
    }
    this.inner.mget(group.flatMap((batch) => batch.keys)).then(
      (values) => {
        let start = 0;
        for (const batch of group) batch.resolve(values.slice(start, (start += batch.keys.length)));
      },
      (err: unknown) => {
        for (const batch of group) batch.reject(err);
      },
    );
  }
}
