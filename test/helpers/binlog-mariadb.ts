import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { pollUntil } from './poll';
import { installDataDirectory, MARIADB_BINARIES, query, startMariadb, type PrivateMariadb } from './mysql-replica';

export { MARIADB_BINARIES, type PrivateMariadb } from './mysql-replica';

/**
 * One private MariaDB of the test's own with a binary log, for the change follower
 * (src/changes/): a `mariadbd` on a free port, its data in a temporary directory of its
 * own, so several test files can each run one at the same time. Only this process is
 * ever signalled, by PID; the shared server (which has no binary log, and whose
 * settings must not change) is never touched.
 */
export interface BinlogMariadb extends PrivateMariadb {
  /** The temporary directory with its data directory, binlog, error log (`server.err`) and socket. */
  readonly dir: string;
  /** mysql://root@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** SIGKILL, then start again on the same port and data directory (binlog kept). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT the server process. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Kills the server and removes its data. */
  dispose(): Promise<void>;
}

export interface BinlogMariadbOptions {
  /** Default true; false: no --log-bin at all (@@log_bin = 0). */
  binlog?: boolean;
  /** Default ROW. */
  format?: 'ROW' | 'STATEMENT' | 'MIXED';
  /** Default FULL. */
  rowImage?: 'FULL' | 'MINIMAL' | 'NOBLOB';
}

const NAME = 'server';

export async function startBinlogMariadb(options: BinlogMariadbOptions = {}): Promise<BinlogMariadb> {
  if (!MARIADB_BINARIES) throw new Error('mariadbd or mariadb-install-db is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'tl-binlog-'));
  const started: PrivateMariadb[] = [];
  const killAll = async () => {
    for (const server of started) await server.kill();
  };
  const args = [
    `--binlog-format=${options.format ?? 'ROW'}`,
    `--binlog-row-image=${options.rowImage ?? 'FULL'}`,
    // Column names and types in the table-map events: zongji decodes rows without INFORMATION_SCHEMA.
    '--binlog-row-metadata=FULL',
    // A follower, its reconnects and a test's own pools side by side.
    '--max-connections=300',
  ];
  // startMariadb passes --server-id (1) and, unless binlog is false, --log-bin=<datadir>/binlog.
  const start = (port?: number) => startMariadb(dir, NAME, 1, started, { binlog: options.binlog !== false, port, args });
  try {
    await installDataDirectory(join(dir, NAME));
    let current = await start();
    const port = current.port;
    const server: BinlogMariadb = {
      dir,
      port,
      pid: current.pid,
      serverUrl: current.serverUrl,
      url: (database) => `${current.serverUrl}${database}`,
      kill: () => current.kill(),
      async restart() {
        await current.kill();
        current = await start(port);
        server.pid = current.pid;
      },
      // SIGKILL ends a stopped process too, so kill() and dispose() need no resume() first.
      // The signal is delivered asynchronously: a query sent right after could still be
      // answered, so pausing ends only once the kernel reports the process stopped.
      pause: async () => {
        signal(current, 'SIGSTOP');
        await pollUntil('the server to be stopped', async () => ['T', undefined].includes(await processState(current.pid)), 5_000);
      },
      resume: async () => signal(current, 'SIGCONT'),
      async dispose() {
        await killAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (err) {
    await killAll();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Signals the current process, by its PID, unless it has exited already. */
/** The process's state letter in /proc (T: stopped), or undefined once it is gone. */
async function processState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function signal(server: PrivateMariadb, name: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(server.pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

let users = 0;

/**
 * A user with ALL on `database` (created if missing) and, with `replication`, what a
 * binlog reader needs on MariaDB 10.5+: REPLICATION SLAVE (the binlog dump) and BINLOG
 * MONITOR (SHOW BINARY LOGS / SHOW MASTER STATUS; REPLICATION CLIENT is its older
 * alias). Without it, the user can read and write the tables but not follow their
 * changes. Returns mysql://<user>:<password>@127.0.0.1:<port>/<database>.
 */
export async function createLimitedUser(server: PrivateMariadb, database: string, options: { replication: boolean }): Promise<string> {
  const user = `tl_limited_${++users}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const account = `${mysql.escape(user)}@'127.0.0.1'`;
  await query(server, `CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)}`);
  await query(server, `CREATE USER ${account} IDENTIFIED BY ${mysql.escape(password)}`);
  await query(server, `GRANT ALL ON ${mysql.escapeId(database)}.* TO ${account}`);
  if (options.replication) await query(server, `GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ${account}`);
  return `mysql://${user}:${password}@127.0.0.1:${server.port}/${database}`;
}
