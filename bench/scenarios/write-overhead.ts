import { QUERIES, body } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { ScenarioResult, Table, Target } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';

const USERS = 1000;
const INTENTS_OFF = 'write-through without write intents';

/**
 * Scenario 4: the whole updateUser request over HTTP, with write-through against the
 * same request with the cache write skipped. The skipped side is the `off` service:
 * the same code path, whose repository hands the unit of work no cache writes (the
 * writer then returns at once, without touching Redis). Updates go round-robin over
 * every user, so no single row lock is hot.
 */
export async function writeOverhead(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  const bodies = Array.from({ length: USERS }, (_, i) => body(QUERIES.updateUser, { id: String(i + 1), name: `Load ${i + 1}` }));
  const variants = [
    { name: 'write-through', url: bench.service('write-through').url, bodies, token: bench.token, checkBodies: true },
    { name: 'cache write skipped (off)', url: bench.service('off').url, bodies, token: bench.token, checkBodies: true },
    ...(bench.withoutIntents ? [{ name: INTENTS_OFF, url: bench.withoutIntents.url, bodies, token: bench.token, checkBodies: true }] : []),
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
    const [wt, skipped, untraced] = [r[variants[0]!.name]!, r[variants[1]!.name]!, r[INTENTS_OFF]];
    tables.push({
      title: `updateUser, ${level.label}`,
      columns: ['variant', 'req/s', 'p50 ms', 'p99 ms'],
      rows: [
        ...variants.map((v) => [v.name, fmt(r[v.name]!.rps), fmt(r[v.name]!.p50), fmt(r[v.name]!.p99)]),
        ['write-through ÷ skipped', ratio(wt.rps, skipped.rps), ratio(wt.p50, skipped.p50), ratio(wt.p99, skipped.p99)],
        ...(untraced ? [['write-through ÷ without intents', ratio(wt.rps, untraced.rps), ratio(wt.p50, untraced.p50), ratio(wt.p99, untraced.p99)]] : []),
      ],
    });
    targets.push({
      target: `updateUser p50, ${level.label}: write-through ≤ 1.2× the cache write skipped`,
      actual: `${ratio(wt.p50, skipped.p50)} (${fmt(wt.p50)} vs ${fmt(skipped.p50)} ms)`,
      met: wt.p50 <= 1.2 * skipped.p50,
    });
    if (untraced) {
      targets.push({
        target: `updateUser p50, ${level.label}: with write intents ≤ 1.1× without them`,
        actual: `${ratio(wt.p50, untraced.p50)} (${fmt(wt.p50)} vs ${fmt(untraced.p50)} ms)`,
        met: wt.p50 <= 1.1 * untraced.p50,
      });
    }
  }
  return {
    id: '4',
    title: 'Write overhead',
    method: `${describePlan()}, and the same one connection at a time. Every answer's body is checked for errors.`,
    tables,
    targets,
    notes: [
      'Write intents (WRITE_INTENTS, on by default) are what closes the crash window: the write-through service records one in each transaction; the third variant is the same service without them.',
      "The skipped side is the CACHE_POLICY=off service: the same resolver, transaction and unit of work, minus the EVALSHA (and it leaves the write-through service's cached rows behind MySQL's, which is why this runs after the read scenarios).",
    ],
    data: { plan: LOAD_PLAN, results },
  };
}
