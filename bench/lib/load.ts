import autocannon from 'autocannon';
import { headers } from './graphql';
import { median, quantile } from './stats';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts and non-2xx answers: any of them makes the run worthless, so runLoad throws. */
  failures: number;
}

export interface LoadOptions {
  url: string;
  /** Request bodies, sent round-robin across all connections. */
  bodies: string[];
  token?: string;
  connections: number;
  seconds: number;
  /**
   * Fail on any answer carrying GraphQL errors (which come with HTTP 200). Costs the
   * load generator a look at every body, so only for the writes, whose every request
   * matters; reads are checked once before they are timed.
   */
  checkBodies?: boolean;
}

/**
 * One autocannon run. Latencies are taken from autocannon's per-response event
 * (microsecond resolution), not its histogram, which keeps whole milliseconds: too
 * coarse for sub-millisecond requests.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  let graphqlErrors = 0;
  let firstError = '';
  const latencies: number[] = [];
  const onResponse = (_status: number, text: string) => {
    if (text.includes('"errors"')) {
      graphqlErrors++;
      firstError ||= text.slice(0, 300);
    }
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        method: 'POST',
        headers: headers(options.token),
        requests: [
          {
            setupRequest: (request) => ({ ...request, body: options.bodies[next++ % options.bodies.length]! }),
            ...(options.checkBodies ? { onResponse } : {}),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const failures = result.errors + result.timeouts + result.non2xx;
        if (failures > 0) return reject(new Error(`${options.url}: ${failures} failed requests (${JSON.stringify(result.statusCodeStats)})`));
        if (graphqlErrors > 0) return reject(new Error(`${options.url}: ${graphqlErrors} answers with errors, e.g. ${firstError}`));
        resolve({
          requests: latencies.length,
          seconds: result.duration,
          rps: latencies.length / result.duration,
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          failures,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode < 300) latencies.push(ms);
    });
  });
}

/** Several runs of one variant taken together: all their latencies and all their time. */
export interface Aggregate {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  runs: Array<Pick<LoadResult, 'rps' | 'p50' | 'p99'>>;
}

/**
 * Runs every variant for `rounds` rounds of `seconds` each, back to back and in a
 * rotating order, after a warm-up run of each: a noisy moment on the machine lands on
 * all of them alike. Medians of the rounds are reported.
 */
export async function compareLoads(
  variants: Array<{ name: string } & Omit<LoadOptions, 'connections' | 'seconds'>>,
  plan: {
    connections: number;
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    onRun?: (name: string, r: LoadResult) => void;
    /** Called between the warm-up runs and the first timed one, e.g. to read the services' counters. */
    afterWarmUp?: () => Promise<void>;
  },
): Promise<Record<string, Aggregate>> {
  for (const v of variants) await runLoad({ ...v, connections: plan.connections, seconds: plan.warmupSeconds });
  await plan.afterWarmUp?.();
  const runs: Record<string, LoadResult[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round < plan.rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const result = await runLoad({ ...v, connections: plan.connections, seconds: plan.seconds });
      runs[v.name]!.push(result);
      plan.onRun?.(v.name, result);
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, aggregate(rs)]));
}

/** Two variants compared pair by pair: see comparePairs. */
export interface PairedComparison {
  a: Aggregate;
  b: Aggregate;
  /** Each pair's a ÷ b of the p50, in the order the pairs ran. */
  p50Ratios: number[];
  /** Their median: the figure to judge by. */
  p50Ratio: number;
}

/**
 * Runs `a` and `b` back to back `pairs` times (a then b, then b then a, and so on) and
 * takes the ratio within each pair. On a machine whose speed drifts from one second to
 * the next (two cores shared with MySQL's fsyncs and the load generator), the medians
 * of separate runs carry that drift into their ratio (a round's p50 here ranges over
 * 1.5× for the same variant); a pair's two runs share most of it, so the median of
 * the pairs' ratios measures the difference between the variants, not the machine.
 */
export async function comparePairs(
  a: { name: string } & Omit<LoadOptions, 'connections' | 'seconds'>,
  b: { name: string } & Omit<LoadOptions, 'connections' | 'seconds'>,
  plan: { connections: number; seconds: number; warmupSeconds: number; pairs: number; onRun?: (name: string, r: LoadResult) => void },
): Promise<PairedComparison> {
  for (const v of [a, b]) await runLoad({ ...v, connections: plan.connections, seconds: plan.warmupSeconds });
  const runs = { a: [] as LoadResult[], b: [] as LoadResult[] };
  for (let pair = 0; pair < plan.pairs; pair++) {
    const order = pair % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const side of order) {
      const v = side === 'a' ? a : b;
      const result = await runLoad({ ...v, connections: plan.connections, seconds: plan.seconds });
      runs[side].push(result);
      plan.onRun?.(v.name, result);
    }
  }
  const p50Ratios = runs.a.map((r, i) => r.p50 / runs.b[i]!.p50);
  return { a: aggregate(runs.a), b: aggregate(runs.b), p50Ratios, p50Ratio: median(p50Ratios) };
}

function aggregate(rs: LoadResult[]): Aggregate {
  return {
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    requests: rs.reduce((s, r) => s + r.requests, 0),
    runs: rs.map(({ rps, p50, p99 }) => ({ rps, p50, p99 })),
  };
}
