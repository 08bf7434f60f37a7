import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARIADB_BINARIES, startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';
import { silentLogger } from '../helpers/core';
import { createTestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * What an operator sees of the change follower: `cacheStatus.changeFollower`, /readyz,
 * and /metrics. Without a follower, nothing changes; on the shared server (no binary
 * log) it is off, says why, and the service serves as before; on a private MariaDB
 * with a binlog, it follows.
 */

const STATUS = `{ cacheStatus { changeFollower { state problems lastError lagSeconds appliedApi appliedOutOfBand gtid binlogFile binlogPosition } } }`;
const FOLLOWER_METRICS = [
  'throughline_changes_applied_total counter',
  'throughline_change_follower_lag_seconds gauge',
  'throughline_change_follower_position gauge',
  'throughline_change_follower_resyncs_total counter',
  'throughline_change_follower_state gauge',
];

const base = (s: TestServer) => s.url.replace(/\/graphql$/, '');
const followerStatus = async (s: TestServer) => {
  const res = await s.gql(STATUS, undefined, { token: await s.token(['admin']) });
  expect(res.errors).toBeUndefined();
  return res.data!.cacheStatus.changeFollower;
};
const readyz = async (s: TestServer) => {
  const res = await fetch(`${base(s)}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};
const metricsText = async (s: TestServer) => (await fetch(`${base(s)}/metrics`)).text();
/** `name{labels} value` → value, for one exact sample line. */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

let seq = 0;
async function answersQueries(s: TestServer): Promise<void> {
  const created = await s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id version } }`, {
    input: { name: 'Still here', email: `follower-ops-${++seq}-${Date.now()}@example.com` },
  });
  expect(created.errors).toBeUndefined();
  const id = created.data!.createUser.id;
  expect((await s.gql(`query($id: ID!) { user(id: $id) { name version } }`, { id })).data).toEqual({ user: { name: 'Still here', version: 1 } });
}

describe('without a change follower (CHANGE_FOLLOWER=off)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reports cacheStatus.changeFollower as null and leaves /readyz as it was', async () => {
    expect(s.core.follower).toBeUndefined();
    expect(await followerStatus(s)).toBeNull();
    expect(await readyz(s)).toEqual({ status: 200, body: { mysql: 'ok', redis: 'ok' } });
  });

  it('still declares the follower metrics, with state "none"', async () => {
    const text = await metricsText(s);
    for (const type of FOLLOWER_METRICS) expect(text).toContain(`# TYPE ${type}\n`);
    expect(sample(text, 'throughline_change_follower_state{state="none"}')).toBe(1);
    expect(sample(text, 'throughline_change_follower_state{state="following"}')).toBe(0);
    expect(sample(text, 'throughline_change_follower_state{state="off"}')).toBe(0);
  });
});

describe('with a change follower on a server without a binary log (the shared one: log_bin off)', () => {
  let s: TestServer;
  const warnings: Array<{ message: string; problems?: string[] }> = [];
  beforeAll(async () => {
    s = await startTestServer({
      changes: {},
      logger: { ...silentLogger, warn: (fields, message) => void warnings.push({ message, ...(fields as { problems?: string[] }) }) },
    });
    await pollUntil('the follower to find the binlog off', () => s.core.follower!.status().state === 'off');
  });
  afterAll(async () => {
    await s?.close();
  });

  it("reports it off in cacheStatus, with a problem naming --log-bin", async () => {
    const status = await followerStatus(s);
    expect(status).toMatchObject({ state: 'off', lastError: null, lagSeconds: null, appliedApi: 0, appliedOutOfBand: 0, gtid: null, binlogFile: null, binlogPosition: null });
    expect(status.problems).toHaveLength(1);
    expect(status.problems[0]).toContain('--log-bin');
  });

  it('keeps /readyz at 200, reporting the follower degraded, not down', async () => {
    const { status, body } = await readyz(s);
    expect(status).toBe(200);
    expect(body).toMatchObject({ mysql: 'ok', redis: 'ok', changeFollower: expect.stringMatching(/^degraded: off: .*--log-bin/) });
  });

  it('warned once, with the settings to turn on, and the service still answers queries', async () => {
    await answersQueries(s);
    const off = warnings.filter((w) => w.message.startsWith('the change follower is off'));
    expect(off).toHaveLength(1);
    expect(off[0]!.message).toContain('--log-bin');
    expect(off[0]!.problems).toEqual((await followerStatus(s)).problems);
  });

  it('says "off" in the state gauge', async () => {
    const text = await metricsText(s);
    expect(sample(text, 'throughline_change_follower_state{state="off"}')).toBe(1);
    expect(sample(text, 'throughline_change_follower_state{state="none"}')).toBe(0);
  });
});

describe.skipIf(!MARIADB_BINARIES)('with a change follower on a MariaDB with its binlog on', () => {
  let server: BinlogMariadb;
  let s: TestServer;
  let sql: mysql.Connection;
  beforeAll(async () => {
    server = await startBinlogMariadb();
    const database = await createTestDatabase(server.serverUrl);
    s = await startTestServer({ database, changes: {} });
    sql = await mysql.createConnection(database.url);
    await pollUntil('the follower to follow', () => s.core.follower!.status().state === 'following', 30_000);
  }, 90_000);
  afterAll(async () => {
    await sql?.end();
    await s?.close();
    await server?.dispose(); // the database with it
  });

  it('shows it following, what it applied from behind the API, and where it is, in cacheStatus, /readyz and /metrics', async () => {
    const [result] = (await sql.query("INSERT INTO users (name, email) VALUES ('Behind', 'behind-ops@example.com')")) as unknown as [{ insertId: number }];
    const status = await pollUntil('the insert applied and the lag measured', async () => {
      const st = await followerStatus(s);
      return st.appliedOutOfBand >= 1 && st.lagSeconds !== null && st;
    });
    expect(status).toMatchObject({ state: 'following', problems: [], lastError: null, appliedOutOfBand: 1, binlogFile: expect.stringMatching(/^binlog\.\d+$/) });
    expect(status.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(status.binlogPosition).toBeGreaterThan(0);
    expect(status.gtid).toMatch(/^\d+-\d+-\d+/);
    expect((await s.gql(`query($id: ID!) { user(id: $id) { name } }`, { id: String(result.insertId) })).data).toEqual({ user: { name: 'Behind' } });

    expect(await readyz(s)).toEqual({ status: 200, body: { mysql: 'ok', redis: 'ok', changeFollower: 'ok' } });

    const text = await metricsText(s);
    expect(sample(text, 'throughline_change_follower_state{state="following"}')).toBe(1);
    expect(sample(text, 'throughline_changes_applied_total{entity="user",source="out_of_band"}')).toBe(1);
    const now = await followerStatus(s);
    expect(sample(text, `throughline_change_follower_position{file="${now.binlogFile}"}`)).toBeGreaterThan(0);
    expect(sample(text, 'throughline_change_follower_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});
