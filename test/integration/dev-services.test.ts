import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { isDefaultUrl } from '../../src/dev/endpoint';
import { mysqlSpec } from '../../src/dev/mysql-server';
import { redisSpec } from '../../src/dev/redis-server';
import { ensureServices, isReachable, ServicesUnavailableError, type ServiceLogger } from '../../src/dev/services';

// The shared servers this machine runs; these tests only ever probe them.
const RUNNING_MYSQL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/throughline';
const RUNNING_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every process these tests started, and every directory they made, undone in afterAll even after a failure. */
const startedPids = new Set<number>();
const tempDirs = new Set<string>();

afterAll(async () => {
  await Promise.all([...startedPids].map((pid) => stopProcess(pid)));
  await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('ensureServices', () => {
  it('reports running services without starting anything', async () => {
    const dataDir = await freshDir();
    const logger = recordingLogger();

    const result = await ensureServices({ mysqlUrl: RUNNING_MYSQL, redisUrl: RUNNING_REDIS, dataDir, logger });

    expect(result).toEqual({ mysql: 'running', redis: 'running', pids: {} });
    expect(logger.lines).toEqual([]);
  });

  it('starts a private redis-server on a free port when none answers', async () => {
    const dataDir = await freshDir();
    const port = await freePort();
    const logger = recordingLogger();

    const result = await ensureServices({
      mysqlUrl: RUNNING_MYSQL,
      redisUrl: `redis://127.0.0.1:${port}`,
      dataDir,
      logger,
      useDocker: false,
      // Not the default URL: started only when asked (AUTO_START_SERVICES=true).
      startAtAnyLocalUrl: true,
    });
    track(result.pids.redis);

    expect(result.mysql).toBe('running');
    expect(result.redis).toBe('started-private');
    expect(result.pids.mysql).toBeUndefined();
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    expect(logger.lines.join('\n')).toContain(`kill ${result.pids.redis}`);

    await stopProcess(result.pids.redis!);
    expect(await isReachable('127.0.0.1', port)).toBe(false);
  });

  it('starts a private MariaDB on a free port when none answers', { timeout: 120_000 }, async () => {
    const dataDir = await freshDir();
    const port = await freePort();
    const logger = recordingLogger();

    const result = await ensureServices({
      mysqlUrl: `mysql://root@127.0.0.1:${port}/throughline`,
      redisUrl: RUNNING_REDIS,
      dataDir,
      logger,
      timeoutMs: 100_000,
      useDocker: false,
      startAtAnyLocalUrl: true,
    });
    track(result.pids.mysql);

    expect(result).toMatchObject({ mysql: 'started-private', redis: 'running' });
    const connection = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '' });
    try {
      const [rows] = await connection.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
      // The binary log the change follower (src/changes/) reads.
      const [binlog] = await connection.query(
        'SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS rowImage, @@binlog_row_metadata AS rowMetadata',
      );
      expect(binlog).toEqual([{ logBin: 1, format: 'ROW', rowImage: 'FULL', rowMetadata: 'FULL' }]);
    } finally {
      await connection.end();
    }
    expect(logger.lines.join('\n')).toContain(`kill ${result.pids.mysql}`);

    await stopProcess(result.pids.mysql!);
    expect(await isReachable('127.0.0.1', port)).toBe(false);
  });

  it('refuses to start anything for a remote host', async () => {
    const dataDir = await freshDir();
    // `.invalid` never resolves (RFC 2606), so the probe fails at DNS and sends nothing anywhere.
    const attempt = ensureServices({
      mysqlUrl: 'mysql://root:secret@db.invalid:3306/x',
      redisUrl: RUNNING_REDIS,
      dataDir,
      logger: recordingLogger(),
    });

    const error = await attempt.then(
      () => expect.fail('expected ensureServices to reject'),
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ServicesUnavailableError);
    const { message, instructions } = error as ServicesUnavailableError;
    expect(message).toContain('db.invalid:3306');
    expect(message).toContain('MYSQL_URL');
    expect(`${message}\n${instructions}`).not.toContain('secret');
  });

  it('says exactly what to install when no server binary exists', async () => {
    const dataDir = await freshDir();
    const [mysqlPort, redisPort] = [await freePort(), await freePort()];

    const error = await ensureServices({
      mysqlUrl: `mysql://root@127.0.0.1:${mysqlPort}/throughline`,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      dataDir,
      logger: recordingLogger(),
      // A machine with neither server installed and no Docker.
      searchPath: [],
      useDocker: false,
      startAtAnyLocalUrl: true,
    }).then(
      () => expect.fail('expected ensureServices to reject'),
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(ServicesUnavailableError);
    const { message, instructions, notInstalled } = error as ServicesUnavailableError;
    expect(notInstalled).toEqual(['mysql', 'redis']);
    expect(message).toContain(`127.0.0.1:${mysqlPort}`);
    expect(message).toContain(`127.0.0.1:${redisPort}`);
    expect(instructions).toMatch(/sudo apt-get install -y \S*mariadb\S* redis-server/);
    expect(instructions).toContain('brew install mariadb redis');
    expect(instructions).toContain('docker compose up -d');
    expect(instructions).toContain('MYSQL_URL / REDIS_URL');
    // Nothing was started, so nothing answers.
    expect(await isReachable('127.0.0.1', mysqlPort)).toBe(false);
    expect(await isReachable('127.0.0.1', redisPort)).toBe(false);
  });
});

describe('ensureServices, unasked (AUTO_START_SERVICES at its default)', () => {
  it('names a local URL other than the default that does not answer, and starts nothing there', async () => {
    const dataDir = await freshDir();
    const [mysqlPort, redisPort] = [await freePort(), await freePort()];

    const error = await ensureServices({
      mysqlUrl: `mysql://root@localhost:${mysqlPort}/throughline`,
      redisUrl: `redis://[::1]:${redisPort}`,
      dataDir,
      logger: recordingLogger(),
      useDocker: false,
    }).then(
      () => expect.fail('expected ensureServices to reject'),
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(ServicesUnavailableError);
    // One line per mistake, each naming its URL and both ways out.
    expect((error as Error).message.split('\n')).toEqual([
      `Nothing answers at MYSQL_URL=mysql://root@localhost:${mysqlPort}/throughline, and a private MySQL server is started only at the default ` +
        `mysql://root@127.0.0.1:3306: fix MYSQL_URL, or set AUTO_START_SERVICES=true to have one started at localhost:${mysqlPort}`,
      `Nothing answers at REDIS_URL=redis://[::1]:${redisPort}, and a private Redis server is started only at the default ` +
        `redis://127.0.0.1:6379: fix REDIS_URL, or set AUTO_START_SERVICES=true to have one started at [::1]:${redisPort}`,
    ]);
    expect(await isReachable('127.0.0.1', mysqlPort)).toBe(false);
    expect(await isReachable('::1', redisPort)).toBe(false);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('takes localhost, 127.0.0.1 and ::1 alike for the default URLs, with any database', () => {
    for (const url of ['mysql://root@127.0.0.1:3306/throughline', 'mysql://root@localhost/any_db', 'mariadb://root:@[::1]:3306/x', 'mysql://127.0.0.1/x']) {
      expect([url, isDefaultUrl(mysqlSpec(url))]).toEqual([url, true]);
    }
    for (const url of ['mysql://root@127.0.0.1:3307/throughline', 'mysql://app@127.0.0.1:3306/x', 'mysql://root:pw@localhost/x', 'mysql://root@db.example.com/x']) {
      expect([url, isDefaultUrl(mysqlSpec(url))]).toEqual([url, false]);
    }
    for (const url of ['redis://127.0.0.1:6379', 'redis://localhost', 'redis://[::1]:6379/2']) expect([url, isDefaultUrl(redisSpec(url))]).toEqual([url, true]);
    for (const url of ['redis://127.0.0.1:6380', 'rediss://127.0.0.1:6379', 'redis://:pw@127.0.0.1:6379', 'redis://cache:6379']) {
      expect([url, isDefaultUrl(redisSpec(url))]).toEqual([url, false]);
    }
  });

  it('names credentials a started server would not have, without the password', async () => {
    const port = await freePort();
    const error = await ensureServices({
      mysqlUrl: RUNNING_MYSQL,
      redisUrl: `redis://app:hunter2@127.0.0.1:${port}`,
      dataDir: await freshDir(),
      logger: recordingLogger(),
      useDocker: false,
      startAtAnyLocalUrl: true,
    }).then(
      () => expect.fail('expected ensureServices to reject'),
      (err: unknown) => err,
    );
    expect((error as Error).message).toBe(
      `Nothing answers at REDIS_URL=redis://app:***@127.0.0.1:${port}, and a Redis server started here would know only the default user with no password: ` +
        `start your Redis server at 127.0.0.1:${port}, or set REDIS_URL to redis://127.0.0.1:${port} to have one started for you`,
    );
  });
});

describe('isReachable', () => {
  it('is true for a listening port and false once it closes', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await isReachable('127.0.0.1', port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await isReachable('127.0.0.1', port)).toBe(false);
  });
});

// ─── Helpers ────────────────────────────────────────────────────────────────────

function recordingLogger(): ServiceLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { lines, info: record, warn: record };
}

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-services-'));
  tempDirs.add(dir);
  return dir;
}

/** Asks the kernel for a port nobody uses, then frees it for the server under test. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function track(pid: number | undefined): void {
  if (pid !== undefined) startedPids.add(pid);
}

/** SIGTERM, then wait (bounded) until the process is gone; SIGKILL if it outstays the deadline. */
async function stopProcess(pid: number, timeoutMs = 30_000): Promise<void> {
  startedPids.delete(pid);
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
