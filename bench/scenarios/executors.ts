import { isDeepStrictEqual } from 'node:util';
import { executions, minusExecutions, type Executions } from '../lib/executions';
import { QUERIES, body, gql, type Variables } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import { EXECUTOR_NAMES, type BenchProcess, type Executor } from '../lib/processes';
import type { ScenarioResult, Table, Target } from '../lib/report';
import type { Bench, VariantKey } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';
import { READS } from './throughput';

/** Six services by three queries: fewer rounds than the other load scenarios, to keep the whole bench within minutes. */
const ROUNDS = Number(process.env.BENCH_EXECUTOR_ROUNDS ?? Math.min(3, LOAD_PLAN.rounds));
const PLAN = { ...LOAD_PLAN, rounds: ROUNDS };

type Service = 'floor' | 'write-through' | 'off';
const SERVICE_NAMES: Record<Service, string> = { floor: 'no-I/O floor', 'write-through': 'write-through (warm cache)', off: 'off (MySQL only)' };
const SHORT_SERVICE: Record<Service, string> = { floor: 'floor', 'write-through': 'warm', off: 'MySQL' };
const SHORT_EXECUTOR: Record<Executor, string> = { jit: 'jit', standard: 'js' };

/** The variants, in the order asked for: each service on graphql-js and on graphql-jit. */
export const EXECUTOR_VARIANTS: Array<{ service: Service; executor: Executor }> = [
  { service: 'floor', executor: 'standard' },
  { service: 'floor', executor: 'jit' },
  { service: 'write-through', executor: 'standard' },
  { service: 'write-through', executor: 'jit' },
  { service: 'off', executor: 'jit' },
  { service: 'off', executor: 'standard' },
];
/** The processes scenario 6 needs, for setUp's `executors`. */
export const EXECUTOR_KEYS: VariantKey[] = EXECUTOR_VARIANTS.map((v) => `${v.service}/${v.executor}` as const);

const variantName = (service: Service, executor: Executor) => `${SERVICE_NAMES[service]} · ${EXECUTOR_NAMES[executor]}`;
export const shortVariantName = (name: string): string => {
  const v = EXECUTOR_VARIANTS.find((x) => variantName(x.service, x.executor) === name);
  return v ? `${SHORT_SERVICE[v.service]} ${SHORT_EXECUTOR[v.executor]}` : name;
};
export const variantExecutor = (name: string): Executor | undefined => EXECUTOR_VARIANTS.find((x) => variantName(x.service, x.executor) === name)?.executor;

const RECENT = 'recentOrders(limit: 50)';
const QUERY_BODIES: Record<string, string[]> = {
  'user(id)': READS['user(id)'],
  'users(ids: 100)': READS['users(ids: 100)'],
  [RECENT]: [body(QUERIES.recentOrders, { limit: 50 })],
};
/** One request of each query, for the answer checks. */
const SAMPLES: Record<string, { query: string; variables: Variables }> = Object.fromEntries(
  Object.entries(QUERY_BODIES).map(([name, bodies]) => {
    const { query, variables } = JSON.parse(bodies[0]!) as { query: string; variables: Variables };
    return [name, { query, variables }];
  }),
);

/**
 * Every variant must answer each query in full; and graphql-jit must answer exactly
 * what graphql-js does where both read the same rows (the floor's constant ones, and
 * MySQL for the cache-less service). The write-through services each have a cache of
 * their own, which the writes of scenario 2 left at different versions for a few
 * users, so those two are only checked for completeness. Each query is sent three
 * times and the last answer kept: with GRAPHQL_JIT_COMPILE_AFTER at 1 the first run
 * is graphql-js's even on a jit service, the later ones are compiled.
 */
async function checkAnswers(processes: Map<string, BenchProcess>): Promise<void> {
  const answers = new Map<string, Record<string, any>>();
  for (const [name, p] of processes) {
    const byQuery: Record<string, any> = {};
    for (const [query, sample] of Object.entries(SAMPLES)) {
      let data: any;
      for (let i = 0; i < 3; i++) data = await gql(p.url, sample.query, sample.variables);
      byQuery[query] = data;
    }
    if (byQuery['user(id)'].user === null) throw new Error(`${name} did not answer user(id)`);
    const users = byQuery['users(ids: 100)'].users as unknown[];
    if (users.length !== 100 || users.some((u) => u === null)) throw new Error(`${name} did not answer 100 users`);
    const orders = byQuery[RECENT].recentOrders as Array<{ user: unknown; product: unknown }>;
    if (orders.length !== 50 || orders.some((o) => o.user === null || o.product === null)) throw new Error(`${name} did not answer 50 orders with their user and product`);
    answers.set(name, byQuery);
  }
  for (const service of ['floor', 'off'] as const) {
    const [jit, js] = [answers.get(variantName(service, 'jit'))!, answers.get(variantName(service, 'standard'))!];
    for (const query of Object.keys(SAMPLES)) {
      if (!isDeepStrictEqual(jit[query], js[query])) {
        throw new Error(`${SERVICE_NAMES[service]}: graphql-jit and graphql-js answered ${query} differently:\n${JSON.stringify(jit[query]).slice(0, 400)}\n${JSON.stringify(js[query]).slice(0, 400)}`);
      }
    }
  }
}

const share = (e: Executions) => (e.jit + e.standard === 0 ? 0 : e.jit / (e.jit + e.standard));
const percent = (x: number) => `${(100 * x).toFixed(x > 0.99 && x < 1 ? 1 : 0)}%`;

/**
 * Scenario 6: the same three services (no-I/O floor, write-through on a warm cache,
 * MySQL only) each on graphql-js's execute and on graphql-jit's compiled operations,
 * interleaved in one comparison per query. Each process's
 * throughline_graphql_executions_total is read after the warm-up runs and after the
 * timed ones: a jit variant that compiled nothing, or a graphql-js one that ran
 * anything compiled, fails the scenario instead of being reported under the wrong name.
 */
export async function executorsScenario(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  const processes = new Map(EXECUTOR_VARIANTS.map((v) => [variantName(v.service, v.executor), bench.variant(`${v.service}/${v.executor}`)]));
  for (const v of EXECUTOR_VARIANTS) {
    const p = processes.get(variantName(v.service, v.executor))!;
    if (p.executor !== v.executor) throw new Error(`${p.name} runs on ${p.executor}, not ${v.executor}`);
  }
  await checkAnswers(processes);

  const results: Record<string, Record<string, Aggregate>> = {};
  const executed: Record<string, Record<string, Executions>> = {};
  const tables: Table[] = [];
  const notes: string[] = [];
  const name = (service: Service, executor: Executor) => variantName(service, executor);
  const floorJs = name('floor', 'standard');
  const offJit = name('off', 'jit');
  for (const [query, bodies] of Object.entries(QUERY_BODIES)) {
    const snapshot = async () => new Map(await Promise.all([...processes].map(async ([n, p]) => [n, await executions(p)] as const)));
    let before = new Map<string, Executions>();
    results[query] = await compareLoads(
      [...processes].map(([n, p]) => ({ name: n, url: p.url, bodies })),
      { ...PLAN, onRun: (n, r) => onRun?.(query, n, r), afterWarmUp: async () => void (before = await snapshot()) },
    );
    const after = await snapshot();
    executed[query] = Object.fromEntries([...processes.keys()].map((n) => [n, minusExecutions(after.get(n)!, before.get(n)!)]));
    for (const [n, p] of processes) {
      const e = executed[query]![n]!;
      if (p.executor === 'jit' && e.jit === 0) throw new Error(`${n} (${p.name}) ran no ${query} operation on graphql-jit during the timed runs: ${JSON.stringify(e)}`);
      if (p.executor === 'standard' && e.jit > 0) throw new Error(`${n} (${p.name}) ran ${e.jit} ${query} operations on graphql-jit, set to graphql-js`);
      if (p.executor === 'jit' && share(e) < 0.99) notes.push(`${query} · ${n}: only ${percent(share(e))} of the timed operations ran compiled (${JSON.stringify(e)}).`);
    }
    const r = results[query]!;
    tables.push({
      title: query,
      columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ floor (graphql-js)', 'req/s ÷ MySQL only (graphql-jit)', 'timed operations compiled'],
      rows: [...processes].map(([n, p]) => {
        const a = r[n]!;
        const e = executed[query]![n]!;
        return [n, fmt(a.rps), fmt(a.p50), fmt(a.p99), ratio(a.rps, r[floorJs]!.rps), ratio(a.rps, r[offJit]!.rps), p.executor === 'jit' ? `${percent(share(e))} of ${fmt(e.jit + e.standard)}` : 'none (graphql-js)'];
      }),
    });
  }

  const pairRow = (service: Service, query: string, withService: boolean) => {
    const [js, jit] = [results[query]![name(service, 'standard')]!, results[query]![name(service, 'jit')]!];
    return [
      withService ? `${SERVICE_NAMES[service]} · ${query}` : query,
      fmt(js.rps),
      fmt(jit.rps),
      ratio(jit.rps, js.rps),
      fmt(js.p50),
      fmt(jit.p50),
      fmt(js.p99),
      fmt(jit.p99),
      jit.p99 <= js.p99 ? '✓' : '✗',
    ];
  };
  const pairColumns = ['req/s graphql-js', 'req/s graphql-jit', 'jit ÷ js', 'p50 ms js', 'p50 ms jit', 'p99 ms js', 'p99 ms jit', 'p99 jit ≤ js'];
  tables.push({
    title: 'Before → after: the write-through service on a warm cache, graphql-js (before) and graphql-jit (after)',
    columns: ['query', ...pairColumns],
    rows: Object.keys(QUERY_BODIES).map((q) => pairRow('write-through', q, false)),
  });
  tables.push({
    title: 'graphql-js and graphql-jit on the floor and the MySQL-only service',
    columns: ['service · query', ...pairColumns],
    rows: (['floor', 'off'] as const).flatMap((s) => Object.keys(QUERY_BODIES).map((q) => pairRow(s, q, true))),
  });

  const many = results['users(ids: 100)']!;
  const one = results['user(id)']!;
  const wtJit = name('write-through', 'jit');
  const targets: Target[] = [
    {
      target: 'users(ids: 100): write-through warm on graphql-jit ≥ 1.0× the no-I/O floor on graphql-js, req/s',
      actual: `${ratio(many[wtJit]!.rps, many[floorJs]!.rps)} (${fmt(many[wtJit]!.rps)} vs ${fmt(many[floorJs]!.rps)})`,
      met: many[wtJit]!.rps >= many[floorJs]!.rps,
    },
    {
      target: 'users(ids: 100): write-through warm on graphql-jit ≥ 2× MySQL-only on graphql-jit, req/s',
      actual:
        `${ratio(many[wtJit]!.rps, many[offJit]!.rps)} (${fmt(many[wtJit]!.rps)} vs ${fmt(many[offJit]!.rps)}); ` +
        `against MySQL-only on graphql-js ${ratio(many[wtJit]!.rps, many[name('off', 'standard')]!.rps)} (${fmt(many[name('off', 'standard')]!.rps)})`,
      met: many[wtJit]!.rps >= 2 * many[offJit]!.rps,
    },
    {
      target: 'user(id): write-through warm on graphql-jit ≥ 0.9× the no-I/O floor on graphql-js, req/s',
      actual: `${ratio(one[wtJit]!.rps, one[floorJs]!.rps)} (${fmt(one[wtJit]!.rps)} vs ${fmt(one[floorJs]!.rps)})`,
      met: one[wtJit]!.rps >= 0.9 * one[floorJs]!.rps,
    },
    ...Object.keys(QUERY_BODIES).map((query) => {
      const [js, jit] = [results[query]![name('write-through', 'standard')]!, results[query]![wtJit]!];
      return { target: `${query}: write-through warm, p99 on graphql-jit ≤ p99 on graphql-js`, actual: `${fmt(jit.p99)} vs ${fmt(js.p99)} ms`, met: jit.p99 <= js.p99 };
    }),
  ];

  const shared = EXECUTOR_VARIANTS.filter((v) => processes.get(name(v.service, v.executor))!.name === v.service);
  const totals = Object.fromEntries([...processes.keys()].map((n) => [n, Object.values(executed).reduce((s, byName) => s + byName[n]!.jit, 0)]));
  notes.push(
    `Compiled operations in the timed runs (throughline_graphql_executions_total{executor="jit"} from each process's /metrics): ` +
      [...processes].filter(([, p]) => p.executor === 'jit').map(([n]) => `${n} ${fmt(totals[n]!)}`).join(', ') +
      '; the graphql-js processes none (they run Apollo\'s own execute, which that counter does not see).',
    ...(shared.length
      ? [
          `The ${shared.map((v) => name(v.service, v.executor)).join(', ')} variants are the same processes that scenario 3 measures ` +
            `(started without GRAPHQL_EXECUTOR: ${EXECUTOR_NAMES[shared[0]!.executor]} is the service's default); the others were started with ` +
            `GRAPHQL_EXECUTOR=${[...new Set(EXECUTOR_VARIANTS.filter((v) => !shared.includes(v)).map((v) => v.executor))].join('/')}.`,
        ]
      : []),
    'The load generator runs in the bench process, each service in its own, MySQL and Redis in theirs: on 2 cores they all compete, alike for every variant.',
  );
  return {
    id: '6',
    title: 'Compiled execution',
    method:
      `${describePlan(PLAN)}. Three services, each once with GRAPHQL_EXECUTOR=standard (graphql-js's execute, as before) and once with jit (graphql-jit, ` +
      `an operation compiled after its first run, GRAPHQL_JIT_COMPILE_AFTER=1), all six interleaved per query; the warm-up runs compile each operation before ` +
      `anything is timed. The write-through caches were warmed by one pass of reads; MySQL only is CACHE_POLICY=off. Every variant's answers were checked ` +
      `first, and graphql-jit's compared with graphql-js's for the floor and MySQL only. recentOrders is \`${QUERIES.recentOrders}\` with limit 50.`,
    tables,
    targets,
    notes,
    data: { plan: PLAN, results, executions: executed },
  };
}
