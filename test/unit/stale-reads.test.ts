import { describe, expect, it } from 'vitest';
import { nines, staleReads } from '../../bench/lib/stale-reads';

const read = (key: string, invokedAt: number, version: number | undefined) => ({ key, invokedAt, completedAt: invokedAt + 1, version });
const write = (key: string, completedAt: number, version: number) => ({ key, completedAt, version });

describe('staleReads', () => {
  it('finds a read sent after a newer version was acknowledged', () => {
    const stale = read('1', 20, 1);
    expect(staleReads([stale, read('1', 20, 2)], [write('1', 10, 2)])).toEqual([stale]);
  });

  it('lets a read that overlaps the write return either version', () => {
    expect(staleReads([read('1', 10, 1), read('1', 5, 1)], [write('1', 10, 2)])).toEqual([]);
  });

  it('judges by the newest version acknowledged before the read, whatever order the answers came in', () => {
    const stale = read('1', 30, 2);
    expect(staleReads([stale], [write('1', 25, 2), write('1', 20, 3)])).toEqual([stale]);
  });

  it('keeps keys apart, and counts a missing row as version 0', () => {
    const gone = read('2', 30, undefined);
    expect(staleReads([read('1', 30, 1), gone], [write('2', 10, 1)])).toEqual([gone]);
  });
});

describe('nines', () => {
  it('is -log10 of the share, or log10 of the total when none is bad', () => {
    expect(nines(1, 1000)).toBeCloseTo(3);
    expect(nines(0, 1000)).toBeCloseTo(3);
    expect(nines(0, 0)).toBe(0);
  });
});
