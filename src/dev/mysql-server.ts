import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { bindAddress, endpointOf } from './endpoint';
import { launch } from './launch';
import { type Flavour, initialiseMysql, rootUserArgs } from './mysql-init';
import { exists, findExecutable, run } from './process';
import type { Context, Endpoint, PrivateServer, ServiceSpec } from './types';

export function mysqlSpec(url: string): ServiceSpec {
  return {
    name: 'mysql',
    label: 'MySQL',
    envVar: 'MYSQL_URL',
    url,
    defaultPort: 3306,
    endpoint: endpointOf(url, 3306, 'MYSQL_URL'),
    isReady: canLogIn,
    startPrivate: startPrivateMysql,
  };
}

async function startPrivateMysql(ep: Endpoint, ctx: Context): Promise<PrivateServer | undefined> {
  const server = await findExecutable(['mariadbd', 'mysqld'], ctx.searchDirs);
  if (!server) return undefined;
  const flavour = await flavourOf(server);
  const datadir = join(ctx.dataDir, 'mysql');
  if (!(await exists(join(datadir, 'mysql')))) await initialiseMysql(server, flavour, datadir, ctx);
  const pidFile = join(ctx.dataDir, 'mysql.pid');
  const args = [
    // Ignore /etc/mysql/my.cnf and ~/.my.cnf: they describe the system server (its
    // datadir, socket, log file, `user = mysql`), not this private one.
    '--no-defaults',
    `--datadir=${datadir}`,
    // Not /tmp: a server starting up deletes the `#sql…` files in its tmpdir, another server's included.
    `--tmpdir=${await ensureDir(join(ctx.dataDir, 'mysql-tmp'))}`,
    `--port=${ep.port}`,
    `--bind-address=${bindAddress(ep.host)}`,
    `--socket=${socketPath(ctx.dataDir)}`,
    `--pid-file=${pidFile}`,
    ...rootUserArgs(),
    ...binlogArgs(flavour, datadir),
    // MySQL 8's X Protocol listens on 33060 by default and would collide with any other server.
    ...(flavour === 'mysql' ? ['--mysqlx=OFF'] : []),
  ];
  return launch({ command: server, args, logFile: join(ctx.dataDir, 'mysql.log'), pidFile }, () => canLogIn(ep), ctx);
}

/**
 * The binary log the change follower (src/changes/) reads with zongji: row-based, whole
 * rows, with column names and types in it (binlog_row_metadata=FULL, MariaDB ≥10.5 /
 * MySQL 8), so rows decode without asking INFORMATION_SCHEMA. A binlog needs a server_id.
 * MariaDB always keeps GTIDs; MySQL only with gtid_mode=ON, which needs
 * enforce_gtid_consistency=ON. (docker-compose.yml passes the same settings.)
 */
async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

function binlogArgs(flavour: Flavour, datadir: string): string[] {
  const common = ['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL', '--server-id=1'];
  // MariaDB logs nothing without --log-bin; named, so the files sit in the datadir and not after the host name.
  if (flavour === 'mariadb') return [`--log-bin=${join(datadir, 'binlog')}`, ...common];
  return ['--log-bin', ...common, '--gtid-mode=ON', '--enforce-gtid-consistency=ON'];
}

/** `mysqld` is MariaDB on many Linux distributions (a symlink), so ask the binary, not its name. */
async function flavourOf(server: string): Promise<Flavour> {
  const { stdout } = await run(server, ['--version'], { timeoutMs: 10_000 });
  return /mariadb/i.test(stdout) ? 'mariadb' : 'mysql';
}

/** Unix socket paths are capped near 104 bytes; a deep checkout would exceed that, so fall back to tmpdir. */
function socketPath(dataDir: string): string {
  const preferred = join(dataDir, 'mysql.sock');
  if (Buffer.byteLength(preferred) <= 100) return preferred;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return join(tmpdir(), `throughline-mysql-${hash}.sock`);
}

/**
 * A port that accepts connections may still be starting up; only a real login proves
 * it ready. A refused login will not fix itself by waiting, so it ends the wait.
 */
async function canLogIn(ep: Endpoint): Promise<boolean> {
  const user = ep.user || 'root';
  try {
    const { host, port, password } = ep;
    const connection = await createConnection({ host, port, user, password, connectTimeout: 2_000 });
    try {
      await connection.query('SELECT 1');
      return true;
    } finally {
      await connection.end().catch(() => undefined);
    }
  } catch (err) {
    // MariaDB refuses a user without a password with 1698, not MySQL's 1045.
    const code = (err as { code?: unknown }).code;
    if (code !== 'ER_ACCESS_DENIED_ERROR' && code !== 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR') return false;
    throw new Error(`the server refuses ${user} with the password from the URL (${code})`);
  }
}
