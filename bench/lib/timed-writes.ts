import { QUERIES, gql } from './graphql';
import type { BenchProcess } from './processes';
import { quantile } from './stats';

/** Timed requests' quantiles. */
export interface Sampled {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** A service written to, on ids of its own, under a variant's name. */
export interface Writer {
  name: string;
  service: BenchProcess;
  url: string;
  ids: number[];
  sent: number;
}

/** `n` updateUser requests, `concurrency` in flight, each timed from send to answer. */
export async function timeWrites(token: string, w: Writer, n: number, concurrency: number): Promise<number[]> {
  const ms: number[] = [];
  let left = n;
  const client = async () => {
    while (left-- > 0) {
      const i = w.sent++;
      const id = String(w.ids[i % w.ids.length]);
      const t = performance.now();
      await gql(w.url, QUERIES.updateUser, { id, name: `Timed ${i}` }, token);
      ms.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return ms;
}

/** `n` samples of each, in rounds of `per`, each round starting one variant later (a b c, b c a, …) so drift cancels. */
export async function interleave(variants: readonly Writer[], n: number, per: number, run: (w: Writer, count: number) => Promise<number[]>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round * per < n; round++) {
    const count = Math.min(per, n - round * per);
    for (let k = 0; k < variants.length; k++) {
      const w = variants[(round + k) % variants.length]!;
      out[w.name]!.push(...(await run(w, count)));
    }
  }
  return out;
}

export function summarize(runs: Record<string, number[]>): Record<string, Sampled> {
  return Object.fromEntries(Object.entries(runs).map(([name, ms]) => [name, { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: Math.max(...ms), samples: ms.length }]));
}

