import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { MYSQL_SERVER_URL, REDIS_URL, testKeyPrefix } from '../helpers/database';

const ROOT = resolve(__dirname, '../..');
const started: ChildProcess[] = [];
const databases: string[] = [];

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  const connection = await mysql.createConnection(MYSQL_SERVER_URL);
  for (const name of databases) await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await connection.end();
});

/** Runs src/main.ts as its own process (as `npm start` does, without the build step). */
function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'development', AUTO_START_SERVICES: 'false', LOG_LEVEL: 'info', SEED_DEMO_DATA: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk) => stderr.push(String(chunk)));
  const logs: Array<Record<string, any>> = [];
  const lines = createInterface({ input: child.stdout! });
  /** Resolves with the first log line that matches, or fails if the process exits first. */
  const waitForLog = (match: (log: Record<string, any>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, any>>((resolveLog, reject) => {
      const found = logs.find(match);
      if (found) return resolveLog(found);
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms`)), timeoutMs);
      lines.on('line', (line) => {
        const log = JSON.parse(line);
        if (match(log)) {
          clearTimeout(timer);
          resolveLog(log);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before logging it: ${stderr.join('')}`)));
    });
  lines.on('line', (line) => logs.push(JSON.parse(line)));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, logs, stderr, waitForLog, exited };
}

describe('the service process', () => {
  it('stops with one clear line naming a bad variable, not a stack trace', async () => {
    const service = startService({ PORT: 'eighty' });
    const [code] = await service.exited;
    expect(code).toBe(1);
    expect(service.stderr.join('')).toBe('Invalid configuration: PORT must be a number (got "eighty")\n');
  });

  it('creates its database, migrates, seeds demo users, serves them, and exits 0 on SIGTERM', async () => {
    const database = `tl_test_${Math.floor(Date.now() / 1000)}_main${process.pid}`;
    databases.push(database);
    const service = startService({
      MYSQL_URL: `${MYSQL_SERVER_URL}${database}`,
      REDIS_URL,
      KEY_PREFIX: testKeyPrefix(),
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const ready = await service.waitForLog((log) => typeof log.url === 'string');
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'seeded demo users into the empty database', users: 3 }));

    const response = await fetch(ready.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ users(ids: ["1", "2", "3", "4"]) { name version } }' }),
    });
    expect(await response.json()).toEqual({
      data: {
        users: [
          { name: 'Ada Lovelace', version: 1 },
          { name: 'Grace Hopper', version: 1 },
          { name: 'Alan Turing', version: 1 },
          null,
        ],
      },
    });

    service.child.kill('SIGTERM');
    const [code] = await service.exited;
    expect(code).toBe(0);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
  });

  it('creates and migrates a database with npm run db:migrate, and does nothing the second time', async () => {
    const database = `tl_test_${Math.floor(Date.now() / 1000)}_migrate${process.pid}`;
    databases.push(database);
    const migrate = () => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'scripts/migrate.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, MYSQL_URL: `${MYSQL_SERVER_URL}${database}` },
        stdio: 'ignore',
      });
      return once(child, 'exit');
    };
    expect(await migrate()).toEqual([0, null]);
    expect(await migrate()).toEqual([0, null]);
    const connection = await mysql.createConnection(`${MYSQL_SERVER_URL}${database}`);
    const [tables] = await connection.query('SHOW TABLES');
    const [versions] = await connection.query(
      "SELECT table_name AS t, column_type AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name = 'version' ORDER BY 1",
    );
    await connection.end();
    expect((tables as Array<Record<string, string>>).map((r) => Object.values(r)[0]).sort()).toEqual([
      '__drizzle_migrations',
      'orders',
      'products',
      'users',
    ]);
    // MariaDB shows a display width (bigint(20)), MySQL 8 does not.
    const bigint = expect.stringMatching(/^bigint(\(20\))? unsigned$/);
    expect(versions).toEqual([
      { t: 'orders', c: bigint },
      { t: 'products', c: bigint },
      { t: 'users', c: bigint },
    ]);
  });

  it('says which server it cannot reach, in one line', async () => {
    const service = startService({ MYSQL_URL: 'mysql://root@127.0.0.1:1/x', REDIS_URL });
    const [code] = await service.exited;
    expect(code).toBe(1);
    expect(service.stderr.join('')).toMatch(/^Cannot reach MySQL \(ECONNREFUSED at 127\.0\.0\.1:1\): start it, or set MYSQL_URL\n$/);
  });
});
