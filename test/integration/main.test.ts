import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { MYSQL_SERVER_URL, REDIS_URL } from '../helpers/database';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { ServiceResources } from '../helpers/service-process';

const ROOT = resolve(__dirname, '../..');
const resources = new ServiceResources();
afterAll(() => resources.cleanUp());
const start = (env: Record<string, string>) => resources.start(env);

describe('the service process', () => {
  it('stops with one clear line naming a bad variable, not a stack trace', async () => {
    const service = start({ PORT: 'eighty' });
    const { code } = await service.exited;
    expect(code).toBe(1);
    expect(service.stderr.join('')).toBe('Invalid configuration: PORT must be a number (got "eighty")\n');
  });

  it('creates its database, migrates, seeds demo users, serves them, and exits 0 on SIGTERM', async () => {
    const { service, url } = await resources.serve();
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'seeded demo users into the empty database', users: 3 }));

    const response = await fetch(url, {
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

    // The shared server has no binary log: the change follower (CHANGE_FOLLOWER=auto)
    // warns once, naming what to turn on, and the service serves regardless, ready.
    const off = await service.waitForLog((log) => String(log.msg).startsWith('the change follower is off'));
    expect(off).toMatchObject({ level: 40, msg: expect.stringContaining('--log-bin'), problems: [expect.stringContaining('--log-bin')] });
    const ready = await fetch(new URL('/readyz', url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ mysql: 'ok', redis: 'ok', changeFollower: expect.stringMatching(/^degraded: off: /) });

    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    expect(code).toBe(0);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
    expect(service.logs.filter((log) => String(log.msg).startsWith('the change follower is off'))).toHaveLength(1);
  });

  it('creates and migrates a database with npm run db:migrate, and does nothing the second time', async () => {
    const database = resources.database();
    const migrate = () => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'scripts/migrate.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, MYSQL_URL: database.url },
        stdio: 'ignore',
      });
      return once(child, 'exit');
    };
    expect(await migrate()).toEqual([0, null]);
    expect(await migrate()).toEqual([0, null]);
    const connection = await mysql.createConnection(database.url);
    const [tables] = await connection.query('SHOW TABLES');
    const [versions] = await connection.query(
      "SELECT table_name AS t, column_type AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name = 'version' ORDER BY 1",
    );
    await connection.end();
    expect((tables as Array<Record<string, string>>).map((r) => Object.values(r)[0]).sort()).toEqual([
      '__drizzle_migrations',
      'change_follower_checkpoints',
      'list_versions',
      'orders',
      'products',
      'read_leases',
      'reviews',
      'users',
      'write_intents',
      'write_through_events',
      'write_through_failures',
    ]);
    // MariaDB shows a display width (bigint(20)), MySQL 8 does not.
    const bigint = expect.stringMatching(/^bigint(\(20\))? unsigned$/);
    expect(versions).toEqual([
      { t: 'list_versions', c: bigint },
      { t: 'orders', c: bigint },
      { t: 'products', c: bigint },
      { t: 'reviews', c: bigint },
      { t: 'users', c: bigint },
      { t: 'write_intents', c: bigint },
      { t: 'write_through_failures', c: bigint },
    ]);
  });

  it('npm run db:migrate reads MYSQL_URL from the settings file as the service does, under the environment', { timeout: 60_000 }, async () => {
    const fromFile = resources.database();
    const fromEnvironment = resources.database();
    const dir = mkdtempSync(join(tmpdir(), 'tl-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(envFile, `# as a user writes it\nMYSQL_URL=${fromFile.url}\n`);
    const npmMigrate = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
        const child = spawn('npm', ['run', '--silent', 'db:migrate'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += String(chunk)));
        child.stderr.on('data', (chunk) => (stderr += String(chunk)));
        child.once('close', (code) => resolveRun({ code, stdout, stderr }));
      });
    try {
      expect(await npmMigrate({ ENV_FILE: envFile })).toMatchObject({ code: 0, stdout: `migrations applied to ${fromFile.name}\n` });
      expect(await npmMigrate({ ENV_FILE: envFile, MYSQL_URL: fromEnvironment.url })).toMatchObject({
        code: 0,
        stdout: `migrations applied to ${fromEnvironment.name}\n`,
      });
      const missing = await npmMigrate({ ENV_FILE: join(dir, 'nope.env') });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`Invalid configuration: ENV_FILE names a file that does not exist (got "${join(dir, 'nope.env')}")\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const connection = await mysql.createConnection(MYSQL_SERVER_URL);
    const [schemas] = await connection.query('SELECT schema_name AS s FROM information_schema.schemata WHERE schema_name IN (?, ?) ORDER BY 1', [
      fromFile.name,
      fromEnvironment.name,
    ]);
    await connection.end();
    expect((schemas as Array<{ s: string }>).map((r) => r.s).sort()).toEqual([fromFile.name, fromEnvironment.name].sort());
  });

  it('refuses to start in production without a way to verify tokens', async () => {
    const service = start({ NODE_ENV: 'production', JWT_SECRET: '' });
    const { code } = await service.exited;
    expect(code).toBe(1);
    expect(service.stderr.join('')).toBe('Invalid configuration: JWT_SECRET or JWT_JWKS_URL must be set in production\n');
  });

  it('in development without a secret, makes one up, prints an admin token that works and pre-fills it in both explorers', async () => {
    const { service, url } = await resources.serve({ JWT_SECRET: '' });
    const announcement = await service.waitForLog((log) => /Authorization: Bearer /.test(String(log.msg)));
    const token = /Authorization: Bearer (\S+)/.exec(announcement.msg)![1]!;
    const call = (authorization?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query: 'mutation { updateUser(id: "1", input: { bio: "Signed in." }) { version } }' }),
      }).then((r) => r.json() as Promise<{ data?: unknown; errors: Array<{ extensions: { code: string } }> }>);
    expect(await call(`Bearer ${token}`)).toEqual({ data: { updateUser: { version: 2 } } });
    expect((await call()).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    // The same token is pre-filled in both explorers, and the log says where they are.
    const page = (path: string) => fetch(new URL(path, url), { headers: { accept: 'text/html' } }).then((r) => r.text());
    expect(await page('/graphiql')).toContain(`"Authorization":"Bearer ${token}"`);
    expect(await page('/graphql')).toContain(token);
    const origin = new URL(url).origin;
    expect(await service.waitForLog((log) => log.monitor !== undefined)).toMatchObject({
      sandbox: url,
      graphiql: `${origin}/graphiql`,
      monitor: `${origin}/monitor`,
      msg: expect.stringContaining('npm run example:dev'),
    });
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('logs neither its secret nor any token, even at debug level and on refused requests', async () => {
    const { service, url } = await resources.serve({ LOG_LEVEL: 'debug' });
    const good = await resources.token(['read', 'write', 'admin']);
    const stranger = await issueToken(makeUpSecret(), ['write']);
    for (const token of [good, stranger, `${good}tampered`, 'not-a-jwt']) {
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'mutation { updateUser(id: "999", input: { name: "x" }) { id } }' }),
      }).then((r) => r.text());
    }
    service.child.kill('SIGTERM');
    await service.exited;
    const everything = JSON.stringify(service.logs) + service.stderr.join('');
    expect(service.logs.some((log) => log.msg === 'graphql request')).toBe(true); // it did log the requests
    for (const secret of [resources.jwtSecret, good, stranger, good.split('.')[2]!]) expect(everything).not.toContain(secret);
  });

  it('says which server it cannot reach, in one line', async () => {
    const service = start({ MYSQL_URL: 'mysql://root@127.0.0.1:1/x', REDIS_URL });
    const { code } = await service.exited;
    expect(code).toBe(1);
    expect(service.stderr.join('')).toMatch(/^Cannot reach MySQL \(ECONNREFUSED at 127\.0\.0\.1:1\): start it, or set MYSQL_URL\n$/);
  });
});
