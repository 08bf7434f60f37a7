import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config';
import { QUERIES, gql } from '../lib/graphql';
import { createBenchDatabase, type BenchDatabase } from '../lib/mysql';
import { readMetrics, startService, type BenchProcess } from '../lib/processes';
import { startBenchRedis, type BenchRedis } from '../lib/redis';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { SEED, seed, warm } from '../lib/seed';
import { mysqlServerUrl, type Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';
import { interleave, summarize, timeWrites, type Sampled, type Writer } from '../lib/timed-writes';

/** The service's defaults: what an operator runs, and what the fence is measured on. */
const DEFAULTS = loadConfig({});
const POLL_MS = DEFAULTS.failureFeedPollMs;
const LEASE_MS = DEFAULTS.readLease!.leaseMs;
/** Failed writes per variant back to back (each fenced one waits about one poll). */
const FAILED = Number(process.env.BENCH_FENCE_SAMPLES ?? 100);
/** Failed writes per variant arriving at random moments. */
const ARRIVALS = Math.round(1.5 * FAILED);
/** Their mean rate (Poisson arrivals, not waiting for answers): about 4 fenced writes in flight. */
const ARRIVALS_PER_S = 20;
/** Arrivals per variant and round (the two writers alternating). */
const ARRIVAL_ROUND = 25;
/** Successful writes per variant and level. */
const SUCCEEDED = 3 * FAILED;
/** Writes in flight at once in the successful writes' second pass. */
const CONCURRENCY = 4;
/** Samples per variant and round: the variants alternate round by round (a b, b a, …) so drift cancels. */
const ROUND = 10;
const SUCCESS_TARGET = 1.05;

const FENCE_ON = 'failing writer, fence on';
const FENCE_OFF = 'failing writer, READ_LEASE_MS=0';
const LEASE_ON = 'healthy writer, lease on';
const LEASE_OFF = 'healthy writer, READ_LEASE_MS=0';

/**
 * Scenario 9: fenced acknowledgements (src/failures/fence.ts, read-lease.ts), at the
 * service's defaults (FAILURE_FEED_POLL_MS, READ_LEASE_MS), on a database of its own,
 * so the fence waits only for this scenario's instances: the read_leases table is in
 * the service's database, and the bench's other services run with READ_LEASE_MS=0.
 * Six services on it:
 * - two failing writers, fence on and READ_LEASE_MS=0, on a private redis-server that
 *   is stopped once they are warm: the connection's close opens their circuits, so
 *   every cache write fails at once and is recorded in MySQL;
 * - two readers holding leases (their cache on the bench's Redis), which the fenced
 *   writer waits for;
 * - two healthy writers on the bench's Redis, the lease on (the third lease the fenced
 *   writer waits for) and READ_LEASE_MS=0: a write whose cache write succeeds never waits.
 * updateUser through each pair, the two writers of a pair alternating round by round.
 * Failed writes back to back, then at random moments (a Poisson stream):
 * back to back, each write begins just after the poll that released the one before,
 * and so waits for nearly a whole poll of that instance; at a random moment it waits
 * for the last of the others' next polls (those that begin after its failure committed). Successful writes one at a time and
 * CONCURRENCY at a time.
 */
export async function fencedAcksScenario(bench: Bench): Promise<ScenarioResult> {
  const services: BenchProcess[] = [];
  let db: BenchDatabase | undefined;
  let doomed: BenchRedis | undefined;
  let stopped: Promise<void> | undefined;
  // Once, from the finally below or from the bench's tearDown (Ctrl-C).
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled(services.map((s) => s.stop()));
      await doomed?.stop();
      await db?.drop().catch((err: unknown) => console.error('could not drop the fence database:', err));
    })());
  bench.defer(stop);
  const loadStart = loadavg()[0]!.toFixed(2);
  const began = performance.now();
  try {
    doomed = await startBenchRedis();
    db = await createBenchDatabase(mysqlServerUrl(), `tl_bench_fence_${Date.now()}`);
    await seed(db.url);
    const start = (name: string, redisUrl: string, leaseMs: number) =>
      startService({
        name,
        policy: 'write-through',
        mysqlUrl: db!.url,
        redisUrl,
        jwtSecret: bench.jwtSecret,
        env: { FAILURE_FEED_POLL_MS: String(POLL_MS), READ_LEASE_MS: String(leaseMs) },
      }).then((s) => {
        services.push(s);
        return s;
      });
    const [fenced, unfenced, , , leased, unleased] = await Promise.all([
      start('fence-failing-on', doomed.url, LEASE_MS),
      start('fence-failing-off', doomed.url, 0),
      start('fence-reader-a', bench.redis.url, LEASE_MS),
      start('fence-reader-b', bench.redis.url, LEASE_MS),
      start('fence-healthy-on', bench.redis.url, LEASE_MS),
      start('fence-healthy-off', bench.redis.url, 0),
    ]);
    await Promise.all(services.map((s) => warm(s.url)));
    const ready = ((performance.now() - began) / 1000).toFixed(0);
    const leases = await db.admin.query(`SELECT instance FROM \`${db.name}\`.read_leases WHERE expires_at > NOW(3) ORDER BY instance`);
    const holders = (leases[0] as Array<{ instance: string }>).map((r) => r.instance);
    // By its PID: the failing writers' connections close, and their circuits open.
    await doomed.stop();
    await waitFor('the failing writers to see Redis gone', 10_000, async () => (await Promise.all([fenced!, unfenced!].map(redisDown))).every(Boolean));
    console.log(`  database ${db.name} seeded, six services started and warmed in ${ready} s; leases held by ${holders.join(', ')}; the failing writers' redis-server (pid ${doomed.pid}) stopped`);

    // Four blocks of ids, one per writer, so no two writers touch one row.
    const block = SEED.users / 4;
    const ids = (n: number) => Array.from({ length: block }, (_, i) => n * block + i + 1);
    const variant = (name: string, s: BenchProcess, n: number): Writer => ({ name, service: s, url: s.url, ids: ids(n), sent: 0 });
    const failing = [variant(FENCE_ON, fenced!, 0), variant(FENCE_OFF, unfenced!, 1)] as const;
    const healthy = [variant(LEASE_ON, leased!, 2), variant(LEASE_OFF, unleased!, 3)] as const;
    // A few of each first, not counted: connections, compiled operations.
    for (const v of [...failing, ...healthy]) await timeWrites(bench.token, v, ROUND, 1);
    // What the timed writes add to the failing writers' counters and to the fence's histogram.
    const failures = () => Promise.all(failing.map((w) => counter(w.service, 'throughline_write_through_failures_total')));
    const retries = () => Promise.all(failing.map((w) => counter(w.service, 'throughline_cache_write_retries_total')));
    const [failuresBefore, retriesBefore, fenceBefore] = [await failures(), await retries(), await fenceMetric(fenced!)];
    const runs = {
      failedSequential: await interleave(failing, FAILED, ROUND, (w, n) => timeWrites(bench.token, w, n, 1)),
      // At random moments, a write lands at any phase of the others' polls.
      failedArrivals: await interleave(failing, ARRIVALS, ARRIVAL_ROUND, (w, n) => timeArrivals(bench.token, w, n, ARRIVALS_PER_S)),
      succeededSequential: await interleave(healthy, SUCCEEDED, ROUND, (w, n) => timeWrites(bench.token, w, n, 1)),
      succeededConcurrent: await interleave(healthy, SUCCEEDED, ROUND, (w, n) => timeWrites(bench.token, w, n, CONCURRENCY)),
      // Past the cache, with the lease a read also asks write_intents whether what it saw has settled.
      readsPastCache: await interleave(failing, SUCCEEDED, ROUND, (w, n) => timeReads(bench.token, w, n)),
    };
    const failedWrites = (await failures()).map((n, i) => n - failuresBefore[i]!);
    const retried = (await retries()).map((n, i) => n - retriesBefore[i]!);
    const fence = minus(await fenceMetric(fenced!), fenceBefore);
    const timed = FAILED + ARRIVALS;
    if (failedWrites.some((n) => n !== timed)) throw new Error(`the failing writers recorded ${failedWrites.join(' and ')} failed cache writes over ${timed} timed writes each`);
    console.log(
      `    ${fenced!.name} /metrics: throughline_fence_wait_seconds passed ${fence.passed.count} (mean ${fmt(fence.passed.meanMs)} ms, ≤ 0.25 s ${fence.passed.le250}, ≤ 0.5 s ${fence.passed.le500}), expired ${fence.expired.count}`,
    );

    const failedSeq = summarize(runs.failedSequential);
    const failedRandom = summarize(runs.failedArrivals);
    const okSeq = summarize(runs.succeededSequential);
    const okConc = summarize(runs.succeededConcurrent);
    const reads = summarize(runs.readsPastCache);
    const added = (s: Record<string, Sampled>) => ({ p50: s[FENCE_ON]!.p50 - s[FENCE_OFF]!.p50, p99: s[FENCE_ON]!.p99 - s[FENCE_OFF]!.p99 });
    const addedSeq = added(failedSeq);
    const addedRandom = added(failedRandom);
    const row = (name: string, a: Sampled) => [name, a.samples, fmt(a.p50), fmt(a.p99), fmt(a.max)];
    const tables: Table[] = [
      {
        title: `updateUser whose cache write fails (Redis stopped), ${holders.length - 1} other leases to wait for; back to back, and at random moments (${ARRIVALS_PER_S}/s)`,
        columns: ['variant', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
        rows: [
          ...[FENCE_ON, FENCE_OFF].map((n) => row(`${n}, back to back`, failedSeq[n]!)),
          ['added by the fence, back to back', '', fmt(addedSeq.p50), fmt(addedSeq.p99), ''],
          ...[FENCE_ON, FENCE_OFF].map((n) => row(`${n}, at random moments`, failedRandom[n]!)),
          ['added by the fence, at random moments', '', fmt(addedRandom.p50), fmt(addedRandom.p99), ''],
        ],
      },
      {
        title: 'updateUser whose cache write succeeds',
        columns: ['variant', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
        rows: [
          ...[LEASE_ON, LEASE_OFF].map((n) => row(`${n}, one at a time`, okSeq[n]!)),
          ['on ÷ off, one at a time', '', ratio(okSeq[LEASE_ON]!.p50, okSeq[LEASE_OFF]!.p50), ratio(okSeq[LEASE_ON]!.p99, okSeq[LEASE_OFF]!.p99), ''],
          ...[LEASE_ON, LEASE_OFF].map((n) => row(`${n}, ${CONCURRENCY} at a time`, okConc[n]!)),
          [`on ÷ off, ${CONCURRENCY} at a time`, '', ratio(okConc[LEASE_ON]!.p50, okConc[LEASE_OFF]!.p50), ratio(okConc[LEASE_ON]!.p99, okConc[LEASE_OFF]!.p99), ''],
        ],
      },
      {
        title: 'user(id) with Redis stopped (read past the cache, one at a time): the lease\'s check that what it read has settled',
        columns: ['variant', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
        rows: [
          ...[FENCE_ON, FENCE_OFF].map((n) => row(n, reads[n]!)),
          ['on ÷ off', '', ratio(reads[FENCE_ON]!.p50, reads[FENCE_OFF]!.p50), ratio(reads[FENCE_ON]!.p99, reads[FENCE_OFF]!.p99), ''],
        ],
      },
      {
        title: `throughline_fence_wait_seconds of ${fenced!.name}, over the timed writes`,
        columns: ['outcome', 'count', 'mean ms', '≤ 0.1 s', '≤ 0.25 s', '≤ 0.5 s'],
        rows: OUTCOMES.map((o) => [o, fence[o].count, fmt(fence[o].meanMs), fence[o].le100, fence[o].le250, fence[o].le500]),
      },
    ];
    const targets: Target[] = [
      {
        target: `failed write, fence on: p99 ≤ READ_LEASE_MS (${fmt(LEASE_MS)} ms, the fence's bound)`,
        actual: `p99 ${fmt(failedSeq[FENCE_ON]!.p99)} ms back to back, ${fmt(failedRandom[FENCE_ON]!.p99)} ms at random moments`,
        met: Math.max(failedSeq[FENCE_ON]!.p99, failedRandom[FENCE_ON]!.p99) <= LEASE_MS,
      },
      {
        target: `the fence's added latency, writes at random moments: p50 ≤ one FAILURE_FEED_POLL_MS (${fmt(POLL_MS)} ms)`,
        actual: `p50 +${fmt(addedRandom.p50)} ms, p99 +${fmt(addedRandom.p99)} ms (back to back: +${fmt(addedSeq.p50)} and +${fmt(addedSeq.p99)} ms)`,
        met: addedRandom.p50 <= POLL_MS,
      },
      {
        target: 'every timed fenced write released by the other leases (passed), none waiting out the lease (expired)',
        actual: `${fence.passed.count} passed, ${fence.expired.count} expired, of ${timed} timed writes`,
        met: fence.expired.count === 0 && fence.passed.count === timed,
      },
      {
        target: `successful write p50, one at a time: lease on ≤ ${SUCCESS_TARGET}× READ_LEASE_MS=0`,
        actual: `${ratio(okSeq[LEASE_ON]!.p50, okSeq[LEASE_OFF]!.p50)} (${fmt(okSeq[LEASE_ON]!.p50)} vs ${fmt(okSeq[LEASE_OFF]!.p50)} ms; p99 ${fmt(okSeq[LEASE_ON]!.p99)} vs ${fmt(okSeq[LEASE_OFF]!.p99)} ms; ${CONCURRENCY} at a time ${ratio(okConc[LEASE_ON]!.p50, okConc[LEASE_OFF]!.p50)}, no target)`,
        met: okSeq[LEASE_ON]!.p50 <= SUCCESS_TARGET * okSeq[LEASE_OFF]!.p50,
      },
    ];
    return {
      id: '9',
      title: 'Fenced acknowledgements',
      method:
        `Six write-through services on a database of their own (${fmt(SEED.users)} seeded users, caches warm), at FAILURE_FEED_POLL_MS=${POLL_MS} and READ_LEASE_MS=${LEASE_MS} (the defaults) unless said: ` +
        `two failing writers (fence on, and READ_LEASE_MS=0) on a private redis-server stopped once they were warm, so each cache write fails at once (the closed connection opens the circuit) and is recorded in MySQL; ` +
        `two readers holding leases; two healthy writers on the bench's Redis (the lease on, and READ_LEASE_MS=0). The fenced writer waits for the other ${holders.length - 1} leases (the readers' and the healthy writer's). ` +
        `updateUser over HTTP, each writer on its own quarter of the users, after ${ROUND} uncounted writes each. Failed writes: ${FAILED} per variant back to back (one at a time, the two writers alternating every ${ROUND}, a b, b a, …), ` +
        `then ${ARRIVALS} per variant at random moments (a Poisson stream of ${ARRIVALS_PER_S}/s that does not wait for answers, the two writers alternating every ${ARRIVAL_ROUND}). ` +
        `Successful writes: ${SUCCEEDED} per variant one at a time, then ${CONCURRENCY} at a time, alternating every ${ROUND}; then ${SUCCEEDED} user(id) reads per variant on the failing writers, one at a time (past the cache: Redis is stopped). Every answer is checked for errors, and the failing writers' throughline_write_through_failures_total must grow by every timed write.`,
      tables,
      targets,
      notes: [
        `Back to back, a write begins just after the poll that released the one before it, so it waits for nearly one whole poll of that instance (${POLL_MS} ms less the write's own time); at random moments it waits for the last of the ${holders.length - 1} others' next polls after its failure committed. "Added by the fence" is the difference of the two variants' quantiles; the fence's histogram (from /metrics) has the wait itself.`,
        `Before the fence: a failed write with READ_LEASE_MS=0 takes ${fmt(failedSeq[FENCE_OFF]!.p50)} ms (p50, back to back) against ${fmt(okSeq[LEASE_OFF]!.p50)} ms for a successful one (one at a time): it records the failure in its own transaction before answering. ` +
          `With Redis stopped the connection's close opens the circuit, which refuses each cache write at once instead of waiting out REDIS_COMMAND_TIMEOUT_MS; only its probe, one call every BREAKER_RESET_MS, reaches the dead connection, fails at once and is retried after CACHE_WRITE_RETRY_DELAY_MS (${retried[0]} and ${retried[1]} retries over the two failing writers' timed writes). No setting was tuned.`,
        `Load average (1 min) at the scenario's start and end: ${loadStart} and ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores.`,
      ],
      data: { pollMs: POLL_MS, leaseMs: LEASE_MS, leases: holders, failed: { backToBack: failedSeq, randomMoments: failedRandom, added: { backToBack: addedSeq, randomMoments: addedRandom }, retries: retried }, succeeded: { oneAtATime: okSeq, [`${CONCURRENCY}AtATime`]: okConc }, readsPastCache: reads, fence },
    };
  } finally {
    await stop();
  }
}

/** `n` user(id) reads one at a time, over the writer's own rows (settled: its writes have all answered). */
async function timeReads(token: string, w: Writer, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let k = 0; k < n; k++) {
    const id = String(w.ids[(w.sent + k) % w.ids.length]);
    const t = performance.now();
    await gql(w.url, QUERIES.user, { id }, token);
    ms.push(performance.now() - t);
  }
  return ms;
}

/** `n` updateUser requests sent at exponential intervals (mean 1/`perSecond`), none waiting for another's answer. */
async function timeArrivals(token: string, w: Writer, n: number, perSecond: number): Promise<number[]> {
  const ms: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  let at = performance.now();
  for (let k = 0; k < n; k++) {
    at += -Math.log(1 - Math.random()) * (1000 / perSecond);
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    const i = w.sent++;
    const id = String(w.ids[i % w.ids.length]);
    const t = performance.now();
    inFlight.push(gql(w.url, QUERIES.updateUser, { id, name: `Fenced ${i}` }, token).then(() => void ms.push(performance.now() - t)));
  }
  await Promise.all(inFlight);
  return ms;
}

/** /readyz names Redis as not answering. */
const redisDown = (s: BenchProcess) =>
  fetch(s.url.replace(/\/graphql$/, '/readyz')).then(
    async (r) => !r.ok && ((await r.json()) as { redis?: string }).redis !== 'ok',
    () => false,
  );

/** The sum of a counter's series on a process's /metrics. */
async function counter(s: BenchProcess, name: string): Promise<number> {
  const text = await readMetrics(s);
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'gm'))) total += Number(m[1]);
  return total;
}

const OUTCOMES = ['passed', 'expired'] as const;
interface FenceSeries {
  count: number;
  sumMs: number;
  meanMs: number;
  le100: number;
  le250: number;
  le500: number;
}
type FenceMetric = Record<(typeof OUTCOMES)[number], FenceSeries>;

/** throughline_fence_wait_seconds by outcome: count, sum, mean, and the counts within some buckets. */
async function fenceMetric(s: BenchProcess): Promise<FenceMetric> {
  const text = await readMetrics(s);
  const value = (series: string, outcome: string, le?: string) => {
    const labels = le ? `le="${le}",outcome="${outcome}"` : `outcome="${outcome}"`;
    const m = new RegExp(`^throughline_fence_wait_seconds_${series}\\{${labels}\\}\\s+(\\S+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const of = (outcome: string): FenceSeries => {
    const count = value('count', outcome);
    const sumMs = 1000 * value('sum', outcome);
    return { count, sumMs, meanMs: count ? sumMs / count : NaN, le100: value('bucket', outcome, '0.1'), le250: value('bucket', outcome, '0.25'), le500: value('bucket', outcome, '0.5') };
  };
  return { passed: of('passed'), expired: of('expired') };
}

/** What the histogram gained between two readings. */
function minus(after: FenceMetric, before: FenceMetric): FenceMetric {
  const series = (a: FenceSeries, b: FenceSeries): FenceSeries => {
    const count = a.count - b.count;
    const sumMs = a.sumMs - b.sumMs;
    return { count, sumMs, meanMs: count ? sumMs / count : NaN, le100: a.le100 - b.le100, le250: a.le250 - b.le250, le500: a.le500 - b.le500 };
  };
  return { passed: series(after.passed, before.passed), expired: series(after.expired, before.expired) };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
