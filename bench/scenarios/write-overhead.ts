import { loadConfig } from '../../src/config';
import { QUERIES, body } from '../lib/graphql';
import { comparePairs, type Aggregate, type LoadResult, type PairedComparison } from '../lib/load';
import { LOAD_PLAN } from '../lib/plan';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { startService, type BenchProcess } from '../lib/processes';
import { warm } from '../lib/seed';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';

const USERS = 1000;
/**
 * Pairs per comparison. A round's p50 drifts by up to 1.5× on this machine between
 * runs of one variant, so single ratios of medians spanned 0.96–1.30× over six runs of
 * the same code; pairs cancel the drift they share (lib/load.ts comparePairs).
 */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 16);
const row = (name: string, a: Aggregate) => [name, fmt(a.rps), fmt(a.p50), fmt(a.p99)];
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}×`;
const INTENTS_ON = 'write intents, sweep every second';
const INTENTS_OFF = 'no write intents';
/** WRITE_INTENT_SWEEP_MS's default (the bench's other services sweep rarely: lib/processes.ts). */
const DEFAULT_SWEEP_MS = loadConfig({}).intents!.intervalMs;

/**
 * Scenario 4: the whole updateUser request over HTTP, with write-through against the
 * same request with the cache write skipped. The skipped side is the `off` service:
 * the same code path, whose repository hands the unit of work no cache writes (the
 * writer then returns at once, without touching Redis). Updates go round-robin over
 * every user, so no single row lock is hot.
 */
export async function writeOverhead(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  // Started for this scenario only, so that the sweep, here at its production default,
  // polls MySQL while these writes run and not during the counted scenarios before.
  const [traced, untraced] = await Promise.all([
    startIntentsService(bench, 'intents-on', { WRITE_INTENT_SWEEP_MS: String(DEFAULT_SWEEP_MS) }),
    startIntentsService(bench, 'intents-off', { WRITE_INTENTS: 'false' }),
  ]);
  try {
    return await compareWrites(bench, { traced, untraced }, onRun);
  } finally {
    await Promise.all([traced.stop(), untraced.stop()]);
  }
}

async function startIntentsService(bench: Bench, name: string, env: Record<string, string>): Promise<BenchProcess> {
  const service = await startService({ name, policy: 'write-through', mysqlUrl: bench.db.url, redisUrl: bench.redis.url, jwtSecret: bench.jwtSecret, env });
  await warm(service.url);
  return service;
}

async function compareWrites(
  bench: Bench,
  { traced, untraced }: { traced: BenchProcess; untraced: BenchProcess },
  onRun?: (query: string, variant: string, r: LoadResult) => void,
): Promise<ScenarioResult> {
  const bodies = Array.from({ length: USERS }, (_, i) => body(QUERIES.updateUser, { id: String(i + 1), name: `Load ${i + 1}` }));
  const variant = (name: string, url: string) => ({ name, url, bodies, token: bench.token, checkBodies: true });
  const comparisons = [
    { label: 'write-through ÷ skipped', limit: 1.2, what: 'write-through', of: 'the cache write skipped',
      a: variant('write-through', bench.service('write-through').url), b: variant('cache write skipped (off)', bench.service('off').url) },
    { label: 'with intents ÷ without', limit: 1.1, what: 'with write intents (and their sweep)', of: 'without them',
      a: variant(INTENTS_ON, traced.url), b: variant(INTENTS_OFF, untraced.url) },
  ];
  const levels = [
    { label: `${LOAD_PLAN.connections} connections`, connections: LOAD_PLAN.connections },
    { label: 'one at a time', connections: 1 },
  ];
  const results: Record<string, Record<string, PairedComparison>> = {};
  const tables: Table[] = [];
  const targets: Target[] = [];
  for (const level of levels) {
    results[level.label] = {};
    const rows: string[][] = [];
    for (const c of comparisons) {
      const plan = { ...LOAD_PLAN, connections: level.connections, pairs: PAIRS, onRun: (name: string, run: LoadResult) => onRun?.(`updateUser, ${level.label}`, name, run) };
      const r = await comparePairs(c.a, c.b, plan);
      results[level.label]![c.label] = r;
      rows.push(row(c.a.name, r.a), row(c.b.name, r.b));
      rows.push([c.label, ratio(r.a.rps, r.b.rps), `${r.p50Ratio.toFixed(2)}× (pairs ${spread(r.p50Ratios)})`, ratio(r.a.p99, r.b.p99)]);
      targets.push({
        target: `updateUser p50, ${level.label}: ${c.what} ≤ ${c.limit}× ${c.of} (median of ${PAIRS} pairs)`,
        actual: `${r.p50Ratio.toFixed(2)}× (pairs ${spread(r.p50Ratios)}; medians ${fmt(r.a.p50)} vs ${fmt(r.b.p50)} ms)`,
        met: r.p50Ratio <= c.limit,
      });
    }
    tables.push({ title: `updateUser, ${level.label}`, columns: ['variant', 'req/s', 'p50 ms', 'p99 ms'], rows });
  }
  return {
    id: '4',
    title: 'Write overhead',
    method: `autocannon, ${LOAD_PLAN.connections} connections and then one, ${LOAD_PLAN.seconds} s runs after a ${LOAD_PLAN.warmupSeconds} s warm-up of each variant; each comparison is ${PAIRS} pairs of runs back to back (a then b, b then a, …), judged by the median of the pairs' p50 ratios. Every answer's body is checked for errors.`,
    tables,
    targets,
    notes: [
      'Write intents (WRITE_INTENTS, on by default) close the crash window. The last two variants are write-through services started for this scenario alone: one with intents and their sweep at its default interval, one with WRITE_INTENTS=false.',
      "The skipped side is the CACHE_POLICY=off service: the same resolver, transaction and unit of work, minus the EVALSHA (and it leaves the write-through service's cached rows behind MySQL's, which is why this runs after the read scenarios).",
    ],
    data: { plan: LOAD_PLAN, results },
  };
}
