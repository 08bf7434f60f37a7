import { availableParallelism, loadavg } from 'node:os';
import { loadConfig } from '../../src/config';
import { createBenchDatabase, type BenchDatabase } from '../lib/mysql';
import { readMetrics, startService, type BenchProcess } from '../lib/processes';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { SEED, seed, warm } from '../lib/seed';
import { mysqlServerUrl, type Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';
import { interleave, summarize, timeWrites, type Writer } from '../lib/timed-writes';

const DEFAULTS = loadConfig({});
/** Writes per variant and level. */
const WRITES = Number(process.env.BENCH_INSPECTOR_SAMPLES ?? 300);
const ROUND = 10;
const CONCURRENCY = 8;
const TARGET = 1.05;

const OFF = 'inspector off (INSPECTOR_SAMPLE_RATE=0)';
const DEFAULT = `inspector at the defaults (${DEFAULTS.inspector!.sampleRate * 100} % of writes, ${DEFAULTS.inspector!.readSampleRate! * 100} % of hits)`;
const EVERY = `every write checked (INSPECTOR_SAMPLE_RATE=1, at most ${DEFAULTS.inspector!.maxChecksPerSecond}/s)`;

/**
 * Scenario 10: what the consistency inspector (src/inspector/) costs a write. Three
 * write-through services on a database of their own and the bench's Redis: the
 * inspector off, at its defaults, and sampling every write (still capped by
 * INSPECTOR_MAX_CHECKS_PER_S). updateUser through each, one at a time and
 * CONCURRENCY at a time, the variants rotating round by round; then each service's
 * throughline_consistency_checks_total, which must hold no inconsistency.
 */
export async function inspectorCostScenario(bench: Bench): Promise<ScenarioResult> {
  const services: BenchProcess[] = [];
  let db: BenchDatabase | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled(services.map((s) => s.stop()));
      await db?.drop().catch((err: unknown) => console.error('could not drop the inspector database:', err));
    })());
  bench.defer(stop);
  const loadStart = loadavg()[0]!.toFixed(2);
  try {
    db = await createBenchDatabase(mysqlServerUrl(), `tl_bench_inspector_${Date.now()}`);
    await seed(db.url);
    const start = (name: string, rate: string) =>
      startService({ name, policy: 'write-through', mysqlUrl: db!.url, redisUrl: bench.redis.url, jwtSecret: bench.jwtSecret, env: { INSPECTOR_SAMPLE_RATE: rate } }).then((s) => {
        services.push(s);
        return s;
      });
    const [off, byDefault, every] = await Promise.all([start('inspector-off', '0'), start('inspector-default', String(DEFAULTS.inspector!.sampleRate)), start('inspector-every', '1')]);
    await Promise.all(services.map((s) => warm(s.url)));
    const block = Math.floor(SEED.users / 3);
    const variant = (name: string, s: BenchProcess, n: number): Writer => ({ name, service: s, url: s.url, ids: Array.from({ length: block }, (_, i) => n * block + i + 1), sent: 0 });
    const variants = [variant(OFF, off!, 0), variant(DEFAULT, byDefault!, 1), variant(EVERY, every!, 2)];
    for (const v of variants) await timeWrites(bench.token, v, ROUND, 1);
    const sequential = summarize(await interleave(variants, WRITES, ROUND, (w, n) => timeWrites(bench.token, w, n, 1)));
    const concurrent = summarize(await interleave(variants, WRITES, ROUND * CONCURRENCY, (w, n) => timeWrites(bench.token, w, n, CONCURRENCY)));
    const checks = await Promise.all(variants.map((v) => checksOf(v.service)));
    const row = (name: string) => [name, fmt(sequential[name]!.p50), fmt(sequential[name]!.p99), fmt(concurrent[name]!.p50), fmt(concurrent[name]!.p99)];
    const versus = (name: string) => [`${name.split(' (')[0]} ÷ off`, ratio(sequential[name]!.p50, sequential[OFF]!.p50), ratio(sequential[name]!.p99, sequential[OFF]!.p99), ratio(concurrent[name]!.p50, concurrent[OFF]!.p50), ratio(concurrent[name]!.p99, concurrent[OFF]!.p99)];
    const tables: Table[] = [
      {
        title: `updateUser, ${WRITES} per variant one at a time and ${WRITES} at ${CONCURRENCY} in flight`,
        columns: ['variant', 'p50 ms, 1', 'p99 ms, 1', `p50 ms, ${CONCURRENCY}`, `p99 ms, ${CONCURRENCY}`],
        rows: [row(OFF), row(DEFAULT), row(EVERY), versus(DEFAULT), versus(EVERY)],
      },
      {
        title: 'throughline_consistency_checks_total of each service over the run',
        columns: ['variant', 'checked', 'inconsistent', 'reads checked'],
        rows: variants.map((v, i) => [v.name, checks[i]!.checked, checks[i]!.inconsistent, checks[i]!.reads]),
      },
    ];
    const ratioAt = (name: string) => sequential[name]!.p50 / sequential[OFF]!.p50;
    const targets: Target[] = [
      { target: `write p50 one at a time, inspector at the defaults ≤ ${TARGET}× off`, actual: ratio(sequential[DEFAULT]!.p50, sequential[OFF]!.p50), met: ratioAt(DEFAULT) <= TARGET },
      { target: 'no inconsistency found', actual: checks.map((c) => c.inconsistent).join(', '), met: checks.every((c) => c.inconsistent === 0) },
    ];
    return {
      id: '10',
      title: 'Consistency inspector',
      method: `Three write-through services on a database of their own (${fmt(SEED.users)} seeded users, warm) and the bench's Redis: ${[OFF, DEFAULT, EVERY].join('; ')}. updateUser over HTTP, each on its own third of the users, rotating every round (${ROUND} writes one at a time, ${ROUND * CONCURRENCY} at ${CONCURRENCY} in flight).`,
      tables,
      targets,
      notes: [`Load average (1 min) at the scenario's start and end: ${loadStart} and ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores.`],
      data: { sequential, concurrent, checks },
    };
  } finally {
    await stop();
  }
}

/** The inspector's counts on a service's /metrics: keys checked, inconsistent, reads checked. */
async function checksOf(s: BenchProcess): Promise<{ checked: number; inconsistent: number; reads: number }> {
  const text = await readMetrics(s);
  const sum = (results: string[]) =>
    [...text.matchAll(/^throughline_consistency_checks_total\{[^}]*result="(\w+)"[^}]*\}\s+(\S+)/gm)].filter((m) => results.includes(m[1]!)).reduce((n, m) => n + Number(m[2]), 0);
  return { checked: sum(['consistent', 'in_flight', 'recorded', 'inconsistent']), inconsistent: sum(['inconsistent']), reads: sum(['read_fresh', 'read_stale']) };
}
