import { QUERIES, body, gql, idWindow } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { ScenarioResult, Table } from '../lib/report';
import { DEFAULT_EXECUTOR, EXECUTOR_NAMES } from '../lib/processes';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';

const USERS = 1000;

/** Request bodies: user(id) round-robin over every user; users(ids: 100) over 50 windows of 100 ids. */
export const READS = {
  'user(id)': Array.from({ length: USERS }, (_, i) => body(QUERIES.user, { id: String(i + 1) })),
  'users(ids: 100)': Array.from({ length: 50 }, (_, k) => body(QUERIES.users, { ids: idWindow(((k * 97) % USERS) + 1, 100, USERS) })),
};
export type ReadName = keyof typeof READS;

/**
 * Scenario 3: read throughput and latency on a warm cache, against the same service
 * with the cache off (MySQL only) and against the no-I/O floor.
 */
export async function throughput(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  const processes = [bench.service('write-through'), bench.service('off'), bench.floor!];
  const variants = [
    { name: 'write-through (warm cache)', url: processes[0]!.url },
    { name: 'off (MySQL only)', url: processes[1]!.url },
    { name: 'no-I/O floor', url: processes[2]!.url },
  ];
  const executors = [...new Set(processes.map((p) => p.executor))];
  const executorText =
    executors.length === 1
      ? `Every variant runs its operations on ${EXECUTOR_NAMES[executors[0]!]} (GRAPHQL_EXECUTOR=${executors[0]}${executors[0] === DEFAULT_EXECUTOR ? ", the service's default" : ''}); scenario 6 compares it with ${EXECUTOR_NAMES[executors[0] === 'jit' ? 'standard' : 'jit']}.`
      : `Executors: ${processes.map((p, i) => `${variants[i]!.name} ${EXECUTOR_NAMES[p.executor]}`).join(', ')}.`;
  // Every variant must answer what it is asked before it is timed.
  for (const v of variants) {
    const { users } = await gql(v.url, QUERIES.users, { ids: idWindow(1, 100, USERS) });
    if (users.length !== 100 || users.some((u: unknown) => u === null)) throw new Error(`${v.name} did not answer 100 users`);
  }
  const results: Record<string, Record<string, Aggregate>> = {};
  const tables: Table[] = [];
  for (const [query, bodies] of Object.entries(READS)) {
    results[query] = await compareLoads(
      variants.map((v) => ({ ...v, bodies })),
      { ...LOAD_PLAN, onRun: (name, r) => onRun?.(query, name, r) },
    );
    const [off, floor] = [results[query]![variants[1]!.name]!, results[query]![variants[2]!.name]!];
    tables.push({
      title: query,
      columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ floor', 'req/s ÷ MySQL only'],
      rows: variants.map((v) => {
        const a = results[query]![v.name]!;
        return [v.name, fmt(a.rps), fmt(a.p50), fmt(a.p99), ratio(a.rps, floor.rps), ratio(a.rps, off.rps)];
      }),
    });
  }
  const many = results['users(ids: 100)']!;
  const one = results['user(id)']!;
  const [wtMany, offMany, wtOne, floorOne] = [many[variants[0]!.name]!, many[variants[1]!.name]!, one[variants[0]!.name]!, one[variants[2]!.name]!];
  return {
    id: '3',
    title: 'Read throughput and latency',
    method: `${describePlan()}. The write-through service's cache was warmed by one pass of reads; ids round-robin over all ${USERS.toLocaleString('en-US')} users. ${executorText}`,
    tables,
    targets: [
      { target: 'users(ids: 100): warm cache ≥ 2× MySQL-only req/s', actual: `${ratio(wtMany.rps, offMany.rps)} (${fmt(wtMany.rps)} vs ${fmt(offMany.rps)})`, met: wtMany.rps >= 2 * offMany.rps },
      { target: 'users(ids: 100): warm cache p99 below MySQL-only', actual: `${fmt(wtMany.p99)} vs ${fmt(offMany.p99)} ms`, met: wtMany.p99 < offMany.p99 },
      { target: 'user(id): warm cache ≥ 75% of the no-I/O floor req/s', actual: `${((100 * wtOne.rps) / floorOne.rps).toFixed(0)}% (${fmt(wtOne.rps)} vs ${fmt(floorOne.rps)})`, met: wtOne.rps >= 0.75 * floorOne.rps },
    ],
    notes: [
      'The load generator runs in the bench process, the service in its own, MySQL and Redis in theirs: on 2 cores they all compete, alike for every variant.',
    ],
    data: { plan: LOAD_PLAN, executors: Object.fromEntries(processes.map((p, i) => [variants[i]!.name, p.executor])), results },
  };
}
