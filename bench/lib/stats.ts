/** Small numeric helpers shared by the scenarios. */

/** The q-quantile of `samples` (nearest rank); NaN for none. */
export function quantile(samples: ArrayLike<number>, q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(samples: ArrayLike<number>): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds for display and JSON: 2 decimals below 10, 1 below 100, none above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const digits = Math.abs(x) < 10 ? 2 : Math.abs(x) < 100 ? 1 : 0;
  return Number(x.toFixed(digits));
}

export const fmt = (x: number): string => (Number.isFinite(x) ? round(x).toLocaleString('en-US') : '–');
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
