import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import { startBinlogMariadb, type BinlogMariadb } from '../helpers/binlog-mariadb';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { ServiceResources, type ServiceInstance } from '../helpers/service-process';

/**
 * Service processes following the binlog, SIGKILLed at random points while rows
 * change behind the API: whoever follows next resumes from the stored position, so
 * no change is missed and no key ever goes back to an older version.
 */
const KILLS = Number(process.env.FOLLOWER_KILLS ?? 3);
const HOT = 20;

let server: BinlogMariadb;
let database: TestDatabase;
const resources = new ServiceResources();
let redis: Redis;
let keyPrefix: string;

beforeAll(async () => {
  server = await startBinlogMariadb();
  database = await createTestDatabase(server.serverUrl);
  keyPrefix = resources.keyPrefix();
  redis = new Redis(REDIS_URL);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await resources.cleanUp();
  await database?.drop();
  await server?.dispose();
});

const env = () => ({
  MYSQL_URL: database.url,
  REDIS_URL,
  KEY_PREFIX: keyPrefix,
  SEED_DEMO_DATA: 'false',
  CHANGE_FOLLOWER_LEASE_POLL_MS: '200',
});
const following = (i: ServiceInstance, after = 0) => i.service.logs.slice(after).some((l) => l.msg === 'following the binlog');

describe('the follower SIGKILLed mid-stream', () => {
  it(`misses no change and regresses no key, over ${KILLS} kills`, { timeout: 180_000 }, async () => {
    const sql = await mysql.createConnection(database.url);
    const ids: number[] = [];
    for (let i = 0; i < HOT; i++) {
      const [r] = (await sql.query('INSERT INTO users (name, email) VALUES (?, ?)', [`Hot ${i}`, `crash-${i}@example.com`])) as unknown as [{ insertId: number }];
      ids.push(r.insertId);
    }
    // Rows each updated once, in turn: a change missed across a kill leaves its key behind for good.
    const ONCE = 20_000;
    await sql.query(`INSERT INTO users (name, email) SELECT CONCAT('Once ', seq), CONCAT('once-', seq, '@example.com') FROM seq_1_to_${ONCE}`);
    const [[{ first }]] = (await sql.query("SELECT MIN(id) AS first FROM users WHERE name LIKE 'Once %'")) as unknown as [[{ first: number }]];
    const instances = [await resources.instance(env(), 'one'), await resources.instance(env(), 'two')];
    await pollUntil('one of them following', () => instances.some((i) => following(i)), 20_000);

    // Every hot key's version as sampled over time, to catch one going backwards.
    const keys = ids.map((id) => `${keyPrefix}user:${id}`);
    const seen = new Map<string, number>();
    const regressions: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const values = await redis.mget(...keys);
        values.forEach((raw, i) => {
          const v = raw ? decodeEnvelope(raw)?.version : undefined;
          if (v === undefined) return;
          const before = seen.get(keys[i]!) ?? 0;
          if (v < before) regressions.push(`${keys[i]}: v${before} then v${v}`);
          seen.set(keys[i]!, Math.max(before, v));
        });
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    // Writes behind the API, all along.
    let writing = true;
    let writes = 0;
    let once = 0;
    const writer = (async () => {
      while (writing && once < ONCE) {
        await sql.query('UPDATE users SET name = ? WHERE id = ?', [`n${writes++}`, ids[Math.floor(Math.random() * HOT)]]);
        await sql.query("UPDATE users SET name = 'updated once' WHERE id = ?", [first + once++]);
      }
    })();

    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700)); // a random point mid-stream
      const leader = instances.find((i) => following(i) && i.service.child.exitCode === null && i.service.child.signalCode === null)!;
      const other = instances.find((i) => i !== leader)!;
      const mark = other.service.logs.length;
      leader.service.child.kill('SIGKILL');
      await leader.service.exited;
      // The other takes over within seconds, from the stored position.
      await pollUntil('the other to take over', () => following(other, mark), 10_000);
      // And the killed one comes back, to stand by.
      instances[instances.indexOf(leader)] = await resources.instance(env(), `${leader.name}+`);
    }
    writing = false;
    await writer;

    // Nothing missed: every key reaches MySQL's version.
    const touched = [...ids, ...Array.from({ length: once }, (_, i) => first + i)];
    const [rows] = (await sql.query('SELECT id, version FROM users WHERE id IN (?)', [touched])) as unknown as [Array<{ id: number; version: number }>];
    const inMysql = new Map(rows.map((r) => [`${keyPrefix}user:${r.id}`, Number(r.version)]));
    const touchedKeys = touched.map((id) => `${keyPrefix}user:${id}`);
    const behind = async () => {
      const values = await redis.mget(...touchedKeys);
      return touchedKeys.filter((key, i) => {
        const raw = values[i];
        return raw === null || raw === undefined || decodeEnvelope(raw)?.version !== inMysql.get(key);
      });
    };
    await pollUntil('every key at MySQL’s version', async () => (await behind()).length === 0, 20_000).catch(async (err) => {
      throw new Error(`${(await behind()).length} keys behind MySQL`, { cause: err });
    });
    sampling = false;
    await sampler;
    // And through the API: the last name written behind it, answered by the running instances.
    const [[last]] = (await sql.query('SELECT id, name, version FROM users WHERE id = ?', [first + once - 1])) as unknown as [[{ id: number; name: string; version: number }]];
    for (const instance of instances) {
      const answer = await instance.gql('query ($id: ID!) { user(id: $id) { name version } }', { id: String(last.id) });
      expect(answer).toEqual({ data: { user: { name: last.name, version: Number(last.version) } } });
    }
    await sql.end();
    console.log(`follower crashes: ${KILLS} kills during ${writes + once} SQL writes (${once} rows updated once); every key at MySQL's version, ${regressions.length} regressions`);
    expect(regressions).toEqual([]);
  });
});
