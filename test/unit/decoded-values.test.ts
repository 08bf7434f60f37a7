import { describe, expect, it } from 'vitest';
import { DecodedValues } from '../../src/writethrough/decoded-values';

function counting() {
  const calls: string[] = [];
  return { calls, decode: (raw: string) => (calls.push(raw), { parsed: JSON.parse(raw) as unknown }) };
}

describe('DecodedValues', () => {
  it('decodes a value once while the same bytes keep coming back, even as a different string object', () => {
    const memo = new DecodedValues<{ parsed: unknown }>(10);
    const { calls, decode } = counting();
    const first = memo.get(1, '{"v":1}', decode);
    const again = memo.get(1, ['{"v":', '1}'].join(''), decode);
    expect(again).toBe(first);
    expect(calls).toEqual(['{"v":1}']);
  });

  it('decodes anew when the bytes for an id change, and keeps the new decoding', () => {
    const memo = new DecodedValues<{ parsed: unknown }>(10);
    const { calls, decode } = counting();
    memo.get(1, '{"v":1}', decode);
    expect(memo.get(1, '{"v":2}', decode).parsed).toEqual({ v: 2 });
    expect(memo.get(1, '{"v":2}', decode).parsed).toEqual({ v: 2 });
    expect(calls).toEqual(['{"v":1}', '{"v":2}']);
  });

  it('never answers one id with another id’s decoding of the same bytes', () => {
    const memo = new DecodedValues<{ parsed: unknown }>(10);
    const { calls, decode } = counting();
    const a = memo.get(1, '{"v":1}', decode);
    const b = memo.get(2, '{"v":1}', decode);
    expect(b).not.toBe(a);
    expect(calls).toHaveLength(2);
  });

  it('remembers at most its capacity, forgetting the oldest id first', () => {
    const memo = new DecodedValues<{ parsed: unknown }>(3);
    const { calls, decode } = counting();
    for (const id of [1, 2, 3, 4]) memo.get(id, `{"id":${id}}`, decode);
    expect(memo.size).toBe(3);
    memo.get(4, '{"id":4}', decode); // remembered
    memo.get(1, '{"id":1}', decode); // forgotten: decoded again
    expect(calls).toEqual(['{"id":1}', '{"id":2}', '{"id":3}', '{"id":4}', '{"id":1}']);
    expect(memo.size).toBe(3);
  });

  it('remembers nothing with a capacity of 0', () => {
    const memo = new DecodedValues<{ parsed: unknown }>(0);
    const { calls, decode } = counting();
    memo.get(1, '{"v":1}', decode);
    memo.get(1, '{"v":1}', decode);
    expect(calls).toHaveLength(2);
    expect(memo.size).toBe(0);
  });
});
