import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as fsConstants } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from '../../src/dev/free-port';
import { pollUntil } from './poll';

/**
 * A MariaDB primary and a replica of it, of the test's own: two private `mariadbd`
 * processes on free ports, data in a temporary directory, the replica following the
 * primary's binary log by GTID. Only these two processes are ever signalled, by PID;
 * the shared server (which has no binary log, and must not be restarted) is never
 * touched.
 */
export interface ReplicatedMysql {
  primary: PrivateMariadb;
  replica: PrivateMariadb;
  /** Stops the replica applying what it receives (STOP SLAVE SQL_THREAD): from now on it lags. */
  stopApplying(): Promise<void>;
  resumeApplying(): Promise<void>;
  /** Waits until the replica has applied everything the primary has logged so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Kills both servers and removes their data. */
  dispose(): Promise<void>;
}

export interface PrivateMariadb {
  port: number;
  pid: number;
  /** `mysql://root@127.0.0.1:<port>/`: append a database name. */
  serverUrl: string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
}

/** Where `mariadbd` and `mariadb-install-db` are, or undefined if either is missing (tests then skip). */
export const MARIADB_BINARIES = findBinaries();

const STARTUP_DEADLINE_MS = 30_000;

export async function startReplicatedMysql(): Promise<ReplicatedMysql> {
  if (!MARIADB_BINARIES) throw new Error('mariadbd or mariadb-install-db is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'tl-repl-'));
  const servers: PrivateMariadb[] = [];
  const dispose = async () => {
    for (const server of servers) await server.kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // One data directory, initialised once (a few seconds) and copied: the two servers
    // start out identical, as a replica made from a backup of its primary would.
    await installDataDirectory(join(dir, 'primary'));
    await cp(join(dir, 'primary'), join(dir, 'replica'), { recursive: true });
    const primary = await startMariadb(dir, 'primary', 1, servers);
    const replica = await startMariadb(dir, 'replica', 2, servers);
    await follow(primary, replica);
    const onReplica = (statement: string) => query(replica, statement);
    return {
      primary,
      replica,
      stopApplying: () => onReplica('STOP SLAVE SQL_THREAD').then(() => undefined),
      resumeApplying: () => onReplica('START SLAVE SQL_THREAD').then(() => undefined),
      async caughtUp(timeoutMs = 10_000) {
        const [[{ pos }]] = (await query(primary, 'SELECT @@gtid_binlog_pos AS pos')) as [[{ pos: string }]];
        // The replica's own server-side wait: returns 0 once it has applied `pos`, -1 on timeout.
        const [[{ done }]] = (await query(replica, `SELECT MASTER_GTID_WAIT(${mysql.escape(pos)}, ${timeoutMs / 1000}) AS done`)) as [
          [{ done: number }],
        ];
        if (done !== 0) throw new Error(`the replica did not apply the primary's ${pos} within ${timeoutMs} ms`);
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** One private MariaDB of the test's own, with no binary log, that can be killed and started again on its data and port. */
export interface RestartableMariadb {
  server: PrivateMariadb;
  /** Starts the server again, on the same data directory and port (after `server.kill()`). */
  restart(): Promise<void>;
  /** Kills it and removes its data. */
  dispose(): Promise<void>;
}

export async function startRestartableMariadb(): Promise<RestartableMariadb> {
  if (!MARIADB_BINARIES) throw new Error('mariadbd or mariadb-install-db is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'tl-mariadb-'));
  const started: PrivateMariadb[] = [];
  const dispose = async () => {
    for (const server of started) await server.kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await installDataDirectory(join(dir, 'solo'));
    const first = await startMariadb(dir, 'solo', 1, started, { binlog: false });
    // One object for the caller, whose kill() stops whichever process is current.
    let current = first;
    const server: PrivateMariadb = { ...first, kill: () => current.kill() };
    return {
      server,
      async restart() {
        current = await startMariadb(dir, 'solo', 1, started, { binlog: false, port: first.port });
        server.pid = current.pid;
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A fresh data directory (mariadb-install-db), root with no password over TCP. */
export async function installDataDirectory(datadir: string): Promise<void> {
  const { install } = MARIADB_BINARIES!;
  await promisify(execFile)(
    install,
    // `normal`: root logs in over TCP with no password, as the test URLs expect.
    ['--no-defaults', `--datadir=${datadir}`, `--tmpdir=${await privateTmpdir(datadir)}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...rootUser()],
    { timeout: STARTUP_DEADLINE_MS },
  );
}

/**
 * A temporary directory of the server's own, beside its data directory. Not /tmp: a
 * mariadbd starting up deletes the `#sql…` files it finds in its tmpdir, and with
 * several private servers starting side by side one deleted another's bootstrap
 * tables mid-install (mariadb-install-db: "Unknown table 'mysql.tmp_proxies_priv'").
 */
export async function privateTmpdir(datadir: string): Promise<string> {
  const dir = `${datadir}.tmp`;
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Starts `mariadbd` on the data directory `dir/name` (made by installDataDirectory) and
 * waits until root can log in; the server is pushed onto `started` first, so a caller's
 * cleanup kills it even when the start fails. `args` go after the defaults (a later
 * flag wins).
 */
export async function startMariadb(
  dir: string,
  name: string,
  serverId: number,
  started: PrivateMariadb[],
  options: { binlog?: boolean; port?: number; args?: readonly string[] } = {},
): Promise<PrivateMariadb> {
  const port = options.port ?? (await freePort());
  const errorLog = join(dir, `${name}.err`);
  const child = spawn(
    MARIADB_BINARIES!.server,
    [
      // Not /etc/mysql/my.cnf: that describes the shared server (its datadir, socket, port).
      '--no-defaults',
      `--datadir=${join(dir, name)}`,
      `--tmpdir=${await privateTmpdir(join(dir, name))}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, `${name}.sock`)}`,
      `--pid-file=${join(dir, `${name}.pid`)}`,
      `--log-error=${errorLog}`,
      `--server-id=${serverId}`,
      // Both log: the primary for its replica to read; the replica as any replica that may be promoted does.
      ...(options.binlog === false ? [] : [`--log-bin=${join(dir, name, 'binlog')}`]),
      // Nothing connects to the replica until replication is set up.
      '--skip-slave-start',
      '--skip-name-resolve',
      // Small: two of these run beside the shared server on a small machine.
      '--innodb-buffer-pool-size=32M',
      ...rootUser(),
      ...(options.args ?? []),
    ],
    { stdio: 'ignore' },
  );
  child.on('error', () => undefined); // a failed spawn shows as an exit, below
  const server = privateServer(child, port);
  started.push(server);
  await pollUntil(
    `mariadbd (${name}) on port ${port}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = await readFile(errorLog, 'utf8').catch(() => '');
        throw new Error(`mariadbd (${name}) exited (${child.exitCode ?? child.signalCode}):\n${log.split('\n').slice(-15).join('\n')}`);
      }
      return query(server, 'SELECT 1').then(
        () => true,
        () => false,
      );
    },
    STARTUP_DEADLINE_MS,
  );
  return server;
}

function privateServer(child: ChildProcess, port: number): PrivateMariadb {
  return {
    port,
    pid: child.pid!,
    serverUrl: `mysql://root@127.0.0.1:${port}/`,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A replication user on the primary; the replica follows it from the start of its binary log. */
async function follow(primary: PrivateMariadb, replica: PrivateMariadb): Promise<void> {
  await query(primary, "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'");
  await query(primary, "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
  await query(
    replica,
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos`,
  );
  await query(replica, 'START SLAVE');
  await pollUntil('the replica to connect to its primary', async () => {
    const [rows] = (await query(replica, 'SHOW SLAVE STATUS')) as [Array<Record<string, string>>];
    const status = rows[0];
    if (status?.Last_IO_Error || status?.Last_SQL_Error) throw new Error(`replication failed: ${status.Last_IO_Error || status.Last_SQL_Error}`);
    return status?.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes';
  });
}

/** One statement as root, on a connection of its own. */
export async function query(server: PrivateMariadb, statement: string): Promise<unknown> {
  const connection = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', connectTimeout: 2_000 });
  try {
    return await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/** mariadbd refuses to run as root unless told to. */
function rootUser(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

function findBinaries(): { server: string; install: string } | undefined {
  // mariadbd lives in sbin, which an ordinary user's PATH often lacks.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/opt/homebrew/bin'];
  const find = (name: string) =>
    dirs.filter(Boolean).map((d) => join(d, name)).find((path) => {
      try {
        accessSync(path, fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const server = find('mariadbd');
  const install = find('mariadb-install-db');
  return server && install ? { server, install } : undefined;
}
