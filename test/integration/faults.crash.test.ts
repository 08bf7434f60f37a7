import Redis from 'ioredis';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/cache/keys';
import { REDIS_URL } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { ServiceResources, type ServiceInstance } from '../helpers/service-process';

/**
 * A service process SIGKILLed at a random moment of a burst of updates, then started
 * again, RUNS times. `npm test` runs a few; `npm run test:faults` runs many more.
 */
const RUNS = Number(process.env.CRASH_RUNS ?? 4);
const USERS = 12;
const WORKERS = 24;
/** Settings the test shortens: how soon an intent counts as abandoned, and the sweep and repair rounds. */
const QUICK_RECOVERY = {
  WRITE_INTENT_GRACE_MS: '1000',
  WRITE_INTENT_SWEEP_MS: '100',
  REPAIR_INTERVAL_MS: '100',
  FAILURE_FEED_POLL_MS: '100',
  SEED_DEMO_DATA: 'false',
};
/** From the restart: the grace, a sweep and a repair round, with room for a slow machine. */
const RECOVERY_DEADLINE_MS = 15_000;

const resources = new ServiceResources();
let env: Record<string, string>;
let mysqlConnection: Connection;
let redis: Redis;
let ids: number[];

beforeAll(async () => {
  const database = resources.database();
  env = { MYSQL_URL: database.url, REDIS_URL, KEY_PREFIX: resources.keyPrefix(), ...QUICK_RECOVERY };
  const first = await resources.instance(env, 'crash-setup');
  ids = [];
  for (let i = 0; i < USERS; i++) {
    const res = await first.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { name: `Crash ${i}`, email: `crash${i}-${Date.now()}@example.com` },
    });
    ids.push(Number(res.data.createUser.id));
  }
  first.service.child.kill('SIGTERM');
  await first.service.exited;
  mysqlConnection = await mysql.createConnection(database.url);
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await mysqlConnection?.end();
  redis?.disconnect();
  await resources.cleanUp();
});

/** id → the version MySQL holds */
async function mysqlVersions(): Promise<Map<number, number>> {
  const [rows] = await mysqlConnection.query<RowDataPacket[]>('SELECT id, version FROM users');
  return new Map(rows.map((r) => [Number(r.id), Number(r.version)]));
}

/** id → the version the cache holds (absent: not cached) */
async function cachedVersions(): Promise<Map<number, number>> {
  const raws = await redis.mget(...ids.map((id) => cacheKey(env.KEY_PREFIX!, 'user', id)));
  const cached = new Map<number, number>();
  raws.forEach((raw, i) => raw !== null && cached.set(ids[i]!, (JSON.parse(raw) as { v: number }).v));
  return cached;
}

/** Keys whose cached version is behind MySQL's: what a reader would be served wrongly. */
async function staleKeys(): Promise<number[]> {
  const [inMysql, cached] = await Promise.all([mysqlVersions(), cachedVersions()]);
  return ids.filter((id) => cached.has(id) && cached.get(id)! < inMysql.get(id)!);
}

/** Updates from many clients at once until the service dies; every answered write, with its version. */
async function burstUntilKilled(instance: ServiceInstance): Promise<Array<{ id: number; version: number }>> {
  const acknowledged: Array<{ id: number; version: number }> = [];
  let alive = true;
  const worker = async (w: number) => {
    for (let n = 0; alive; n++) {
      const id = ids[(w + n) % ids.length]!;
      try {
        const res = await instance.gql(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version } }`, {
          id: String(id),
          input: { name: `Worker ${w} write ${n}` },
        });
        if (res.data?.updateUser) acknowledged.push({ id, version: res.data.updateUser.version });
      } catch {
        return; // the connection died with the process
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  // Killed at a random moment once the burst is well under way.
  await pollUntil('the burst under way', () => acknowledged.length >= 50 + Math.floor(Math.random() * 200), 20_000);
  instance.service.child.kill('SIGKILL');
  await instance.service.exited;
  alive = false;
  await Promise.all(workers);
  return acknowledged;
}

describe('a service process killed during a burst of writes', () => {
  it(`leaves, after each of ${RUNS} restarts and within a bounded time, every key equal to MySQL or absent, and every acknowledged write in MySQL`, async () => {
    let staleAtCrash = 0;
    for (let run = 0; run < RUNS; run++) {
      const instance = await resources.instance(env, `crash-${run}`);
      const acknowledged = await burstUntilKilled(instance);
      expect(acknowledged.length).toBeGreaterThan(0);
      // What the crash left: keys behind MySQL, with nothing in the cache to say so.
      staleAtCrash += (await staleKeys()).length;

      const restarted = await resources.instance(env, `crash-${run}-restarted`);
      await pollUntil('every key equal to MySQL or absent', async () => (await staleKeys()).length === 0, RECOVERY_DEADLINE_MS);
      const inMysql = await mysqlVersions();
      for (const { id, version } of acknowledged) expect(inMysql.get(id)).toBeGreaterThanOrEqual(version);
      // Read through the API, the keys agree with MySQL too.
      const read = await restarted.gql(`query($ids: [ID!]!) { users(ids: $ids) { id version } }`, { ids: ids.map(String) });
      expect(read.data.users.map((u: { version: number }) => u.version)).toEqual(ids.map((id) => inMysql.get(id)));
      restarted.service.child.kill('SIGTERM');
      await restarted.service.exited;
    }
    // The crashes did land between a COMMIT and its cache write (else this proved nothing).
    expect(staleAtCrash).toBeGreaterThan(0);
  }, 60_000 + RUNS * 30_000);
});
