import { entities } from '../../src/entities';
import type { Pool } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, createRedis } from '../../src/cache/client';
import { CacheUnavailableError, CircuitBreakingCache } from '../../src/cache/circuit-breaker';
import type { CasWrite } from '../../src/cache/redis-cache';
import { RedisCache } from '../../src/cache/redis-cache';
import type { BreakerSettings, CacheSettings } from '../../src/config';
import { createDatabase, createPool, type Database } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { CacheWriter } from '../../src/writethrough/cache-writer';
import type { FailedWrite } from '../../src/writethrough/failures';
import { Repository, type Row } from '../../src/writethrough/repository';
import { UnitOfWork } from '../../src/writethrough/unit-of-work';
import { silentLogger, StatementLog } from '../helpers/core';
import { createTestDatabase, testKeyPrefix, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { commandsBetween, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';

const COMMAND_TIMEOUT_MS = 100;
const BREAKER: BreakerSettings = { errorPercent: 50, minRequests: 5, resetMs: 1_000 };
const CACHE: CacheSettings = {
  keyPrefix: testKeyPrefix(),
  ttlSeconds: 3600,
  ttlJitter: 0.1,
  negativeTtlSeconds: 30,
  tombstoneTtlSeconds: 60,
  writeRetries: 2,
  writeRetryDelayMs: 10,
};

let redisServer: PrivateRedis;
let database: TestDatabase;
let pool: Pool;
let db: Database;
const statements = new StatementLog();
let rows: Array<Row<typeof users>>;
const ids = () => rows.map((r) => r.id);

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  database = await createTestDatabase();
  pool = createPool({ url: database.url, poolSize: 2 });
  db = createDatabase(pool, statements);
  const stamp = Date.now();
  await db.insert(users).values([1, 2, 3].map((n) => ({ name: `Reader ${n}`, email: `reader${n}-${stamp}@example.com` })));
  rows = (await db.select().from(users).orderBy(users.id)) as Array<Row<typeof users>>;
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
  await redisServer?.kill();
});

// Each test builds its own connection and circuit, so none inherits another's
// statistics; this undoes them whether the test passed or not.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  redisServer.resume();
  if (!(await redisServer.commandCounts().catch(() => undefined))) await redisServer.restart();
});

interface LogLine {
  level: 'warn' | 'info';
  msg: string;
}

/** The graph core.ts builds, on the private Redis, with the circuit in front of the cache. */
async function graph(breaker: Partial<BreakerSettings> = {}, cache: Partial<CacheSettings> = {}) {
  const redis = createRedis({ url: redisServer.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  redis.on('error', () => {}); // the tests kill and pause this server; each command reports its own error
  cleanups.push(() => redis.disconnect());
  await connectRedis(redis);
  const logs: LogLine[] = [];
  const logger = { warn: (_: object, msg: string) => logs.push({ level: 'warn', msg }), info: (_: object, msg: string) => logs.push({ level: 'info', msg }) };
  const circuit = new CircuitBreakingCache(new RedisCache(redis), { ...BREAKER, ...breaker }, { logger, connection: redis });
  cleanups.push(() => circuit.shutdown());
  const settings = { ...CACHE, ...cache };
  const reported: FailedWrite[] = [];
  const reporter = { report: async (failure: FailedWrite) => void reported.push(failure) };
  const writer = new CacheWriter(circuit, { retries: settings.writeRetries, delayMs: settings.writeRetryDelayMs }, reporter, 'test-instance', silentLogger);
  const work = new UnitOfWork(db, writer);
  const repository = new Repository(entities.users, { db, cache: circuit, work, settings, logger: silentLogger });
  return { redis, circuit, repository, writer, reported, logs };
}

/** Milliseconds `work` took, with its result. */
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

/** Reads until the circuit reaches `state`; each read is what drives it there. */
function readUntil(g: Awaited<ReturnType<typeof graph>>, state: CircuitBreakingCache['state'], timeoutMs?: number) {
  return pollUntil(
    `the circuit to be ${state}`,
    async () => {
      expect(await g.repository.load([rows[0]!.id])).toEqual([rows[0]]);
      return g.circuit.state === state;
    },
    timeoutMs,
  );
}

/** Calls of `command` the private server ran since `before`, once it has run at least `atLeast`. */
function serverRan(command: string, before: Record<string, number>, atLeast: number) {
  return pollUntil(`the server to run ${atLeast} × ${command}`, async () => {
    const calls = commandsBetween(before, await redisServer.commandCounts())[command] ?? 0;
    return calls >= atLeast ? { calls } : undefined;
  });
}

describe('Reads while Redis does not answer', () => {
  it('answers 100 reads from MySQL in far less than 100 timeouts while Redis is blackholed', async ({ annotate }) => {
    const g = await graph();
    await g.repository.load(ids()); // a miss, backfilled: the cache is warm
    expect(await g.repository.load(ids())).toEqual(rows);
    const before = await redisServer.commandCounts();
    redisServer.pause();

    const durations: number[] = [];
    const [, total] = await timed(async () => {
      for (let i = 0; i < 100; i++) {
        const row = rows[i % rows.length]!;
        const [loaded, took] = await timed(() => g.repository.load([row.id]));
        expect(loaded).toEqual([row]);
        durations.push(took);
      }
    });
    const waited = durations.filter((ms) => ms >= COMMAND_TIMEOUT_MS * 0.9).length;
    await annotate(
      `100 reads took ${Math.round(total)} ms (100 timeouts: ${100 * COMMAND_TIMEOUT_MS} ms); ${waited} waited for a timeout, ` +
        `the rest took ${median(durations.filter((ms) => ms < COMMAND_TIMEOUT_MS * 0.9)).toFixed(2)} ms each (median)`,
    );
    expect(total).toBeLessThan(25 * COMMAND_TIMEOUT_MS);
    // About minRequests reads pay for the timeout before the circuit opens, plus one
    // probe per resetMs that the loop lasted.
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(BREAKER.minRequests + Math.ceil(total / BREAKER.resetMs));
    expect(g.circuit.state).not.toBe('closed');

    // The reads that waited are the only ones that reached Redis: once it runs again
    // it finds exactly that many MGETs in its socket.
    redisServer.resume();
    expect(await serverRan('mget', before, waited)).toEqual({ calls: waited });
  });

  it('probes after resetMs and closes once Redis answers again', async () => {
    const resetMs = 500;
    const g = await graph({ resetMs });
    await g.repository.load(ids());
    redisServer.pause();
    await readUntil(g, 'open');

    redisServer.resume();
    // Redis answers, but nobody has asked it yet: reads still go to MySQL, at once.
    const before = statements.count;
    const [, took] = await timed(() => g.repository.load([rows[0]!.id]));
    expect(statements.count).toBe(before + 1);
    expect(took).toBeLessThan(COMMAND_TIMEOUT_MS / 2);

    await readUntil(g, 'closed', resetMs + 1_000);
    const afterClose = statements.count;
    expect(await g.repository.load(ids())).toEqual(rows);
    expect(statements.count).toBe(afterClose); // every row from the cache again
    expect(g.logs).toEqual([
      { level: 'warn', msg: 'Redis circuit open: reading MySQL and failing cache writes at once' },
      { level: 'info', msg: 'Redis circuit half-open: the next call probes Redis' },
      { level: 'info', msg: 'Redis circuit closed: Redis answers again' },
    ]);
  });
});

describe('The connection', () => {
  it('opens at once when the connection drops, and closes when it is back', async () => {
    // A reset far beyond the test: only the connection's events can move the circuit.
    const g = await graph({ resetMs: 60_000 });
    await redisServer.kill();
    await pollUntil('the circuit to open', () => g.circuit.state === 'open'); // with no call made at all

    const [refused, took] = await timed(() => g.circuit.mget(['any']).catch((err: unknown) => err));
    expect(refused).toBeInstanceOf(CacheUnavailableError);
    expect((refused as Error).message).toBe('Redis circuit is open; not waiting for it');
    expect(took).toBeLessThan(COMMAND_TIMEOUT_MS / 4);
    expect(await g.repository.load([rows[0]!.id])).toEqual([rows[0]]);

    await redisServer.restart();
    await pollUntil('ioredis to reconnect and close the circuit', () => g.circuit.state === 'closed');
    expect(g.redis.status).toBe('ready');
    await g.repository.load([rows[0]!.id]); // the restarted server is empty: a miss, backfilled
    const before = statements.count;
    expect(await g.repository.load([rows[0]!.id])).toEqual([rows[0]]);
    expect(statements.count).toBe(before);
  });
});

describe('Cache writes while the circuit is open', () => {
  it('fails cache writes at once while open, without retrying', async ({ annotate }) => {
    // Retries a second apart: one retry would show in the time the write takes.
    const g = await graph({ resetMs: 60_000 }, { writeRetries: 2, writeRetryDelayMs: 1_000 });
    const before = await redisServer.commandCounts();
    redisServer.pause();
    await readUntil(g, 'open');

    const row = rows[1]!;
    const [failed, took] = await timed(() => g.writer.write(g.repository.cacheWrites('update', row)));
    await annotate(`the write was reported failed after ${took.toFixed(2)} ms`);
    expect(took).toBeLessThan(COMMAND_TIMEOUT_MS / 4);
    expect(failed).toEqual([expect.objectContaining({ entityId: row.id, version: row.version, error: 'Redis circuit is open; not waiting for it' })]);
    expect(g.reported).toEqual(failed);

    const outcomes = await g.circuit.casSetMany(rows.map((r) => g.repository.cacheLayout.rowWrite(r, Date.now())));
    expect(outcomes).toEqual(rows.map(() => expect.any(CacheUnavailableError)));

    // Only the reads that opened the circuit reached Redis; no write was sent.
    redisServer.resume();
    const reads = await serverRan('mget', before, 1);
    const ran = commandsBetween(before, await redisServer.commandCounts());
    expect(ran).toEqual({ mget: reads.calls });
  });
});

describe('What counts against Redis', () => {
  let n = 0;
  const key = (name: string) => `${CACHE.keyPrefix}${name}-${++n}`;
  const write = (key: string): CasWrite => ({ key, version: 1, value: '{"v":1,"row":{}}', ttlMs: 60_000, notAfterMs: 0 });

  it('counts a batch with mixed outcomes as Redis answering', async () => {
    const g = await graph({ minRequests: 2 });
    const [list, fresh] = [key('list'), key('fresh')];
    await g.redis.lpush(list, 'x'); // the compare-and-set's GET fails on a list
    for (let i = 0; i < 10; i++) {
      const outcomes = await g.circuit.casSetMany([write(list), write(fresh)]);
      expect(outcomes).toEqual([expect.objectContaining({ message: expect.stringMatching(/WRONGTYPE/) }), i === 0 ? 'set' : 'stale']);
    }
    expect(g.circuit.state).toBe('closed');
  });

  it('counts a batch that Redis refused outright as Redis answering', async () => {
    const g = await graph({ minRequests: 2 });
    const list = key('list');
    await g.redis.lpush(list, 'x');
    for (let i = 0; i < 10; i++) {
      expect(await g.circuit.casSetMany([write(list), write(list)])).toEqual([expect.any(Error), expect.any(Error)]);
    }
    expect(g.circuit.state).toBe('closed');
  });

  it('counts a batch with no answer at all against Redis', async () => {
    const g = await graph({ minRequests: 2 });
    redisServer.pause();
    for (let i = 0; i < 2; i++) {
      expect(g.circuit.state).toBe('closed');
      const outcomes = await g.circuit.casSetMany([write(key('unanswered')), write(key('unanswered'))]);
      expect(outcomes).toEqual([expect.objectContaining({ message: 'Command timed out' }), expect.objectContaining({ message: 'Command timed out' })]);
    }
    expect(g.circuit.state).toBe('open');
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
