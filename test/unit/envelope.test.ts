import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeInvalidation, encodeRow, encodeTombstone, MISSING } from '../../src/cache/envelope';
import { jitteredTtlMs } from '../../src/cache/ttl';

describe('envelopes', () => {
  it('put the version first, where the compare-and-set script looks for it', () => {
    expect(encodeRow(12, '{"id":1}')).toMatch(/^\{"v":12,/);
    expect(encodeTombstone(3)).toMatch(/^\{"v":3,/);
    expect(MISSING).toMatch(/^\{"v":0,/);
  });

  it('rank an invalidation mark half a version below the write that made it', () => {
    expect(encodeInvalidation(7)).toBe('{"v":6.5,"invalidated":true}');
    expect(decodeEnvelope(encodeInvalidation(7))).toEqual({ kind: 'invalidated', version: 6.5 });
    expect(decodeEnvelope('{"v":6.5,"row":{}}')).toBeUndefined(); // only a mark may be fractional
  });

  it('decode back to what was encoded', () => {
    expect(decodeEnvelope(encodeRow(2, '{"id":1,"name":"A"}'))).toEqual({ kind: 'row', version: 2, row: { id: 1, name: 'A' } });
    expect(decodeEnvelope(encodeTombstone(4))).toEqual({ kind: 'deleted', version: 4 });
    expect(decodeEnvelope(MISSING)).toEqual({ kind: 'missing', version: 0 });
  });

  it.each(['', 'garbage', '42', 'null', '{"v":"1","row":{}}', '{"v":-1,"row":{}}', '{"v":1}', '{"row":{}}'])(
    'treat %j as no envelope at all',
    (raw) => {
      expect(decodeEnvelope(raw)).toBeUndefined();
    },
  );
});

describe('jitteredTtlMs', () => {
  it('adds between none and all of the jitter fraction', () => {
    expect(jitteredTtlMs(100, 0.1, () => 0)).toBe(100_000);
    expect(jitteredTtlMs(100, 0.1, () => 0.999999)).toBe(110_000);
    expect(jitteredTtlMs(100, 0, () => 0.5)).toBe(100_000);
  });
});
