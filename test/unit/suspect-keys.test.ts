import { describe, expect, it } from 'vitest';
import type { FailureEvent } from '../../src/failures/failure-event';
import { SuspectKeys } from '../../src/failures/suspect-keys';

let seq = 0;
function event(kind: FailureEvent['kind'], failureId: string, version: number, entityId = 1): FailureEvent {
  return {
    id: String(++seq), failureId, kind, entity: 'user', entityId, operation: 'update', version,
    error: 'timeout', occurredAt: new Date(), instance: 'a', repairedAt: null, repairedBy: null,
  };
}
const row = (version: number) => ({ version, row: true });
const tombstone = (version: number) => ({ version, row: false });

describe('SuspectKeys', () => {
  it('distrusts a cache entry older than the newest failed version of its key', () => {
    const s = new SuspectKeys();
    s.apply(event('failed', 'f1', 5));
    expect(s.trusts('user', 1, row(4))).toBe(false);
    expect(s.trusts('user', 1, undefined)).toBe(false);
    expect(s.trusts('user', 1, row(5))).toBe(true); // the timed-out write landed after all
    expect(s.trusts('user', 2, row(1))).toBe(true); // another key
  });

  it('keeps a newer failure in force when an older one is repaired', () => {
    const s = new SuspectKeys();
    s.apply(event('failed', 'f1', 5));
    s.apply(event('failed', 'f2', 6));
    s.apply(event('repaired', 'f1', 5));
    expect(s.trusts('user', 1, row(5))).toBe(false);
    expect(s.hasUnrepaired('user', 1)).toBe(true);
  });

  it('keeps the floor a read from MySQL saw after every failure is repaired, until the cache reaches it', () => {
    const s = new SuspectKeys();
    s.apply(event('failed', 'f1', 5));
    s.sawInMySql('user', 1, 7); // a newer commit, its cache write still in flight
    s.apply(event('repaired', 'f1', 5)); // the repair had read version 5
    expect(s.hasUnrepaired('user', 1)).toBe(false);
    expect(s.has('user', 1)).toBe(true);
    expect(s.trusts('user', 1, row(5))).toBe(false);
    expect(s.trusts('user', 1, row(7))).toBe(true);
    s.settle('user', 1);
    expect(s.has('user', 1)).toBe(false);
  });

  it('never trusts a cached row after a read from MySQL found the row gone', () => {
    const s = new SuspectKeys();
    s.apply(event('failed', 'f1', 5));
    s.sawInMySql('user', 1, undefined);
    expect(s.trusts('user', 1, row(9))).toBe(false);
    expect(s.trusts('user', 1, tombstone(6))).toBe(true);
  });

  it('does not settle a key while one of its failures is open', () => {
    const s = new SuspectKeys();
    s.apply(event('failed', 'f1', 5));
    s.settle('user', 1);
    expect(s.has('user', 1)).toBe(true);
  });

  it('ignores what reads of keys that are not suspect saw', () => {
    const s = new SuspectKeys();
    s.sawInMySql('user', 1, 3);
    expect(s.size).toBe(0);
  });

  it('lets go of the oldest repaired keys beyond its limit, never of a key with an open failure', () => {
    const s = new SuspectKeys({ settledLimit: 2 });
    s.apply(event('failed', 'open', 1, 100));
    for (let id = 1; id <= 3; id++) {
      s.apply(event('failed', `f${id}`, 1, id));
      s.apply(event('repaired', `f${id}`, 1, id));
    }
    expect([1, 2, 3, 100].map((id) => s.has('user', id))).toEqual([false, true, true, true]);
  });

  it('makes a key suspect again when a new failure follows its repair', () => {
    const s = new SuspectKeys({ settledLimit: 1 });
    s.apply(event('failed', 'f1', 2));
    s.apply(event('repaired', 'f1', 2));
    s.apply(event('failed', 'f2', 3));
    s.apply(event('failed', 'g1', 1, 2));
    s.apply(event('repaired', 'g1', 1, 2));
    s.apply(event('failed', 'h1', 1, 3));
    s.apply(event('repaired', 'h1', 1, 3)); // two settled keys now: the oldest (2) goes, key 1 is open
    expect(s.hasUnrepaired('user', 1)).toBe(true);
    expect(s.trusts('user', 1, row(2))).toBe(false);
  });
});
