import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema';
import { createTestDatabase } from '../helpers/database';
import { MARIADB_BINARIES, startRestartableMariadb, type RestartableMariadb } from '../helpers/mysql-replica';
import { pollUntil } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The service on a private MariaDB of this file's own, which the test SIGKILLs in the
 * middle of a burst of updates and starts again on the same data: what a crashed and
 * restarted database looks like to the service. The shared server is never touched.
 */
const USERS = 8;
const WORKERS = 12;
let maria: RestartableMariadb;
let s: TestServer;
let ids: number[];

beforeAll(async () => {
  maria = await startRestartableMariadb();
  const database = await createTestDatabase(maria.server.serverUrl);
  s = await startTestServer({
    database,
    poolSize: 6,
    repairs: true,
    intents: { graceMs: 1_000 },
    deadlines: { statementMs: 2_000, transactionMs: 4_000 },
  });
  ids = [];
  for (let i = 0; i < USERS; i++) ids.push((await s.core.users.create({ name: `Killed ${i}`, email: `mk${i}-${Date.now()}@example.com` })).id);
}, 60_000);
afterAll(async () => {
  await s?.close();
  await maria?.dispose();
});

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version } }`;

describe.skipIf(!MARIADB_BINARIES)('a MySQL that dies or stops under the service', () => {
  it('SIGKILLed and restarted mid-burst: fails each write it cannot do with SERVICE_UNAVAILABLE, none with INTERNAL_SERVER_ERROR, recovers without a restart, and loses and leaves stale nothing acknowledged', async () => {
    const acknowledged: Array<{ id: number; version: number }> = [];
    const codes = new Map<string, number>();
    let restarted = false;
    let answeredAfterRestart = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const id = ids[(w + n) % ids.length]!;
        const res = await s.gql(UPDATE, { id: String(id), input: { name: `Worker ${w} write ${n}` } });
        if (res.data?.updateUser) {
          acknowledged.push({ id, version: res.data.updateUser.version });
          if (restarted) answeredAfterRestart++;
        }
        for (const error of res.errors ?? []) {
          const code = String((error.extensions as { code?: string } | undefined)?.code);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    try {
      await pollUntil('the burst under way', () => acknowledged.length >= 100 + Math.floor(Math.random() * 100), 20_000);
      await maria.server.kill();
      await pollUntil('writes failing while MySQL is down', () => (codes.get('SERVICE_UNAVAILABLE') ?? 0) >= 20, 20_000);
      await maria.restart();
      restarted = true;
      await pollUntil('writes answered again, by the same service process', () => answeredAfterRestart >= 50, 30_000);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect([...codes.keys()]).toEqual(['SERVICE_UNAVAILABLE']);

    // Every acknowledged write survived MySQL's crash recovery.
    const rows = await s.db.select({ id: users.id, version: users.version }).from(users).where(inArray(users.id, ids));
    const inMysql = new Map(rows.map((r) => [r.id, r.version]));
    for (const { id, version } of acknowledged) expect(inMysql.get(id)).toBeGreaterThanOrEqual(version);
    // And the cache agrees with MySQL, or holds nothing, once intents and repairs have run.
    await pollUntil(
      'every key equal to MySQL or absent',
      async () => {
        const raws = await s.redis.mget(...ids.map((id) => s.core.users.cacheLayout.key(id)));
        return raws.every((raw, i) => raw === null || (JSON.parse(raw) as { v: number }).v === inMysql.get(ids[i]!));
      },
      15_000,
    );
  }, 120_000);

  it('answers each write within the deadline while MySQL is stopped (SIGSTOP), /readyz 503 within a second, and recovers when it resumes', async () => {
    const pid = maria.server.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const answers = await Promise.all(ids.slice(0, 4).map((id) => s.gql(UPDATE, { id: String(id), input: { name: 'While stopped' } })));
      for (const res of answers) expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      // The statement deadline (2 s) plus the timers and the answer.
      expect(Date.now() - started).toBeLessThan(2_000 + 1_000);
      const readyStarted = Date.now();
      expect((await fetch(new URL('/readyz', s.url))).status).toBe(503);
      expect(Date.now() - readyStarted).toBeLessThan(1_500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await pollUntil('writes answered again', async () => (await s.gql(UPDATE, { id: String(ids[0]), input: { name: 'Resumed' } })).data?.updateUser, 15_000);
  }, 60_000);
});

