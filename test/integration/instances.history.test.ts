import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHistory,
  countViolations,
  describeViolations,
  summarizeHistory,
  type FinalKeyState,
  type HistoryViolations,
  type Operation,
  type ReadResult,
  type WriteOutcome,
} from '../helpers/history';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { QUICK_FAILURES, ServiceResources, type ServiceInstance } from '../helpers/service-process';
import { startTcpProxyProcess, type TcpProxyProcess } from '../helpers/tcp-proxy-process';

/**
 * A Jepsen-style history on three service processes: one MySQL database, one Redis
 * (a private one, so it can be paused and killed), instance C reaching it only
 * through a TCP proxy (so its link alone can be cut or slowed, test/helpers/tcp-proxy.ts). Concurrent clients
 * read and write a few hot rows and delete others, each operation through any
 * instance, while a fault schedule runs; every operation's invoke and complete
 * times are recorded, and test/helpers/history.ts judges the history by them:
 * no stale read, no non-monotonic read, no phantom value, no read of a deleted row,
 * and, once the faults stop and the repairs have run, no cache entry that differs
 * from MySQL.
 *
 * HISTORY_SECONDS sets each run's length; HISTORY_WORKERS the number of clients;
 * HISTORY_ENV adds settings to the instances' ("READ_LEASE_MS=0 FOO=1"); HISTORY_DUMP
 * names a directory to write each run's operations and failure log to, as JSON.
 */
const SECONDS = Number(process.env.HISTORY_SECONDS ?? 8);
const WORKERS = Number(process.env.HISTORY_WORKERS ?? 24);
const HOT_ROWS = 10;
/** Rows deleted one by one through each run, read around their deletion. */
const DOOMED_ROWS = 24;
/** Of a client's steps (besides deletes), how many are updates; each is followed by reads on the other two instances. */
const WRITE_SHARE = 0.25;

/**
 * Failures quick to happen and to repair (a 100 ms Redis timeout, no retries), but
 * the failure feed polled at the service's default, 250 ms: how long another
 * instance may go on trusting a cache entry a failed write left behind. No change
 * follower: the history is the write path's, with nothing applying commits besides.
 */
const SERVICE_ENV: Record<string, string> = {
  ...QUICK_FAILURES,
  FAILURE_FEED_POLL_MS: '250',
  CHANGE_FOLLOWER: 'off',
  SEED_DEMO_DATA: 'false',
  ...settingsFrom(process.env.HISTORY_ENV),
};

const READ = 'query($id: ID!) { user(id: $id) { version name } }';
const UPDATE = 'mutation($id: ID!, $name: String!) { updateUser(id: $id, input: { name: $name }) { version name } }';
const DELETE = 'mutation($id: ID!) { deleteUser(id: $id) }';
const CREATE = 'mutation($name: String!, $email: String!) { createUser(input: { name: $name, email: $email }) { id version name } }';

const resources = new ServiceResources();
let redis: PrivateRedis;
let proxy: TcpProxyProcess;
let instances: ServiceInstance[];
let database: { name: string; url: string };
let keyPrefix: string;
let pool: mysql.Pool;
let cache: Redis;

beforeAll(async () => {
  redis = await startPrivateRedis();
  // In a process of its own: in this one, the clients' own work would hold C's replies up.
  proxy = await startTcpProxyProcess({ host: '127.0.0.1', port: redis.port });
  database = resources.database();
  keyPrefix = resources.keyPrefix();
  const env = { ...SERVICE_ENV, MYSQL_URL: database.url, KEY_PREFIX: keyPrefix, REDIS_URL: redis.url };
  // The first one migrates the database; the others find it done.
  const a = await resources.instance(env, 'instance-a');
  const [b, c] = await Promise.all([resources.instance(env, 'instance-b'), resources.instance({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` }, 'instance-c')]);
  instances = [a, b, c];
  await warmUp();
  pool = mysql.createPool({ uri: database.url, connectionLimit: 2 });
  cache = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  cache.on('error', () => {}); // the tests kill this Redis; reads after it report their own errors
}, 60_000);

afterAll(async () => {
  cache?.disconnect();
  await pool?.end();
  await resources.cleanUp();
  await proxy?.close();
  await redis?.dispose();
});

/** What breaks while the clients run; `run` returns once everything is restored, by `until` at the latest. */
interface FaultSchedule {
  run(until: number, duration: number): Promise<void>;
  /** Whether cache writes must have failed in the run: else the fault did not bite. */
  failsCacheWrites: boolean;
}

const NO_FAULTS: FaultSchedule = { run: async () => {}, failsCacheWrites: false };

/** SIGSTOP for 1–2 s, SIGCONT, again and again: every instance's commands time out, and the queued ones run late. */
const REDIS_PAUSED: FaultSchedule = {
  failsCacheWrites: true,
  async run(until) {
    while (performance.now() < until - 1_500) {
      await sleepAtMost(between(300, 700), until);
      redis.pause();
      try {
        await sleepAtMost(between(1_000, 2_000), until);
      } finally {
        redis.resume();
      }
    }
  },
};

/** Killed 30% of the way in, started again 1.5 s later, empty. */
const REDIS_KILLED: FaultSchedule = {
  failsCacheWrites: true,
  async run(until, duration) {
    await sleepAtMost(duration * 0.3, until);
    await redis.kill();
    await sleepAtMost(1_500, until);
    await redis.restart();
  },
};

/** Instance C's connections to Redis dropped, and refused for 1–2 s, again and again; A and B are untouched. */
const C_CUT_OFF: FaultSchedule = {
  failsCacheWrites: true,
  async run(until) {
    while (performance.now() < until - 1_500) {
      await sleepAtMost(between(300, 700), until);
      await proxy.cut();
      try {
        await sleepAtMost(between(1_000, 2_000), until);
      } finally {
        await proxy.restore();
      }
    }
  },
};

/**
 * Redis's replies to instance C held 200–800 ms (its 100 ms timeout is long past)
 * from a tenth of the run to its last tenth: C's commands run, but C hears of none
 * of them; its circuit opens, and its cache writes are not even tried.
 */
const C_DELAYED: FaultSchedule = {
  failsCacheWrites: true,
  async run(until, duration) {
    await sleepAtMost(duration * 0.1, until);
    await proxy.delay({ min: 200, max: 800 });
    try {
      await sleepAtMost(duration * 0.8, until);
    } finally {
      await proxy.restore();
    }
  },
};

describe('a history on three instances', () => {
  const timeout = SECONDS * 1_000 + 60_000;

  it('reports no violation of any kind with no faults', { timeout }, async () => {
    await expectCleanHistory('no faults', NO_FAULTS);
  });

  it('reports no violation of any kind while Redis is paused again and again', { timeout }, async () => {
    await expectCleanHistory('Redis paused', REDIS_PAUSED);
  });

  it('reports no violation of any kind when Redis is killed and comes back empty', { timeout }, async () => {
    await expectCleanHistory('Redis killed', REDIS_KILLED);
  });

  it("reports no violation of any kind while instance C's connection to Redis is cut", { timeout }, async () => {
    await expectCleanHistory('C cut off', C_CUT_OFF);
  });

  it("reports no violation of any kind while instance C's Redis replies are delayed 200–800 ms", { timeout }, async () => {
    await expectCleanHistory('C delayed', C_DELAYED);
  });
});

async function expectCleanHistory(name: string, fault: FaultSchedule): Promise<void> {
  const { summary, violations, cacheWriteFailures } = await runHistory(fault, name);
  const failed = Object.values(cacheWriteFailures).reduce((a, b) => a + b, 0);
  console.log(
    `history (${name}, ${SECONDS} s, ${WORKERS} clients): ${summary.acknowledgedWrites} writes acknowledged (${summary.unknownWrites} unknown), ` +
      `${summary.acknowledgedDeletes} deletes, ${summary.reads} reads (${summary.failedReads} failed), ` +
      `${failed} cache writes failed ${JSON.stringify(cacheWriteFailures)}\n${describeViolations(violations, 3)}`,
  );
  // The history did something: a run with nothing in it passes any checker.
  expect(summary.acknowledgedWrites).toBeGreaterThanOrEqual(10 * SECONDS);
  expect(summary.readsOfRows).toBeGreaterThanOrEqual(50 * SECONDS);
  expect(summary.acknowledgedDeletes).toBeGreaterThanOrEqual(DOOMED_ROWS / 2);
  if (fault.failsCacheWrites) expect(failed, 'cache writes that failed during the run').toBeGreaterThan(0);
  expect(countViolations(violations), describeViolations(violations, 5)).toBe(0);
}

interface HistoryRun {
  violations: HistoryViolations;
  summary: ReturnType<typeof summarizeHistory>;
  /** Rows the run added to the failure log, by the instance that failed. */
  cacheWriteFailures: Record<string, number>;
}

/** Fresh rows, the clients and the fault schedule side by side, then quiescence and the check. */
async function runHistory(fault: FaultSchedule, name: string): Promise<HistoryRun> {
  await healthy();
  const operations: Operation[] = [];
  const hot = await Promise.all(Array.from({ length: HOT_ROWS }, (_, i) => createRow(operations, `hot-${i}`)));
  const doomed = await Promise.all(Array.from({ length: DOOMED_ROWS }, (_, i) => createRow(operations, `doomed-${i}`)));
  const failuresBefore = await lastFailureId();

  const duration = SECONDS * 1_000;
  const origin = performance.now();
  const until = origin + duration;
  const workload = new Workload(operations, hot, doomed, origin, duration);
  await Promise.all([fault.run(until, duration), ...Array.from({ length: WORKERS }, (_, n) => workload.client(`w${n}`, until))]);

  const finalState = await quiescentState([...hot, ...doomed]);
  const violations = checkHistory(operations, finalState, { origin });
  if (process.env.HISTORY_DUMP) await dump(process.env.HISTORY_DUMP, name, { origin, operations, finalState, violations, failures: await failureLog(failuresBefore) });
  return { violations, summary: summarizeHistory(operations), cacheWriteFailures: await failuresSince(failuresBefore) };
}

/**
 * Every instance reaches Redis through a closed circuit, and no failure waits for its
 * repair: so a run starts clean, and does not inherit the last one's fault (an
 * instance whose circuit is still open skips its cache writes).
 */
async function healthy(): Promise<void> {
  const STATUS = '{ cacheStatus { circuit redis backlog } }';
  await pollUntil(
    'every instance healthy, with nothing to repair',
    async () => {
      // A half-open circuit closes on its next call that succeeds: a read through each
      // instance is that call, as live traffic would be (with intents deleted once
      // settled, the sweep no longer reads the cache in the background).
      await Promise.all(instances.map((i) => i.gql('{ user(id: "1") { id } }')));
      const statuses = await Promise.all(instances.map(async (i) => ({ instance: i.name, ...(await i.gql(STATUS)).data?.cacheStatus })));
      if (statuses.some((s) => s.circuit !== 'closed' || s.redis !== 'ok' || s.backlog !== 0)) throw new Error(`not yet: ${JSON.stringify(statuses)}`);
      return true;
    },
    20_000,
  );
}

/**
 * Each instance answers every operation of the workload a few times before any run:
 * compiling them (GRAPHQL_EXECUTOR jit) is slow enough, at first, for a cache write
 * beside it to time out, a fault of no schedule's.
 */
async function warmUp(): Promise<void> {
  const scratch: Operation[] = [];
  const [id, gone] = await Promise.all([createRow(scratch, 'warm-up'), createRow(scratch, 'warm-up')]);
  await Promise.all(
    instances.map(async (instance, i) => {
      for (let round = 0; round < 20; round++) {
        await instance.gql(UPDATE, { id: String(id), name: `warm-up ${i}-${round}` });
        await instance.gql(READ, { id: String(id) });
      }
      await instance.gql(DELETE, { id: String(gone) });
    }),
  );
}

/** A row made through instance A; its creation is the history's first acknowledged write of it. */
async function createRow(operations: Operation[], label: string): Promise<number> {
  const name = `${label}-${Math.random().toString(36).slice(2, 8)}`;
  const invokedAt = performance.now();
  const res = await instances[0]!.gql(CREATE, { name, email: `${name}@example.com` });
  if (res.errors) throw new Error(`createUser failed: ${JSON.stringify(res.errors)}`);
  const row = res.data.createUser as { id: string; version: number; name: string };
  const outcome: WriteOutcome = { type: 'ok', version: row.version, name: row.name };
  operations.push({ kind: 'write', client: 'setup', instance: instances[0]!.name, key: `user:${row.id}`, name, outcome, invokedAt, completedAt: performance.now() });
  return Number(row.id);
}

/**
 * What the clients do. Each client runs one operation at a time, each through an
 * instance picked at random: mostly reads, of hot rows and of rows around their
 * deletion; updates with a name no other write uses; and, as each doomed row falls
 * due, its delete. After every update or delete the client reads the row at once
 * through the two other instances: the read that finds an entry a failed cache write
 * left behind, before those instances hear of the failure.
 */
class Workload {
  private readonly doomed: Array<{ id: number; dueAt: number; claimed: boolean; deletedAt?: number }>;

  constructor(
    private readonly operations: Operation[],
    private readonly hot: number[],
    doomed: number[],
    origin: number,
    duration: number,
  ) {
    // Spread over the first 80% of the run, so the last deletes are read for a while too.
    this.doomed = doomed.map((id, i) => ({ id, dueAt: origin + ((i + 1) / (doomed.length + 1)) * duration * 0.8, claimed: false }));
  }

  async client(client: string, until: number): Promise<void> {
    let seq = 0;
    while (performance.now() < until) {
      const on = pick(instances);
      const due = this.claimDueDelete();
      if (due) {
        await this.remove(client, on, due);
        await this.readElsewhere(client, on, due.id);
      } else if (Math.random() < WRITE_SHARE) {
        const id = this.writable();
        await this.update(client, on, id, `${client}-${seq++}`);
        await this.readElsewhere(client, on, id);
      } else {
        await this.read(client, on, this.readable());
      }
    }
  }

  private async readElsewhere(client: string, wrote: ServiceInstance, id: number): Promise<void> {
    const others = instances.filter((i) => i !== wrote);
    if (Math.random() < 0.5) others.reverse();
    for (const other of others) await this.read(client, other, id);
  }

  private async read(client: string, on: ServiceInstance, id: number): Promise<void> {
    const invokedAt = performance.now();
    let result: ReadResult;
    try {
      const res = await on.gql(READ, { id: String(id) });
      const user = res.data?.user as { version: number; name: string } | null | undefined;
      result = res.errors ? { type: 'error', error: errorOf(res.errors) } : user ? { type: 'row', version: user.version, name: user.name } : { type: 'none' };
    } catch (err) {
      result = { type: 'error', error: String(err) };
    }
    this.operations.push({ kind: 'read', client, instance: on.name, key: `user:${id}`, result, invokedAt, completedAt: performance.now() });
  }

  private async update(client: string, on: ServiceInstance, id: number, name: string): Promise<void> {
    const invokedAt = performance.now();
    let outcome: WriteOutcome;
    try {
      const res = await on.gql(UPDATE, { id: String(id), name });
      const row = res.data?.updateUser as { version: number; name: string } | undefined;
      // NOT_FOUND: the row was already deleted, and nothing was written. Any other
      // error may have come after the commit.
      if (res.errors) outcome = { type: codeOf(res.errors) === 'NOT_FOUND' ? 'error' : 'unknown', error: errorOf(res.errors) };
      else outcome = { type: 'ok', version: row!.version, name: row!.name };
    } catch (err) {
      outcome = { type: 'unknown', error: String(err) };
    }
    this.operations.push({ kind: 'write', client, instance: on.name, key: `user:${id}`, name, outcome, invokedAt, completedAt: performance.now() });
  }

  private async remove(client: string, on: ServiceInstance, row: { id: number; deletedAt?: number }): Promise<void> {
    const invokedAt = performance.now();
    let outcome: Extract<Operation, { kind: 'delete' }>['outcome'];
    try {
      const res = await on.gql(DELETE, { id: String(row.id) });
      outcome = res.errors ? { type: 'unknown', error: errorOf(res.errors) } : { type: 'ok', deleted: res.data.deleteUser === true };
    } catch (err) {
      outcome = { type: 'unknown', error: String(err) };
    }
    const completedAt = performance.now();
    row.deletedAt = completedAt;
    this.operations.push({ kind: 'delete', client, instance: on.name, key: `user:${row.id}`, outcome, invokedAt, completedAt });
  }

  /** The next doomed row whose time has come, for one client alone to delete. */
  private claimDueDelete() {
    const now = performance.now();
    const due = this.doomed.find((d) => !d.claimed && d.dueAt <= now);
    if (due) due.claimed = true;
    return due;
  }

  /** Mostly a hot row; sometimes a doomed one not deleted yet, so deleted rows have versions of their own. */
  private writable(): number {
    const alive = this.doomed.filter((d) => !d.claimed);
    return Math.random() < 0.15 && alive.length > 0 ? pick(alive).id : pick(this.hot);
  }

  /** Mostly a hot row; else a doomed row that is alive or was deleted within the last 2 s. */
  private readable(): number {
    const now = performance.now();
    const around = this.doomed.filter((d) => d.deletedAt === undefined || now - d.deletedAt < 2_000);
    return Math.random() < 0.3 && around.length > 0 ? pick(around).id : pick(this.hot);
  }
}

/**
 * Waits, within a deadline, for every key's cache entry to agree with MySQL (the
 * failure log's repairs run every 100 ms), and returns the last state seen: whatever
 * still differs then is drift.
 */
async function quiescentState(ids: number[]): Promise<FinalKeyState[]> {
  let state: FinalKeyState[] = [];
  await pollUntil(
    'every cache entry to agree with MySQL',
    async () => {
      state = await finalState(ids);
      return checkHistory([], state).drift.length === 0;
    },
    20_000,
  ).catch(() => undefined); // reported as drift by the check
  return state;
}

async function finalState(ids: number[]): Promise<FinalKeyState[]> {
  const [rows] = (await pool.query('SELECT id, version, name FROM users WHERE id IN (?)', [ids])) as unknown as [Array<{ id: number; version: number; name: string }>];
  const byId = new Map(rows.map((r) => [Number(r.id), { version: Number(r.version), name: r.name }]));
  const cached = await cache.mget(ids.map((id) => `${keyPrefix}user:${id}`));
  return ids.map((id, i) => ({ key: `user:${id}`, mysql: byId.get(id) ?? null, cache: cached[i] ?? null }));
}

async function lastFailureId(): Promise<number> {
  const [[row]] = (await pool.query('SELECT COALESCE(MAX(id), 0) AS id FROM write_through_failures')) as unknown as [[{ id: number }]];
  return Number(row.id);
}

async function failureLog(afterId: number): Promise<unknown[]> {
  const [rows] = await pool.query('SELECT * FROM write_through_failures WHERE id > ? ORDER BY id', [afterId]);
  return rows as unknown[];
}

async function dump(dir: string, name: string, run: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name.replace(/\W+/g, '-')}.json`), JSON.stringify(run));
}

async function failuresSince(id: number): Promise<Record<string, number>> {
  const [rows] = (await pool.query('SELECT instance, COUNT(*) AS n FROM write_through_failures WHERE id > ? GROUP BY instance ORDER BY instance', [id])) as unknown as [
    Array<{ instance: string; n: number }>,
  ];
  return Object.fromEntries(rows.map((r) => [r.instance, Number(r.n)]));
}

/** `"A=1 B=2"` or `"A=1,B=2"` → { A: '1', B: '2' }. */
function settingsFrom(text: string | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`HISTORY_ENV: ${JSON.stringify(pair)} is not NAME=value`);
    settings[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return settings;
}

function codeOf(errors: unknown): string | undefined {
  return (errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code;
}

function errorOf(errors: unknown): string {
  const first = (errors as Array<{ message?: string }>)[0];
  return `${codeOf(errors) ?? 'ERROR'}: ${first?.message ?? JSON.stringify(errors)}`;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function between(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

/** A fault's pause: `ms`, but never past `until`. */
async function sleepAtMost(ms: number, until: number): Promise<void> {
  await sleep(Math.max(0, Math.min(ms, until - performance.now())));
}
