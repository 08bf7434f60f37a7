import { describe, expect, it } from 'vitest';
import { encodeInvalidation, encodeRow, encodeTombstone, MISSING } from '../../src/cache/envelope';
import {
  checkHistory,
  countViolations,
  describeViolations,
  type DeleteOperation,
  type FinalKeyState,
  type Operation,
  type ReadOperation,
  type ReadResult,
  type WriteOperation,
  type WriteOutcome,
} from '../helpers/history';

/** Crafted histories of one key, `user:1`, created as v1 "created" before anything else. */
const KEY = 'user:1';
type Span = [invokedAt: number, completedAt: number];
type Who = { client?: string; instance?: string; key?: string };

function write(name: string, outcome: number | WriteOutcome, [invokedAt, completedAt]: Span, who: Who = {}): WriteOperation {
  const o: WriteOutcome = typeof outcome === 'number' ? { type: 'ok', version: outcome, name } : outcome;
  return { kind: 'write', client: who.client ?? 'writer', instance: who.instance ?? 'a', key: who.key ?? KEY, name, outcome: o, invokedAt, completedAt };
}
function read(result: number | [number, string] | null, [invokedAt, completedAt]: Span, who: Who = {}): ReadOperation {
  const r: ReadResult =
    result === null ? { type: 'none' } : typeof result === 'number' ? { type: 'row', version: result, name: result === 1 ? 'created' : `n${result}` } : { type: 'row', version: result[0], name: result[1] };
  return { kind: 'read', client: who.client ?? 'reader', instance: who.instance ?? 'b', key: who.key ?? KEY, result: r, invokedAt, completedAt };
}
function del(acknowledged: boolean, [invokedAt, completedAt]: Span): DeleteOperation {
  return { kind: 'delete', client: 'deleter', instance: 'c', key: KEY, outcome: acknowledged ? { type: 'ok', deleted: true } : { type: 'unknown', error: 'timed out' }, invokedAt, completedAt };
}
const unknown: WriteOutcome = { type: 'unknown', error: 'timed out' };
const created = write('created', 1, [0, 1]);

/** A history of `user:1` that starts with its creation. */
const check = (...ops: Operation[]) => checkHistory([created, ...ops]);

describe('the history checker', () => {
  describe('stale reads', () => {
    it('reports a read that began after a write was acknowledged and returned the version before it', () => {
      const v = check(write('n2', 2, [10, 20], { instance: 'c' }), read(1, [25, 30]));
      expect(v.staleReads).toHaveLength(1);
      expect(v.staleReads[0]).toMatch(/read of user:1 on b \[25.0 ms → 30.0 ms\] returned v1 "created", older than v2 "n2" was acknowledged by c .*5.0 ms before the read began/);
    });

    it('allows either version to a read that overlaps the write', () => {
      const v = check(write('n2', 2, [10, 20]), read(1, [15, 30]), read(2, [12, 18]), read(1, [5, 11]));
      expect(countViolations(v)).toBe(0);
    });

    it('allows a newer version, even one whose write has not been acknowledged yet', () => {
      const v = check(write('n2', 2, [10, 20]), write('n3', 3, [21, 40]), read(3, [25, 30]), read([4, 'maybe'], [45, 50]), write('maybe', unknown, [41, 44]));
      expect(countViolations(v)).toBe(0);
    });

    it('reports a read that found no row when no delete of it had begun', () => {
      const v = check(read(null, [5, 6]));
      expect(v.staleReads).toEqual([expect.stringMatching(/returned no row, yet no delete of it had begun and v1 "created" was acknowledged/)]);
    });

    it('allows no row once a delete has begun, acknowledged or not', () => {
      expect(countViolations(check(del(false, [4, 100]), read(null, [5, 6])))).toBe(0);
      expect(countViolations(check(read(null, [5, 8]), del(true, [7, 9])))).toBe(0);
    });

    it('ignores reads that failed', () => {
      const failed: ReadOperation = { ...read(1, [25, 30]), result: { type: 'error', error: 'MySQL is down' } };
      expect(countViolations(check(write('n2', 2, [10, 20]), failed))).toBe(0);
    });
  });

  describe('reads of deleted rows', () => {
    it('reports a row read after its delete was acknowledged', () => {
      const v = check(del(true, [10, 20]), read(1, [20.5, 22]));
      expect(v.deletedReads).toEqual([expect.stringMatching(/returned v1 "created", but its delete was acknowledged by c to deleter \[10.0 ms → 20.0 ms\], 0.5 ms before the read began/)]);
    });

    it('allows the row to a read that overlaps the delete, and to any read of a delete whose outcome is unknown', () => {
      expect(countViolations(check(del(true, [10, 20]), read(1, [15, 25])))).toBe(0);
      expect(countViolations(check(del(false, [10, 20]), read(1, [25, 30])))).toBe(0);
    });
  });

  describe('non-monotonic reads', () => {
    it("reports a client's read of an older version than one it had read before", () => {
      const v = check(write('n2', 2, [10, 100]), read(2, [20, 30], { client: 'w1' }), read(1, [31, 40], { client: 'w1', instance: 'c' }));
      expect(v.nonMonotonicReads).toEqual([expect.stringMatching(/w1's read of user:1 on c \[31.0 ms → 40.0 ms\] returned v1 "created", after w1's read of user:1 on b \[20.0 ms → 30.0 ms\] returned v2/)]);
      expect(v.staleReads).toEqual([]); // the write was still in flight: only the client's own order was broken
    });

    it('reports a row read back after the client read it gone', () => {
      const v = check(del(false, [10, 100]), read(null, [20, 30], { client: 'w1' }), read(1, [31, 40], { client: 'w1' }));
      expect(v.nonMonotonicReads).toEqual([expect.stringMatching(/returned v1 "created", after w1's read .* returned no row/)]);
    });

    it('compares only reads of one client, of one key, that completed before the later one began', () => {
      const v = check(
        write('n2', 2, [10, 100]),
        read(2, [20, 30], { client: 'w1' }),
        read(1, [31, 40], { client: 'w2' }), // another client
        read(1, [25, 35], { client: 'w1' }), // overlaps w1's read of v2
        read([1, 'other'], [31, 40], { client: 'w1', key: 'user:2' }), // another key
        write('other', 1, [0, 1], { key: 'user:2' }),
      );
      expect(countViolations(v)).toBe(0);
    });
  });

  describe('phantom values', () => {
    it('reports a name no write set', () => {
      expect(check(read([2, 'nobody'], [5, 6])).phantomValues).toEqual([expect.stringMatching(/returned v2 "nobody": no write had set that name$/)]);
    });

    it('reports a name whose write began only after the read completed', () => {
      expect(check(read(2, [5, 6]), write('n2', 2, [7, 8])).phantomValues).toEqual([expect.stringMatching(/no write had set that name before a write of it began/)]);
    });

    it('reports an acknowledged name with another version than its write was acknowledged with', () => {
      expect(check(write('n2', 2, [5, 6]), read([3, 'n2'], [5.5, 7])).phantomValues).toEqual([expect.stringMatching(/returned v3 "n2", but v2 "n2" was acknowledged/)]);
    });

    it("reports a name of a write known to have failed", () => {
      expect(check(write('n2', { type: 'error', error: 'NOT_FOUND' }, [5, 6]), read(2, [7, 8])).phantomValues).toEqual([expect.stringMatching(/the only write of that name failed \(NOT_FOUND\)/)]);
    });

    it('allows a write of unknown outcome any version no acknowledged write claimed, the same in every read', () => {
      const ok = check(write('n2', 2, [5, 6]), write('lost', unknown, [7, 9]), read([3, 'lost'], [8, 10]), read([3, 'lost'], [11, 12], { client: 'x' }));
      expect(countViolations(ok)).toBe(0);

      const claimed = check(write('n2', 2, [5, 6]), write('lost', unknown, [3, 9]), read([2, 'lost'], [8, 10]));
      expect(claimed.phantomValues).toEqual([expect.stringMatching(/returned v2 "lost", but v2 "n2" was acknowledged/)]);

      const twoVersions = check(write('lost', unknown, [3, 9]), read([2, 'lost'], [8, 10]), read([3, 'lost'], [11, 12]));
      expect(twoVersions.phantomValues).toEqual([expect.stringMatching(/returned v3 "lost", but .* returned v2 "lost"/)]);

      const twoNames = check(write('lost', unknown, [3, 9]), write('also lost', unknown, [3, 9]), read([2, 'lost'], [8, 10]), read([2, 'also lost'], [11, 12]));
      expect(twoNames.phantomValues).toEqual([expect.stringMatching(/returned v2 "also lost", but .* returned v2 "lost"/)]);
    });

    it('reports two acknowledged writes of one version', () => {
      expect(check(write('n2', 2, [5, 6]), write('twin', 2, [5, 7])).phantomValues).toHaveLength(1);
    });
  });

  describe('drift after quiescence', () => {
    const state = (cache: string | null, mysql: FinalKeyState['mysql']): FinalKeyState => ({ key: KEY, mysql, cache });
    const row = (version: number, name: string) => encodeRow(version, JSON.stringify({ id: 1, name, version }));

    it("accepts MySQL's row, an absent key, a miss, and a tombstone or a negative entry of a deleted row", () => {
      const fine = [
        state(row(3, 'n3'), { version: 3, name: 'n3' }),
        state(null, { version: 3, name: 'n3' }),
        state(encodeInvalidation(4), { version: 4, name: 'n4' }),
        state(encodeTombstone(4), null),
        state(MISSING, null),
        state(null, null),
      ];
      expect(checkHistory([], fine).drift).toEqual([]);
    });

    it('reports an older or different row, a row of a deleted row, and "no row" for a row MySQL has', () => {
      const drift = checkHistory(
        [],
        [
          state(row(2, 'n2'), { version: 3, name: 'n3' }),
          state(row(3, 'other'), { version: 3, name: 'n3' }),
          state(row(3, 'n3'), null),
          state(encodeTombstone(4), { version: 3, name: 'n3' }),
          state(MISSING, { version: 3, name: 'n3' }),
          state('garbage', null),
        ],
      ).drift;
      expect(drift).toEqual([
        'user:1: the cache holds v2 "n2"; MySQL has v3 "n3"',
        'user:1: the cache holds v3 "other"; MySQL has v3 "n3"',
        'user:1: the cache holds v3 "n3"; MySQL has no row',
        'user:1: the cache holds a tombstone (v4); MySQL has v3 "n3"',
        'user:1: the cache holds a negative entry (v0); MySQL has v3 "n3"',
        'user:1: the cache holds "garbage", not an envelope; MySQL has no row',
      ]);
    });
  });

  it('finds nothing in a busy history of overlapping operations on several instances', () => {
    const ops: Operation[] = [created];
    // Writers overlap each other and the readers; each reader reads a version that was
    // committed by its completion and no older than what was acknowledged before it began.
    for (let v = 2; v <= 50; v++) ops.push(write(`n${v}`, v, [v * 10, v * 10 + 15], { client: `w${v % 3}`, instance: 'abc'[v % 3]! }));
    for (let t = 25; t < 500; t += 3) {
      const acked = Math.max(1, Math.floor((t - 15) / 10)); // newest write completed before t
      ops.push(read(Math.min(50, acked + (t % 2)), [t, t + 2], { client: `r${t % 4}`, instance: 'abc'[t % 3]! }));
    }
    const v = checkHistory(ops);
    expect(countViolations(v), describeViolations(v)).toBe(0);
  });

  it('says how many of each kind it found, with examples', () => {
    const v = check(write('n2', 2, [10, 20]), read(1, [25, 30]), read(1, [26, 31]));
    expect(describeViolations(v, 1).split('\n')).toEqual([
      'staleReads 2, nonMonotonicReads 0, phantomValues 0, deletedReads 0, drift 0',
      expect.stringMatching(/^ {2}staleReads: reader's read of user:1 on b \[25.0 ms/),
    ]);
  });
});
