import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isReachable } from '../../src/dev/services';
import { REDIS_URL } from '../helpers/database';
import { ServiceResources, type ServiceProcess } from '../helpers/service-process';

/**
 * Every start-up mistake a new user makes gets one line on stderr, naming the setting,
 * what was tried and what to do, and exit code 1: never a stack trace, never a password.
 * Each service here runs as `npm start` runs it (tests/helpers/service-process.ts), on a
 * database name of its own; the shared MySQL and Redis are only ever connected to.
 */
const ROOT = resolve(__dirname, '../..');
const resources = new ServiceResources();
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  await resources.cleanUp();
});

/** Starts the service with `env` and resolves once it has exited, with its code, its stderr and how long it took. */
async function failedStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number; service: ServiceProcess }> {
  const started = performance.now();
  const service = resources.start(env);
  const { code, at } = await service.exited;
  return { code, stderr: service.stderr.join(''), ms: Math.round(at - started), service };
}

describe('a start-up mistake', () => {
  it('in a setting is reported by `npm start` before it builds, in about a second', async () => {
    const started = performance.now();
    const child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_update_notifier: 'false', PORT: 'eighty' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    const ms = Math.round(performance.now() - started);
    console.log(`npm start with PORT=eighty reported it in ${ms} ms`);

    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toBe('Invalid configuration: PORT must be a number (got "eighty")');
    expect(stderr).not.toMatch(/^\s+at /m);
    // The build alone takes 7–16 s; the check comes before it.
    expect(ms).toBeLessThan(5_000);
  });

  it('names the MySQL user that was refused, in one line', async () => {
    const user = `tl_nobody_${randomBytes(4).toString('hex')}`;
    const { code, stderr } = await failedStart({ MYSQL_URL: `mysql://${user}@127.0.0.1:3306/${resources.database().name}`, REDIS_URL });
    expect(code).toBe(1);
    expect(stderr).toBe(`MySQL at 127.0.0.1:3306 refused user "${user}" (no password given): set a user and password it accepts in MYSQL_URL\n`);
  });

  it('says a password was given for a refused user, and never prints it', async () => {
    const user = `tl_nobody_${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const { code, stderr, service } = await failedStart({ MYSQL_URL: `mysql://${user}:${password}@127.0.0.1:3306/${resources.database().name}`, REDIS_URL });
    expect(code).toBe(1);
    expect(stderr).toBe(`MySQL at 127.0.0.1:3306 refused user "${user}" (with the password given): set a user and password it accepts in MYSQL_URL\n`);
    expect(stderr + JSON.stringify(service.logs)).not.toContain(password);
  });

  it('names the port that is already in use, and prints nothing else', async () => {
    const holder = await listening(createServer());
    const port = portOf(holder);
    const { code, stderr } = await failedStart({ MYSQL_URL: resources.database().url, REDIS_URL, HOST: '127.0.0.1', PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr).toBe(`Port ${port} on 127.0.0.1 is already in use: stop whatever holds it, or set PORT to a free port\n`);
  });

  it('names the REDIS_URL where nothing listens, in development', async () => {
    const port = await freePort();
    const { code, stderr } = await failedStart({ ...autoStartAtItsDefault(), MYSQL_URL: resources.database().url, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(stderr).toBe(
      `Nothing answers at REDIS_URL=redis://127.0.0.1:${port}, and a private Redis server is started only at the default redis://127.0.0.1:6379: ` +
        `fix REDIS_URL, or set AUTO_START_SERVICES=true to have one started at 127.0.0.1:${port}\n`,
    );
    expect(await isReachable('127.0.0.1', port)).toBe(false);
  });

  it('names the REDIS_URL whose host does not resolve, and masks its password', async () => {
    // `.invalid` never resolves (RFC 2606): the lookup fails, and nothing is sent anywhere.
    const { code, stderr } = await failedStart({ ...autoStartAtItsDefault(), MYSQL_URL: resources.database().url, REDIS_URL: 'redis://:hunter2@cache.invalid:6379' });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'The Redis server at REDIS_URL=redis://:***@cache.invalid:6379 does not answer (cache.invalid does not resolve): ' +
        'start it, or fix REDIS_URL; servers on other hosts are never started from here\n',
    );
  });

  it('names the Redis address in its warning when it is told to serve without one (AUTO_START_SERVICES=false)', async () => {
    // Not fatal: Redis down means slower, not wrong, so the service serves from MySQL.
    const port = await freePort();
    const { service } = await resources.serve({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(service.logs).toContainEqual(
      expect.objectContaining({ level: 40, msg: `Cannot reach Redis (ECONNREFUSED at 127.0.0.1:${port}): serving from MySQL until it answers; start it, or set REDIS_URL` }),
    );
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('says that what answers at MYSQL_URL is not MySQL when it accepts and says nothing, within seconds', async () => {
    const silent = await listening(createServer(() => {}));
    const { code, stderr, ms } = await failedStart({ MYSQL_URL: `mysql://root@127.0.0.1:${portOf(silent)}/${resources.database().name}`, REDIS_URL });
    console.log(`a silent server at MYSQL_URL reported in ${ms} ms`);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `Something answered at 127.0.0.1:${portOf(silent)}, but not as MySQL (no greeting within 2 s): set MYSQL_URL to a MySQL or MariaDB server's address (usually port 3306)\n`,
    );
    expect(ms).toBeLessThan(10_000);
  });

  it('says that an HTTP server at MYSQL_URL is not MySQL', async () => {
    const http = createHttpServer((_req, res) => res.end('hello'));
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    servers.push(http as unknown as Server);
    const port = portOf(http as unknown as Server);
    const { code, stderr } = await failedStart({ MYSQL_URL: `mysql://root@127.0.0.1:${port}/${resources.database().name}`, REDIS_URL });
    expect(code).toBe(1);
    expect(stderr).toBe(`Something answered at 127.0.0.1:${port}, but not as MySQL (no greeting within 2 s): set MYSQL_URL to a MySQL or MariaDB server's address (usually port 3306)\n`);
  });

  it('quotes what a server at MYSQL_URL said instead of a MySQL greeting', async () => {
    const talker = await listening(createServer((socket: Socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n')));
    const { code, stderr, ms } = await failedStart({ MYSQL_URL: `mysql://root@127.0.0.1:${portOf(talker)}/${resources.database().name}`, REDIS_URL });
    console.log(`a server greeting as SSH at MYSQL_URL reported in ${ms} ms`);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `Something answered at 127.0.0.1:${portOf(talker)}, but not as MySQL (it sent "SSH-2.0-OpenSSH_9.6"): set MYSQL_URL to a MySQL or MariaDB server's address (usually port 3306)\n`,
    );
  });

  it('names a mistyped local MySQL port in development, and starts nothing there', async () => {
    const localDir = join(ROOT, '.local');
    const before = existsSync(localDir) ? readdirSync(localDir).sort() : undefined;
    const port = await freePort();
    const url = `mysql://root@127.0.0.1:${port}/${resources.database().name}`;

    const { code, stderr, service } = await failedStart({ ...autoStartAtItsDefault(), MYSQL_URL: url, REDIS_URL });

    expect(code).toBe(1);
    expect(stderr).toBe(
      `Nothing answers at MYSQL_URL=${url}, and a private MySQL server is started only at the default mysql://root@127.0.0.1:3306: ` +
        `fix MYSQL_URL, or set AUTO_START_SERVICES=true to have one started at 127.0.0.1:${port}\n`,
    );
    // Nothing was started: a private server would be listening there now (it outlives the service), and would have made .local/.
    expect(await isReachable('127.0.0.1', port)).toBe(false);
    expect(service.logs.filter((log) => /started/.test(String(log.msg)))).toEqual([]);
    expect(existsSync(localDir) ? readdirSync(localDir).sort() : undefined).toEqual(before);
  });
});

/** Development with AUTO_START_SERVICES unset, as `npm start` runs on a fresh clone (the helper's default is false). */
function autoStartAtItsDefault(): Record<string, string> {
  return { NODE_ENV: 'development', AUTO_START_SERVICES: '' };
}

async function listening(server: Server): Promise<Server> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push(server);
  return server;
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

/** Asks the kernel for a port nobody uses, then frees it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = portOf(server);
  await new Promise((done) => server.close(done));
  return port;
}
