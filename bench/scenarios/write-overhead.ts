import { loadConfig } from '../../src/config';
import { QUERIES, body } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { startService, type BenchProcess } from '../lib/processes';
import { warm } from '../lib/seed';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';

const USERS = 1000;
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
  const variants = [
    { name: 'write-through', url: bench.service('write-through').url, bodies, token: bench.token, checkBodies: true },
    { name: 'cache write skipped (off)', url: bench.service('off').url, bodies, token: bench.token, checkBodies: true },
    { name: INTENTS_ON, url: traced.url, bodies, token: bench.token, checkBodies: true },
    { name: INTENTS_OFF, url: untraced.url, bodies, token: bench.token, checkBodies: true },
  ];
  const levels = [
    { label: `${LOAD_PLAN.connections} connections`, plan: LOAD_PLAN },
    { label: 'one at a time', plan: { ...LOAD_PLAN, connections: 1 } },
  ];
  const results: Record<string, Record<string, Aggregate>> = {};
  const tables: Table[] = [];
  const targets: Target[] = [];
  for (const level of levels) {
    const r = await compareLoads(variants, { ...level.plan, onRun: (name, run) => onRun?.(`updateUser, ${level.label}`, name, run) });
    results[level.label] = r;
    const [wt, skipped, withIntents, withoutIntents] = [r[variants[0]!.name]!, r[variants[1]!.name]!, r[INTENTS_ON]!, r[INTENTS_OFF]!];
    tables.push({
      title: `updateUser, ${level.label}`,
      columns: ['variant', 'req/s', 'p50 ms', 'p99 ms'],
      rows: [
        ...variants.map((v) => [v.name, fmt(r[v.name]!.rps), fmt(r[v.name]!.p50), fmt(r[v.name]!.p99)]),
        ['write-through ÷ skipped', ratio(wt.rps, skipped.rps), ratio(wt.p50, skipped.p50), ratio(wt.p99, skipped.p99)],
        ['with intents ÷ without', ratio(withIntents.rps, withoutIntents.rps), ratio(withIntents.p50, withoutIntents.p50), ratio(withIntents.p99, withoutIntents.p99)],
      ],
    });
    targets.push({
      target: `updateUser p50, ${level.label}: write-through ≤ 1.2× the cache write skipped`,
      actual: `${ratio(wt.p50, skipped.p50)} (${fmt(wt.p50)} vs ${fmt(skipped.p50)} ms)`,
      met: wt.p50 <= 1.2 * skipped.p50,
    });
    targets.push({
      target: `updateUser p50, ${level.label}: with write intents (and their sweep) ≤ 1.1× without them`,
      actual: `${ratio(withIntents.p50, withoutIntents.p50)} (${fmt(withIntents.p50)} vs ${fmt(withoutIntents.p50)} ms)`,
      met: withIntents.p50 <= 1.1 * withoutIntents.p50,
    });
  }
  return {
    id: '4',
    title: 'Write overhead',
    method: `${describePlan()}, and the same one connection at a time. Every answer's body is checked for errors.`,
    tables,
    targets,
    notes: [
      'Write intents (WRITE_INTENTS, on by default) close the crash window. The last two variants are write-through services started for this scenario alone: one with intents and their sweep at its default interval, one with WRITE_INTENTS=false.',
      "The skipped side is the CACHE_POLICY=off service: the same resolver, transaction and unit of work, minus the EVALSHA (and it leaves the write-through service's cached rows behind MySQL's, which is why this runs after the read scenarios).",
    ],
    data: { plan: LOAD_PLAN, results },
  };
}
