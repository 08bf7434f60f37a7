import { decodeEnvelope } from '../../src/cache/envelope';

/**
 * A Jepsen-style history of operations on keyed rows, and a pure checker of what a
 * client may observe. Every operation carries the test process's `performance.now()`
 * when it was invoked and when it completed; the checker judges only by those times
 * and by what each operation returned, never by what the service says it did.
 *
 * Rows are versioned (every committed write makes the next version) and every write
 * sets a name no other write uses, so a (version, name) pair names the one commit
 * that produced it.
 */

/** What one operation has in common with every other. */
export interface OperationBase {
  /** Who ran it: a worker runs one operation at a time, so its operations never overlap. */
  client: string;
  /** Which instance served it. */
  instance: string;
  key: string;
  invokedAt: number;
  completedAt: number;
}

/**
 * - ok: acknowledged, with the version and name the mutation answered;
 * - error: known not to have happened (the row was already gone: NOT_FOUND);
 * - unknown: it failed, but may have committed all the same (a timeout, a 500).
 */
export type WriteOutcome = { type: 'ok'; version: number; name: string } | { type: 'error'; error: string } | { type: 'unknown'; error: string };

/** A create or an update that sets `name`. */
export interface WriteOperation extends OperationBase {
  kind: 'write';
  name: string;
  outcome: WriteOutcome;
}

/** ok: acknowledged; `deleted: false` says there was no row left to delete, which is as good an acknowledgement that it is gone. */
export type DeleteOutcome = { type: 'ok'; deleted: boolean } | { type: 'unknown'; error: string };

export interface DeleteOperation extends OperationBase {
  kind: 'delete';
  outcome: DeleteOutcome;
}

export type ReadResult = { type: 'row'; version: number; name: string } | { type: 'none' } | { type: 'error'; error: string };

export interface ReadOperation extends OperationBase {
  kind: 'read';
  result: ReadResult;
}

export type Operation = WriteOperation | DeleteOperation | ReadOperation;

/** A key after quiescence: its row in MySQL (null: none) and the raw value Redis holds (null: absent). */
export interface FinalKeyState {
  key: string;
  mysql: { version: number; name: string } | null;
  cache: string | null;
}

export interface HistoryViolations {
  /** A read older than a write (or the row's creation) acknowledged before it began. */
  staleReads: string[];
  /** A client read an older version of a key, or the row back, after it had read a newer one, or the row gone. */
  nonMonotonicReads: string[];
  /** A (version, name) pair no write produced, or not the one its write was acknowledged with. */
  phantomValues: string[];
  /** A row read after a delete of it was acknowledged before the read began. */
  deletedReads: string[];
  /** A key whose cache entry, after quiescence, would answer something other than MySQL's row. */
  drift: string[];
}

export const VIOLATION_KINDS: ReadonlyArray<keyof HistoryViolations> = ['staleReads', 'nonMonotonicReads', 'phantomValues', 'deletedReads', 'drift'];

export interface CheckOptions {
  /** Times are printed relative to this (the run's start), in ms. */
  origin?: number;
}

export function checkHistory(operations: readonly Operation[], finalState: readonly FinalKeyState[] = [], options: CheckOptions = {}): HistoryViolations {
  const say = storyTeller(options.origin ?? 0);
  const byKey = groupByKey(operations);
  const violations: HistoryViolations = { staleReads: [], nonMonotonicReads: [], phantomValues: [], deletedReads: [], drift: [] };
  for (const ops of byKey.values()) {
    violations.staleReads.push(...staleReads(ops, say));
    violations.deletedReads.push(...deletedReads(ops, say));
    violations.phantomValues.push(...phantomValues(ops, say));
  }
  violations.nonMonotonicReads.push(...nonMonotonicReads(operations, say));
  violations.drift.push(...drift(finalState));
  return violations;
}

export function countViolations(v: HistoryViolations): number {
  return VIOLATION_KINDS.reduce((n, kind) => n + v[kind].length, 0);
}

/** `{ staleReads: 3, … }`, and the first few stories of each kind: for a failure message or a log. */
export function describeViolations(v: HistoryViolations, examples = 5): string {
  const counts = VIOLATION_KINDS.map((kind) => `${kind} ${v[kind].length}`).join(', ');
  const stories = VIOLATION_KINDS.flatMap((kind) => v[kind].slice(0, examples).map((story) => `  ${kind}: ${story}`));
  return [counts, ...stories].join('\n');
}

/** How much the history did: so that a run that did nothing cannot pass. */
export function summarizeHistory(operations: readonly Operation[]): { acknowledgedWrites: number; unknownWrites: number; acknowledgedDeletes: number; reads: number; readsOfRows: number; failedReads: number } {
  const writes = operations.filter((o): o is WriteOperation => o.kind === 'write');
  const reads = operations.filter((o): o is ReadOperation => o.kind === 'read');
  return {
    acknowledgedWrites: writes.filter((w) => w.outcome.type === 'ok').length,
    unknownWrites: writes.filter((w) => w.outcome.type === 'unknown').length,
    acknowledgedDeletes: operations.filter((o) => o.kind === 'delete' && o.outcome.type === 'ok' && o.outcome.deleted).length,
    reads: reads.length,
    readsOfRows: reads.filter((r) => r.result.type === 'row').length,
    failedReads: reads.filter((r) => r.result.type === 'error').length,
  };
}

interface KeyOperations {
  writes: WriteOperation[];
  deletes: DeleteOperation[];
  reads: ReadOperation[];
}

function groupByKey(operations: readonly Operation[]): Map<string, KeyOperations> {
  const byKey = new Map<string, KeyOperations>();
  for (const op of operations) {
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = { writes: [], deletes: [], reads: [] }));
    if (op.kind === 'write') ops.writes.push(op);
    else if (op.kind === 'delete') ops.deletes.push(op);
    else ops.reads.push(op);
  }
  return byKey;
}

type Acknowledged = WriteOperation & { outcome: { type: 'ok'; version: number; name: string } };

const acknowledged = (w: WriteOperation): w is Acknowledged => w.outcome.type === 'ok';
const rowOf = (r: ReadOperation) => (r.result.type === 'row' ? r.result : undefined);

/**
 * A read must see every write acknowledged before it began: its version or a newer
 * one. A read that finds no row must come after a delete had at least begun, since
 * every row here was created, and acknowledged, before anyone read it.
 */
function staleReads({ writes, deletes, reads }: KeyOperations, say: StoryTeller): string[] {
  const acked = writes.filter(acknowledged);
  const found: string[] = [];
  for (const r of reads) {
    if (r.result.type === 'error') continue;
    // The newest version acknowledged before the read began: what it must not go below.
    const due = newest(acked.filter((w) => w.completedAt < r.invokedAt));
    if (!due) continue;
    const row = rowOf(r);
    if (row && row.version < due.outcome.version) {
      found.push(`${say.read(r)}, older than ${say.write(due)}, ${say.gap(due.completedAt, r.invokedAt)} before the read began`);
    } else if (!row && !deletes.some((d) => d.invokedAt < r.completedAt)) {
      found.push(`${say.read(r)}, yet no delete of it had begun and ${say.write(due)}`);
    }
  }
  return found;
}

/** A row read after a delete of it was acknowledged, before the read began. */
function deletedReads({ deletes, reads }: KeyOperations, say: StoryTeller): string[] {
  const acked = deletes.filter((d) => d.outcome.type === 'ok').sort((a, b) => a.completedAt - b.completedAt);
  const found: string[] = [];
  for (const r of reads) {
    if (r.result.type !== 'row') continue;
    const gone = acked.find((d) => d.completedAt < r.invokedAt);
    if (gone) found.push(`${say.read(r)}, but ${say.delete(gone)}, ${say.gap(gone.completedAt, r.invokedAt)} before the read began`);
  }
  return found;
}

/**
 * Every (version, name) a read returns must be a write's: a name some write set,
 * invoked before the read completed, and the version that write was acknowledged
 * with. A write whose outcome is unknown may have made any version, but not one an
 * acknowledged write of another name made; and all reads must agree on it.
 */
function phantomValues({ writes, reads }: KeyOperations, say: StoryTeller): string[] {
  const found: string[] = [];
  const byName = new Map<string, WriteOperation[]>();
  for (const w of writes) byName.set(w.name, [...(byName.get(w.name) ?? []), w]);
  const ackedByVersion = new Map<number, Acknowledged>();
  for (const w of writes.filter(acknowledged)) {
    const other = ackedByVersion.get(w.outcome.version);
    // Two commits of one key cannot make the same version.
    if (other) found.push(`${say.write(w)}, and so was ${say.write(other)}`);
    else ackedByVersion.set(w.outcome.version, w);
  }
  // What reads saw of writes whose outcome is unknown: name → version, version → name.
  const seenVersionOf = new Map<string, ReadOperation>();
  const seenNameAt = new Map<number, ReadOperation>();
  for (const r of reads) {
    const row = rowOf(r);
    if (!row) continue;
    const candidates = (byName.get(row.name) ?? []).filter((w) => w.invokedAt < r.completedAt);
    const ack = candidates.find(acknowledged);
    const claimed = ackedByVersion.get(row.version);
    if (candidates.length === 0) {
      const later = byName.has(row.name) ? ' before a write of it began' : '';
      found.push(`${say.read(r)}: no write had set that name${later}`);
    } else if (ack) {
      if (ack.outcome.version !== row.version) found.push(`${say.read(r)}, but ${say.write(ack)}`);
    } else if (candidates.every((w) => w.outcome.type === 'error')) {
      found.push(`${say.read(r)}: the only write of that name failed (${(candidates[0]!.outcome as { error: string }).error})`);
    } else if (claimed) {
      found.push(`${say.read(r)}, but ${say.write(claimed)}`);
    } else {
      const before = seenVersionOf.get(row.name);
      const other = seenNameAt.get(row.version);
      if (before && rowOf(before)!.version !== row.version) found.push(`${say.read(r)}, but ${say.read(before)}`);
      else if (other && rowOf(other)!.name !== row.name) found.push(`${say.read(r)}, but ${say.read(other)}`);
      seenVersionOf.set(row.name, before ?? r);
      seenNameAt.set(row.version, other ?? r);
    }
  }
  return found;
}

/**
 * Per client and key: once a read completed, no later read may return an older
 * version, nor a row at all after the client read the row gone (rows here are never
 * created again). Each read is compared with the newest the client had seen when it
 * began, so one step back is reported once per read that takes it.
 */
function nonMonotonicReads(operations: readonly Operation[], say: StoryTeller): string[] {
  const found: string[] = [];
  const byClientKey = new Map<string, ReadOperation[]>();
  for (const op of operations) {
    if (op.kind !== 'read' || op.result.type === 'error') continue;
    const id = `${op.client}\u0000${op.key}`;
    byClientKey.set(id, [...(byClientKey.get(id) ?? []), op]);
  }
  for (const reads of byClientKey.values()) {
    const byInvoke = [...reads].sort((a, b) => a.invokedAt - b.invokedAt);
    const byCompletion = [...reads].sort((a, b) => a.completedAt - b.completedAt);
    let next = 0;
    let newestRow: ReadOperation | undefined;
    let sawGone: ReadOperation | undefined;
    for (const r of byInvoke) {
      // Take in everything this client had seen of the key by the time `r` began.
      for (; next < byCompletion.length && byCompletion[next]!.completedAt < r.invokedAt; next++) {
        const seen = byCompletion[next]!;
        const row = rowOf(seen);
        if (!row) sawGone ??= seen;
        else if (!newestRow || row.version > rowOf(newestRow)!.version) newestRow = seen;
      }
      const row = rowOf(r);
      if (!row) continue;
      if (sawGone) found.push(`${say.read(r)}, after ${say.read(sawGone)}`);
      else if (newestRow && row.version < rowOf(newestRow)!.version) found.push(`${say.read(r)}, after ${say.read(newestRow)}`);
    }
  }
  return found;
}

/**
 * After quiescence a key's cache entry may be absent, a miss (an invalidation mark),
 * or exactly MySQL's: the row at MySQL's version and name, or, when MySQL has none,
 * a tombstone or a negative entry. Anything else would be served as if it were true.
 */
function drift(finalState: readonly FinalKeyState[]): string[] {
  const found: string[] = [];
  for (const { key, mysql, cache } of finalState) {
    if (cache === null) continue;
    const envelope = decodeEnvelope(cache);
    const inMysql = mysql ? `v${mysql.version} ${JSON.stringify(mysql.name)}` : 'no row';
    if (!envelope) {
      found.push(`${key}: the cache holds ${JSON.stringify(cache.slice(0, 80))}, not an envelope; MySQL has ${inMysql}`);
    } else if (envelope.kind === 'row') {
      const name = (envelope.row as { name?: unknown }).name;
      if (!mysql || mysql.version !== envelope.version || mysql.name !== name) {
        found.push(`${key}: the cache holds v${envelope.version} ${JSON.stringify(name)}; MySQL has ${inMysql}`);
      }
    } else if ((envelope.kind === 'deleted' || envelope.kind === 'missing') && mysql) {
      found.push(`${key}: the cache holds a ${envelope.kind === 'deleted' ? 'tombstone' : 'negative entry'} (v${envelope.version}); MySQL has ${inMysql}`);
    }
  }
  return found;
}

function newest(writes: readonly Acknowledged[]): Acknowledged | undefined {
  return writes.reduce<Acknowledged | undefined>((best, w) => (!best || w.outcome.version > best.outcome.version ? w : best), undefined);
}

type StoryTeller = ReturnType<typeof storyTeller>;

/** One way of telling each operation, so that every violation reads the same. */
function storyTeller(origin: number) {
  const at = (t: number) => `${(t - origin).toFixed(1)} ms`;
  const span = (op: OperationBase) => `[${at(op.invokedAt)} → ${at(op.completedAt)}]`;
  const result = (r: ReadResult) => (r.type === 'row' ? `v${r.version} ${JSON.stringify(r.name)}` : r.type === 'none' ? 'no row' : `an error`);
  return {
    read: (r: ReadOperation) => `${r.client}'s read of ${r.key} on ${r.instance} ${span(r)} returned ${result(r.result)}`,
    write: (w: WriteOperation) => {
      const what = w.outcome.type === 'ok' ? `v${w.outcome.version} ${JSON.stringify(w.outcome.name)} was acknowledged` : `${JSON.stringify(w.name)} was written (${w.outcome.type})`;
      return `${what} by ${w.instance} to ${w.client} ${span(w)}`;
    },
    delete: (d: DeleteOperation) => `its delete was acknowledged by ${d.instance} to ${d.client} ${span(d)}`,
    gap: (from: number, to: number) => `${(to - from).toFixed(1)} ms`,
  };
}
