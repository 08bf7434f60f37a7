import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { issueToken } from '../../src/auth/tokens';
import { startBinlogMysql } from '../lib/binlog-mysql';
import { QUERIES, body, gql } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { createBenchDatabase, type BenchDatabase } from '../lib/mysql';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import { readMetrics, startService, type BenchProcess } from '../lib/processes';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { SEED, seed, warm } from '../lib/seed';
import type { Bench } from '../lib/setup';
import { fmt, quantile, ratio } from '../lib/stats';

/** Out-of-band UPDATEs timed until the API answers them. */
const SAMPLES = Number(process.env.BENCH_FOLLOWER_SAMPLES ?? 300);
/** Rows of the bulk UPDATE. */
const BULK_ROWS = Number(process.env.BENCH_FOLLOWER_ROWS ?? 100_000);
const POLL_MS = 2;
/** How often the bulk's wait reads /metrics: coarse enough that rendering it costs the service little. */
const METRICS_POLL_MS = 50;
const VISIBLE_TARGET_MS = 250;
const BULK_TARGET_ROWS_PER_S = 20_000;
const WRITE_TARGET = 1.05;
/** Each variant at least three times, alternating (compareLoads rotates the order every round). */
const WRITE_PLAN = { ...LOAD_PLAN, rounds: Math.max(3, LOAD_PLAN.rounds) };

const ON = 'follower on';
const OFF = 'follower off';
const NAME_QUERY = 'query Name($id: ID!) { user(id: $id) { name } }';
const STATUS_QUERY = '{ cacheStatus { changeFollower { state lagSeconds appliedApi appliedOutOfBand } } }';
const WRITES: Record<string, string[]> = {
  'updateUser, distinct rows': Array.from({ length: SEED.users }, (_, i) => body(QUERIES.updateUser, { id: String(i + 1), name: `Row ${i + 1}` })),
  'updateUser, one hot row': Array.from({ length: 100 }, (_, i) => body(QUERIES.updateUser, { id: '1', name: `Hot ${i}` })),
};

interface FollowerView {
  state: string;
  lagSeconds: number | null;
  appliedApi: number;
  appliedOutOfBand: number;
}

/**
 * Scenario 8: the change follower (src/changes/), on a private MariaDB with a
 * row-based binlog (lib/binlog-mysql.ts), started only for this scenario. Two
 * write-through services on it, each on a database of its own (a follower follows only
 * its own database, while every write to the server goes through the one binlog it
 * reads): one with CHANGE_FOLLOWER=auto, one with CHANGE_FOLLOWER=off.
 *
 * 1. a plain SQL UPDATE of one cached user, timed from its return until the follower-on
 *    service answers the new name (polled every ~2 ms);
 * 2. a 100,000-row UPDATE by SQL, timed from its return until the service's
 *    throughline_changes_applied_total{entity="user",source="out_of_band"} has grown by
 *    as many rows;
 * 3. updateUser through both services, interleaved: what following costs the write path.
 */
export async function changeFollowerScenario(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  const services: BenchProcess[] = [];
  const databases: BenchDatabase[] = [];
  let sql: mysql.Connection | undefined;
  // The private server's stop(), handed over as soon as its directory exists.
  let stopServer: (() => Promise<void>) | undefined;
  let stopped: Promise<void> | undefined;
  // Once, from the finally below or from the bench's tearDown (Ctrl-C).
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled(services.map((s) => s.stop()));
      await sql?.end().catch(() => sql?.destroy());
      await Promise.allSettled(databases.map((d) => d.admin.end()));
      await stopServer?.();
    })());
  bench.defer(stop);
  const loadStart = loadavg()[0]!.toFixed(2);
  try {
    const server = await startBinlogMysql((s) => (stopServer = s));
    const stamp = Date.now();
    for (const side of ['on', 'off']) {
      const db = await createBenchDatabase(server.serverUrl, `tl_bench_follower_${side}_${stamp}`);
      databases.push(db);
      await seed(db.url);
    }
    const [onDb, offDb] = databases as [BenchDatabase, BenchDatabase];
    const version = await onDb.version();
    const start = (name: string, db: BenchDatabase, follower: 'auto' | 'off') =>
      startService({ name, policy: 'write-through', mysqlUrl: db.url, redisUrl: bench.redis.url, jwtSecret: bench.jwtSecret, env: { CHANGE_FOLLOWER: follower } }).then((s) => {
        services.push(s);
        return s;
      });
    const [on, off] = await Promise.all([start('follower-on', onDb, 'auto'), start('follower-off', offDb, 'off')]);
    await Promise.all([warm(on.url), warm(off.url)]);
    // cacheStatus wants the admin scope, which the bench's token (read, write) does not grant.
    const admin = await issueToken(bench.jwtSecret, ['admin'], { subject: 'bench-admin', expiresIn: '2h' });
    const view = async (s: BenchProcess) => (await gql<{ cacheStatus: { changeFollower: FollowerView | null } }>(s.url, STATUS_QUERY, {}, admin)).cacheStatus.changeFollower;
    await waitFor('the follower-on service to follow the binlog', 30_000, async () => (await view(on))?.state === 'following');
    if ((await view(off)) !== null) throw new Error('the follower-off service reports a change follower');
    console.log(`  private MariaDB ${version} with a row binlog on port ${server.port} (pid ${server.pid}); ${on.name} (pid ${on.pid}) following, ${off.name} (pid ${off.pid})`);

    sql = await mysql.createConnection({ uri: onDb.url });
    const visible = await timeVisibility(sql, on);
    console.log(`    out-of-band UPDATE → visible: p50 ${fmt(visible.p50)} ms, p99 ${fmt(visible.p99)} ms over ${visible.samples} samples`);

    const apiBefore = (await view(on))!.appliedApi;
    const writes: Record<string, Record<string, Aggregate>> = {};
    for (const [write, bodies] of Object.entries(WRITES)) {
      writes[write] = await compareLoads(
        [
          { name: ON, url: on.url, bodies, token: bench.token, checkBodies: true },
          { name: OFF, url: off.url, bodies, token: bench.token, checkBodies: true },
        ],
        { ...WRITE_PLAN, onRun: (name, run) => onRun?.(write, name, run) },
      );
    }
    await waitFor('the follower to catch up after the writes', 60_000, async () => (await view(on))?.lagSeconds === 0);
    const onWrites = Object.values(writes).reduce((n, r) => n + r[ON]!.requests, 0);
    const apiApplied = (await view(on))!.appliedApi - apiBefore;

    const bulk = await timeBulk(sql, on);
    console.log(`    bulk UPDATE of ${fmt(bulk.rows)} rows: the statement ${fmt(bulk.update.statementMs / 1000)} s, then applied in ${fmt(bulk.update.appliedMs / 1000)} s (${fmt(bulk.update.rowsPerSecond)} rows/s)`);

    const tables: Table[] = [
      {
        title: 'Out-of-band UPDATE → visible through the API',
        columns: ['', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'reads per sample (mean)', 'new name on the first read'],
        rows: [
          ['UPDATE → new name answered', visible.samples, fmt(visible.p50), fmt(visible.p99), fmt(visible.max), fmt(visible.meanPolls), `${fmt((100 * visible.firstPoll) / visible.samples)} %`],
          ['a plain user(id) read, for scale', visible.samples, fmt(visible.plainRead.p50), fmt(visible.plainRead.p99), '', '', ''],
        ],
      },
      {
        title: `Follower throughput: ${fmt(bulk.rows)} rows by one statement`,
        columns: ['statement', 'rows', 'statement s', 'applied after its return s', 'rows/s after the commit'],
        rows: [
          [`INSERT … SELECT … FROM seq_1_to_${bulk.rows}`, fmt(bulk.rows), fmt(bulk.insert.statementMs / 1000), fmt(bulk.insert.appliedMs / 1000), fmt(bulk.insert.rowsPerSecond)],
          ['UPDATE users SET bio = …', fmt(bulk.rows), fmt(bulk.update.statementMs / 1000), fmt(bulk.update.appliedMs / 1000), fmt(bulk.update.rowsPerSecond)],
        ],
      },
    ];
    const targets: Target[] = [
      {
        target: `out-of-band UPDATE visible through the API, p99 ≤ ${VISIBLE_TARGET_MS} ms`,
        actual: `p99 ${fmt(visible.p99)} ms, p50 ${fmt(visible.p50)} ms (${visible.samples} samples)`,
        met: visible.p99 <= VISIBLE_TARGET_MS,
      },
      {
        target: `a ${fmt(bulk.rows)}-row UPDATE applied at ≥ ${fmt(BULK_TARGET_ROWS_PER_S)} rows/s after its commit`,
        actual: `${fmt(bulk.update.rowsPerSecond)} rows/s (${fmt(bulk.update.appliedMs / 1000)} s after a ${fmt(bulk.update.statementMs / 1000)} s statement)`,
        met: bulk.update.rowsPerSecond >= BULK_TARGET_ROWS_PER_S,
      },
    ];
    for (const [write, r] of Object.entries(writes)) {
      const [a, b] = [r[ON]!, r[OFF]!];
      tables.push({
        title: `${write}, ${WRITE_PLAN.connections} connections`,
        columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'p50 over rounds'],
        rows: [
          [ON, fmt(a.rps), fmt(a.p50), fmt(a.p99), spread(a)],
          [OFF, fmt(b.rps), fmt(b.p50), fmt(b.p99), spread(b)],
          ['on ÷ off', ratio(a.rps, b.rps), ratio(a.p50, b.p50), ratio(a.p99, b.p99), ''],
        ],
      });
      targets.push({
        target: `${write} p50: follower on ≤ ${WRITE_TARGET}× off`,
        actual: `${ratio(a.p50, b.p50)} (${fmt(a.p50)} vs ${fmt(b.p50)} ms; p99 ${ratio(a.p99, b.p99)}, ${fmt(a.p99)} vs ${fmt(b.p99)} ms)`,
        met: a.p50 <= WRITE_TARGET * b.p50,
      });
    }
    return {
      id: '8',
      title: 'Change follower',
      method:
        `A private MariaDB ${version} with a row-based binlog (bench/lib/binlog-mysql.ts) and two write-through services on it, each on its own database (${fmt(SEED.users)} seeded users, caches warm): one with CHANGE_FOLLOWER=auto, one with CHANGE_FOLLOWER=off. ` +
        `Visibility: ${SAMPLES} times, a plain SQL UPDATE of a random seeded user's name on a mysql2 connection, then user(id) through the follower-on service every ~${POLL_MS} ms from the UPDATE's return until it answers the new name. ` +
        `Throughput: ${fmt(BULK_ROWS)} users inserted by SQL (MariaDB's sequence engine) and, once applied, updated by one UPDATE; timed from the statement's return until the service's throughline_changes_applied_total{entity="user",source="out_of_band"} has grown by as many rows (read every ${METRICS_POLL_MS} ms). ` +
        `Write path: ${describePlan(WRITE_PLAN)}, the two services alternating; every answer's body is checked for errors.`,
      tables,
      targets,
      notes: [
        `Over the write runs (warm-ups included) the follower applied ${fmt(apiApplied)} of the follower-on service's own row changes (source api; its timed runs made ${fmt(onWrites)} updates): it did follow the writes it is compared on.`,
        `Load average (1 min) at the scenario's start and end: ${loadStart} and ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores.`,
        `While waiting for the bulk UPDATE to be applied, /metrics was read ${bulk.update.metricsReads} times (${fmt(bulk.update.metricsReadMs)} ms each on average), every ${METRICS_POLL_MS} ms.`,
        "Both services' databases are on the one server, so the follower-on service also receives (and skips) the other database's binlog events during the off rounds.",
      ],
      data: { samples: SAMPLES, visible, bulk, plan: WRITE_PLAN, writes, apiApplied, onWrites },
    };
  } finally {
    await stop();
  }
}

/** Part 1: out-of-band UPDATE → the new name through the API. */
async function timeVisibility(sql: mysql.Connection, on: BenchProcess) {
  const ms: number[] = [];
  let polls = 0;
  let firstPoll = 0;
  // For scale: the same read with nothing to wait for, one at a time.
  const plain: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await gql(on.url, NAME_QUERY, { id: String(1 + (i % SEED.users)) });
    plain.push(performance.now() - t);
  }
  for (let i = 0; i < SAMPLES; i++) {
    const id = 1 + Math.floor(Math.random() * SEED.users);
    const name = `Out of band ${i} ${randomBytes(4).toString('hex')}`;
    await sql.query('UPDATE users SET name = ? WHERE id = ?', [name, id]);
    const t0 = performance.now();
    for (let poll = 1; ; poll++) {
      polls++;
      const { user } = await gql<{ user: { name: string } | null }>(on.url, NAME_QUERY, { id: String(id) });
      if (user?.name === name) {
        if (poll === 1) firstPoll++;
        break;
      }
      if (performance.now() - t0 > 10_000) throw new Error(`user ${id}'s new name was not answered within 10 s of its UPDATE`);
      await sleep(POLL_MS);
    }
    ms.push(performance.now() - t0);
  }
  return {
    samples: ms.length,
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
    max: Math.max(...ms),
    meanPolls: polls / ms.length,
    firstPoll,
    plainRead: { p50: quantile(plain, 0.5), p99: quantile(plain, 0.99) },
  };
}

/** throughline_changes_applied_total{entity="user",source="out_of_band"} on the service's /metrics. */
async function appliedOutOfBand(on: BenchProcess): Promise<number> {
  const text = await readMetrics(on);
  for (const m of text.matchAll(/^throughline_changes_applied_total\{([^}]*)\}\s+(\S+)/gm)) {
    const labels = m[1]!;
    if (labels.includes('entity="user"') && labels.includes('source="out_of_band"')) return Number(m[2]);
  }
  return 0; // no such change applied yet
}

/** One statement, then how long the follower takes to apply `rows` changes after it returns. */
async function timeStatement(sql: mysql.Connection, on: BenchProcess, rows: number, statement: string, values: unknown[]) {
  const before = await appliedOutOfBand(on);
  const started = performance.now();
  const [result] = await sql.query(statement, values);
  const returned = performance.now();
  const affected = (result as mysql.ResultSetHeader).affectedRows;
  if (affected !== rows) throw new Error(`${statement} changed ${affected} rows, not ${rows}`);
  const deadline = returned + 120_000;
  let applied = before;
  let reads = 0;
  let readMs = 0;
  for (;;) {
    const t = performance.now();
    applied = await appliedOutOfBand(on);
    readMs += performance.now() - t;
    reads++;
    if (applied >= before + rows) break;
    if (performance.now() > deadline) throw new Error(`the follower applied ${applied - before} of ${rows} rows within 120 s`);
    await sleep(METRICS_POLL_MS);
  }
  const done = performance.now();
  const appliedMs = done - returned;
  return {
    statementMs: returned - started,
    appliedMs,
    rowsPerSecond: rows / (appliedMs / 1000),
    totalRowsPerSecond: rows / ((done - started) / 1000),
    metricsReads: reads,
    metricsReadMs: readMs / reads,
  };
}

/** Part 2: the bulk rows inserted (and applied), then all of them updated by one statement. */
async function timeBulk(sql: mysql.Connection, on: BenchProcess) {
  const [[{ top }]] = (await sql.query('SELECT MAX(id) AS top FROM users')) as unknown as [[{ top: number }]];
  const insert = await timeStatement(
    sql,
    on,
    BULK_ROWS,
    `INSERT INTO users (name, email) SELECT CONCAT('Bulk ', seq), CONCAT('bulk-', seq, '@bench.test') FROM seq_1_to_${BULK_ROWS}`,
    [],
  );
  const update = await timeStatement(sql, on, BULK_ROWS, 'UPDATE users SET bio = ? WHERE id > ?', [`Bulk bio ${randomBytes(4).toString('hex')}`, top]);
  return { rows: BULK_ROWS, insert, update };
}

const spread = (a: Aggregate) => `${fmt(Math.min(...a.runs.map((r) => r.p50)))}–${fmt(Math.max(...a.runs.map((r) => r.p50)))}`;

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
