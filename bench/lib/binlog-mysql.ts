import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { freePort } from '../../src/dev/free-port';
import { rootUserArgs } from '../../src/dev/mysql-init';
import { findExecutable, run } from '../../src/dev/process';

/**
 * A MariaDB of the bench's own with the binary log the change follower reads
 * (src/changes/), for scenario 8: the shared server has no binlog, and its settings
 * are not the bench's to change. One `mariadbd` on a free port, its data directory,
 * binlog, socket and error log in a temporary directory; only its PID is ever
 * signalled. The binlog settings are the ones src/dev/mysql-server.ts starts the
 * service's own private server with; everything else is MariaDB's default (InnoDB's
 * durable commit included), as on the shared server.
 */
export interface BinlogMysql {
  port: number;
  pid: number;
  dir: string;
  /** `mysql://root@127.0.0.1:<port>/`: append a database name. */
  serverUrl: string;
  /** SIGKILL (nothing in it needs to survive), then removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const STARTUP_DEADLINE_MS = 60_000;
// mariadbd lives in sbin, which an ordinary user's PATH often lacks.
const SEARCH_DIRS = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/opt/homebrew/bin'];

/**
 * `register` is handed stop() as soon as there is anything to stop (its temporary
 * directory, before the data directory is made in it), so a Ctrl-C while it starts still kills it and removes it.
 */
export async function startBinlogMysql(register: (stop: () => Promise<void>) => void = () => {}): Promise<BinlogMysql> {
  const server = await findExecutable(['mariadbd'], SEARCH_DIRS);
  const install = await findExecutable(['mariadb-install-db'], SEARCH_DIRS);
  if (!server || !install) throw new Error('scenario 8 needs mariadbd and mariadb-install-db (Debian/Ubuntu: apt-get install mariadb-server-core)');
  const dir = await mkdtemp(join(tmpdir(), 'tl-bench-binlog-'));
  const datadir = join(dir, 'data');
  const errorLog = join(dir, 'server.err');
  let child: ReturnType<typeof spawn> | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })());
  register(stop);
  try {
    // `normal`: root logs in over TCP with no password.
    await run(install, ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...rootUserArgs()], {
      timeoutMs: STARTUP_DEADLINE_MS,
    });
    const port = await freePort();
    child = spawn(
      server,
      [
        // Not /etc/mysql/my.cnf: that describes the shared server (its datadir, socket, port).
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'server.sock')}`,
        `--pid-file=${join(dir, 'server.pid')}`,
        `--log-error=${errorLog}`,
        '--skip-name-resolve',
        // What the follower needs (as src/dev/mysql-server.ts and docker-compose.yml set it).
        `--log-bin=${join(datadir, 'binlog')}`,
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
        '--server-id=1',
        '--max-connections=300',
        ...rootUserArgs(),
      ],
      { stdio: 'ignore' },
    );
    child.on('error', () => undefined); // a failed spawn shows as an exit, below
    const started = child;
    const deadline = Date.now() + STARTUP_DEADLINE_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        const log = await readFile(errorLog, 'utf8').catch(() => '');
        throw new Error(`mariadbd exited (${started.exitCode ?? started.signalCode}):\n${log.split('\n').slice(-15).join('\n')}`);
      }
      if (await canLogIn(port)) break;
      if (Date.now() > deadline) throw new Error(`mariadbd on port ${port} did not accept root within ${STARTUP_DEADLINE_MS / 1000} s`);
      await sleep(100);
    }
    return { port, pid: started.pid!, dir, serverUrl: `mysql://root@127.0.0.1:${port}/`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function canLogIn(port: number): Promise<boolean> {
  const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2_000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}
