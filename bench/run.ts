/**
 * `npm run bench`: the HTTP benchmark. Starts its own redis-server and one service
 * process per cache policy (write-through, invalidate, off) plus the no-I/O floor
 * (bench/floor-server.ts), all on the service's default executor, for scenario 6
 * the write-through, off and floor processes once more on the other executor (see
 * scenarios/executors.ts), and for scenario 7 a private 3-master Redis Cluster
 * (lib/cluster.ts) with a write-through service on it, and for scenario 0 the
 * references a user would build instead (bench/references/server.ts: Apollo's bare
 * standalone server, a plain Apollo + DataLoader + mysql2 peer, and Apollo's response
 * cache over the peer), all on one fresh database (`tl_bench_<ts>` on MYSQL_URL's
 * server), and for scenario 8 a private MariaDB with a binlog (lib/binlog-mysql.ts)
 * and two write-through services on it, the change follower on and off, and for
 * scenario 9 six services with read leases on a database of their own (two of them on
 * a private redis-server it stops, so their cache writes fail and are fenced), for
 * scenario 10 three services with the consistency inspector off, at its defaults and
 * sampling every write, and for scenario 11 write-through and invalidate services on a
 * private redis-server it pauses, beside Apollo's response cache; seeds and warms them, runs the twelve scenarios of bench/scenarios/ and writes bench/results.md, bench/results.json,
 * bench/results.svg, bench/results-executors.svg and bench/results-cluster.svg.
 * Everything it started is stopped (by PID), the cluster's and the private MariaDB's
 * directories removed and the database dropped at the end, or on Ctrl-C.
 *
 * `npm run bench -- 1 3` runs only those scenarios (and writes no report files).
 * BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP_SECONDS (the load
 * runs), BENCH_EXECUTOR_ROUNDS (scenario 6's rounds; default 3, or BENCH_ROUNDS if
 * fewer), BENCH_PAIRS (scenario 4's pairs of runs per comparison, 16),
 * BENCH_CLUSTER_ROUNDS (scenario 7's; the same default), BENCH_POST_WRITE_M,
 * BENCH_USERS, BENCH_CHUNK, BENCH_FOLLOWER_SAMPLES and BENCH_FOLLOWER_ROWS (scenario
 * 8's out-of-band UPDATEs timed, 300, and its bulk UPDATE's rows, 100,000),
 * BENCH_FENCE_SAMPLES (scenario 9's failed writes per variant back to back, 100; 1.5
 * times as many at random moments, three times as many successful ones), BENCH_INSPECTOR_SAMPLES
 * (scenario 10's writes per variant, 300) and BENCH_CONSISTENCY_READS (scenario 11's reads
 * per system, 20,000; the issue's figure is 1,000,000) change the plan.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { basename, resolve } from 'node:path';
import { writeBarChart } from './lib/chart';
import type { LoadResult } from './lib/load';
import { LOAD_PLAN } from './lib/plan';
import { printScenario, writeReport, type ScenarioResult } from './lib/report';
import { setUp, type Bench } from './lib/setup';
import { fmt } from './lib/stats';
import { changeFollowerScenario } from './scenarios/change-follower';
import { CLUSTER_VARIANTS, clusterScenario } from './scenarios/cluster';
import { EXECUTOR_KEYS, executorsScenario, shortVariantName, variantExecutor } from './scenarios/executors';
import { fencedAcksScenario } from './scenarios/fenced-acks';
import { consistencyScenario } from './scenarios/consistency';
import { inspectorCostScenario } from './scenarios/inspector-cost';
import { postWrite } from './scenarios/post-write';
import { references } from './scenarios/references';
import { roundTrips } from './scenarios/round-trips';
import { throughput } from './scenarios/throughput';
import { warmUp } from './scenarios/warm-up';
import { writeOverhead } from './scenarios/write-overhead';

const HERE = __dirname;
const printRun = (query: string, variant: string, r: LoadResult) =>
  console.log(`    ${query} · ${variant}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`);

/**
 * In this order: the read scenarios (6 and 7 included) before the writes of 4, which
 * go through one service's cache and leave the other services' caches behind MySQL.
 * The report lists them by number.
 */
const SCENARIOS: Array<{ id: string; title: string; run: (bench: Bench) => Promise<ScenarioResult> }> = [
  { id: '1', title: 'Round trips per request', run: roundTrips },
  { id: '2', title: 'Post-write misses', run: postWrite },
  { id: '3', title: 'Read throughput and latency', run: (b) => throughput(b, printRun) },
  { id: '6', title: 'Compiled execution', run: (b) => executorsScenario(b, printRun) },
  { id: '7', title: 'Redis Cluster', run: (b) => clusterScenario(b, printRun) },
  // Its writes go through the write-through service and the peer, so it runs after the reads of the others.
  { id: '0', title: 'Against what a user would build instead', run: (b) => references(b, printRun) },
  { id: '4', title: 'Write overhead', run: (b) => writeOverhead(b, printRun) },
  { id: '5', title: 'Warm-up and memory', run: warmUp },
  // On a private MariaDB with a binlog (started only when it is selected), with services of its own.
  { id: '8', title: 'Change follower', run: (b) => changeFollowerScenario(b, printRun) },
  // On a database of its own, with services of its own: two of them lose their Redis.
  { id: '9', title: 'Fenced acknowledgements', run: fencedAcksScenario },
  // The consistency inspector's cost, on services of its own.
  { id: '10', title: 'Consistency inspector', run: inspectorCostScenario },
  // Redis paused on a schedule under a private redis-server; services of its own.
  { id: '11', title: 'Consistency under faults', run: consistencyScenario },
];

async function main(): Promise<void> {
  const started = performance.now();
  const only = process.argv.slice(2);
  const selected = SCENARIOS.filter((s) => only.length === 0 || only.includes(s.id));
  console.log(`Throughline bench: ${selected.map((s) => s.id).join(', ')} on ${availableParallelism()} cores, Node ${process.version}\n`);

  const bench = await setUp({
    policies: ['write-through', 'invalidate', 'off'],
    floor: true,
    // Scenario 6's processes on the other executor (those on the default are the plain ones).
    executors: selected.some((s) => s.id === '6') ? EXECUTOR_KEYS : [],
    // Scenario 7's private Redis Cluster and the write-through service on it.
    cluster: selected.some((s) => s.id === '7'),
    // Scenario 0's references: the bare floor, the plain peer and the response cache.
    references: selected.some((s) => s.id === '0'),
    log: (l) => console.log(`  ${l}`),
  });
  let stopping = false;
  const interrupt = () => {
    if (stopping) return;
    stopping = true;
    console.error('\ninterrupted: stopping the services and dropping the database');
    void bench.tearDown().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  const results: ScenarioResult[] = [];
  let machine = '';
  try {
    machine =
      `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `Node ${process.version}, MariaDB/MySQL ${await bench.db.version()}, Redis ${await bench.redis.version()}`;
    console.log(`  ${machine}\n`);
    for (const scenario of selected) {
      console.log(`${scenario.id}. ${scenario.title}`);
      const t = performance.now();
      const result = await scenario.run(bench);
      printScenario(result);
      console.log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)\n`);
      results.push(result);
    }
  } finally {
    await bench.tearDown();
  }

  const seconds = (performance.now() - started) / 1000;
  results.sort((a, b) => Number(a.id) - Number(b.id));
  if (selected.length === SCENARIOS.length) {
    const paths = { md: resolve(HERE, 'results.md'), json: resolve(HERE, 'results.json'), svg: resolve(HERE, 'results.svg') };
    const executorsSvg = resolve(HERE, 'results-executors.svg');
    const clusterSvg = resolve(HERE, 'results-cluster.svg');
    const findings = resolve(HERE, 'findings.md');
    const compiled = results.find((r) => r.id === '6')!;
    compiled.chart = basename(executorsSvg);
    const cluster = results.find((r) => r.id === '7')!;
    cluster.chart = basename(clusterSvg);
    writeReport(
      paths,
      { date: new Date().toISOString(), machine, seconds, settings: { ...LOAD_PLAN } },
      results,
      existsSync(findings) ? readFileSync(findings, 'utf8') : '',
    );
    writeChart(paths.svg, results.find((r) => r.id === '3')!);
    writeExecutorChart(executorsSvg, compiled);
    writeClusterChart(clusterSvg, cluster);
    console.log(`wrote ${paths.md}, ${paths.json}, ${paths.svg}, ${executorsSvg} and ${clusterSvg}`);
  }
  const missed = results.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.id}: ${t.target}`));
  console.log(missed.length ? `targets missed:\n  ${missed.join('\n  ')}` : 'every target met');
  console.log(`total ${seconds.toFixed(0)} s`);
}

const SHORT: Record<string, string> = { 'write-through (warm cache)': 'write-through', 'off (MySQL only)': 'MySQL only' };

function writeChart(path: string, reads: ScenarioResult): void {
  const data = reads.data as { results: Record<string, Record<string, { rps: number; p99: number }>> };
  writeBarChart(
    path,
    `Reads per second at ${LOAD_PLAN.connections} connections (higher is better; p99 below each bar)`,
    'req/s',
    Object.entries(data.results).map(([query, variants]) => ({
      title: query,
      bars: Object.entries(variants).map(([label, a]) => ({ label: SHORT[label] ?? label, value: a.rps, note: `p99 ${fmt(a.p99)} ms` })),
    })),
  );
}

/** Scenario 6: per query, the six variants, graphql-jit's bars in blue and graphql-js's in orange. */
function writeExecutorChart(path: string, compiled: ScenarioResult): void {
  const data = compiled.data as { results: Record<string, Record<string, { rps: number; p99: number }>> };
  writeBarChart(
    path,
    `Reads per second at ${LOAD_PLAN.connections} connections, graphql-js (js, orange) and graphql-jit (jit, blue); higher is better, p99 below each bar`,
    'req/s',
    Object.entries(data.results).map(([query, variants]) => ({
      title: query,
      bars: Object.entries(variants).map(([label, a]) => ({
        label: shortVariantName(label),
        value: a.rps,
        note: `p99 ${fmt(a.p99)} ms`,
        color: variantExecutor(label) === 'jit' ? '#2f6fdf' : '#d9822b',
      })),
    })),
  );
}

/** Scenario 7: users(ids: 100) on one Redis and on the 3-master cluster. */
function writeClusterChart(path: string, cluster: ScenarioResult): void {
  const data = cluster.data as { results: Record<string, { rps: number; p50: number; p99: number }> };
  const short: Record<string, string> = { [CLUSTER_VARIANTS.single]: 'one Redis', [CLUSTER_VARIANTS.cluster]: 'cluster (3 masters)' };
  writeBarChart(
    path,
    `users(ids: 100), warm write-through cache, at ${LOAD_PLAN.connections} connections (higher is better; p50 and p99 below each bar)`,
    'req/s',
    [
      {
        title: 'users(ids: 100)',
        bars: Object.entries(data.results).map(([label, a]) => ({ label: short[label] ?? label, value: a.rps, note: `p50 ${fmt(a.p50)} · p99 ${fmt(a.p99)} ms` })),
      },
    ],
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
