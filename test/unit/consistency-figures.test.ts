import { describe, expect, it } from 'vitest';
import { ConsistencyFigures } from '../../src/inspector/consistency-figures';

describe('ConsistencyFigures', () => {
  it('has no nines before anything was checked, and infinite nines while nothing was inconsistent', () => {
    const f = new ConsistencyFigures(() => 0);
    expect(f.snapshot().total.nines).toBeNull();
    f.count('consistent');
    f.count('in_flight');
    f.count('recorded');
    expect(f.snapshot().total).toMatchObject({ checked: 3, nines: Infinity });
  });

  it('counts nines as -log10 of the inconsistent share', () => {
    const f = new ConsistencyFigures(() => 0);
    for (let i = 0; i < 999; i++) f.count('consistent');
    f.count('inconsistent');
    expect(f.snapshot().total.nines).toBeCloseTo(3);
  });

  it('keeps the last hour and the last day apart, and forgets what is older than a day', () => {
    let now = 0;
    const f = new ConsistencyFigures(() => now);
    f.count('inconsistent');
    now = 2 * 3_600_000;
    f.count('consistent');
    expect(f.snapshot().lastHour).toMatchObject({ checked: 1, inconsistent: 0 });
    expect(f.snapshot().lastDay).toMatchObject({ checked: 2, inconsistent: 1 });
    now = 25 * 3_600_000;
    expect(f.snapshot().lastDay).toMatchObject({ checked: 1, inconsistent: 0 });
    expect(f.snapshot().total).toMatchObject({ checked: 2, inconsistent: 1 });
  });

  it('reuses a minute bucket a day later without adding the old counts', () => {
    let now = 0;
    const f = new ConsistencyFigures(() => now);
    f.count('inconsistent');
    now = 24 * 3_600_000;
    f.count('consistent');
    expect(f.snapshot().lastHour).toMatchObject({ checked: 1, inconsistent: 0 });
  });
});
