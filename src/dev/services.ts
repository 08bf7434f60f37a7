/**
 * Makes `npm start` work on a machine where MySQL or Redis is not running yet.
 *
 * For each of the two servers, in order of preference: use the one that answers at
 * the configured URL; for a local URL, start it with Docker Compose; else start a
 * private server from the installed binaries, detached, with its data and log under
 * `dataDir`; else explain exactly what to install. Remote servers are never started:
 * a remote URL that does not answer is a configuration problem, not ours to fix.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConnection } from 'mysql2/promise';

export interface ServiceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EnsureServicesOptions {
  /** e.g. `mysql://root@127.0.0.1:3306/throughline`; the port defaults to 3306. */
  mysqlUrl: string;
  /** e.g. `redis://127.0.0.1:6379`; the port defaults to 6379. */
  redisUrl: string;
  /** Where private servers keep their data, logs and pid files, e.g. `<repo>/.local`. */
  dataDir: string;
  logger: ServiceLogger;
  /** How long to wait for a started server to answer. Default 60 000 ms. */
  timeoutMs?: number;
  /** Directory holding `docker-compose.yml`. Default `process.cwd()`, which `npm start` sets to the package root. */
  projectDir?: string;
  /** Directories searched for server binaries. Default `$PATH` plus the usual sbin directories. */
  searchPath?: string[];
  /** Try Docker Compose before private servers. Default true (used only when `docker info` succeeds). */
  useDocker?: boolean;
}

export type ServiceState = 'running' | 'started-docker' | 'started-private';
export type ServiceName = 'mysql' | 'redis';

export interface EnsureServicesResult {
  mysql: ServiceState;
  redis: ServiceState;
  /** Process ids of the private servers this call started (absent for the others). */
  pids: Partial<Record<ServiceName, number>>;
}

/** A server is not available and we cannot (or must not) start it; `instructions` say what to do. */
export class ServicesUnavailableError extends Error {
  constructor(
    /** What is wrong, in one or two sentences. */
    readonly problem: string,
    /** Exactly what to install, run or configure to fix it. */
    readonly instructions: string,
    /** The services that are not installed here (empty when the problem is something else). */
    readonly notInstalled: ServiceName[] = [],
  ) {
    super(`${problem}\n${instructions}`);
    this.name = 'ServicesUnavailableError';
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DOCKER_INFO_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 100;
const DEFAULT_SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin'];

export async function ensureServices(opts: EnsureServicesOptions): Promise<EnsureServicesResult> {
  const ctx = contextOf(opts);
  // Independent servers start side by side: a MariaDB data directory takes seconds to
  // initialise, and Redis need not wait for it.
  const [mysql, redis] = await Promise.allSettled([
    ensureOne(mysqlSpec(opts.mysqlUrl), ctx),
    ensureOne(redisSpec(opts.redisUrl), ctx),
  ]);
  if (mysql.status === 'rejected' || redis.status === 'rejected') {
    throw combineFailures([mysql, redis].flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])), ctx);
  }
  const pids: EnsureServicesResult['pids'] = {};
  if (mysql.value.pid !== undefined) pids.mysql = mysql.value.pid;
  if (redis.value.pid !== undefined) pids.redis = redis.value.pid;
  return { mysql: mysql.value.state, redis: redis.value.state, pids };
}

/** True when a TCP connection to host:port opens within `timeoutMs` (default 1 000 ms). */
export function isReachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

// ─── One service ────────────────────────────────────────────────────────────────

interface Context {
  dataDir: string;
  projectDir: string;
  logger: ServiceLogger;
  timeoutMs: number;
  searchDirs: string[];
  /** Asked at most once per call, and only if some local server is missing. */
  dockerUsable: () => Promise<boolean>;
}

interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

interface ServiceSpec {
  name: ServiceName;
  label: string;
  envVar: string;
  endpoint: Endpoint;
  /** Answers like the application needs it to: a login for MySQL, PING for Redis. */
  isReady(ep: Endpoint): Promise<boolean>;
  /** Starts a private server; undefined when its binaries are not installed. */
  startPrivate(ep: Endpoint, ctx: Context): Promise<PrivateServer | undefined>;
}

interface PrivateServer {
  pid: number;
  logFile: string;
  pidFile: string;
}

interface Outcome {
  state: ServiceState;
  pid?: number;
}

function contextOf(opts: EnsureServicesOptions): Context {
  const projectDir = opts.projectDir ?? process.cwd();
  const useDocker = opts.useDocker ?? true;
  return {
    dataDir: opts.dataDir,
    projectDir,
    logger: opts.logger,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    searchDirs: opts.searchPath ?? [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...DEFAULT_SEARCH_DIRS],
    dockerUsable: once(async () => useDocker && (await exists(composeFile(projectDir))) && (await dockerWorks())),
  };
}

async function ensureOne(spec: ServiceSpec, ctx: Context): Promise<Outcome> {
  const ep = spec.endpoint;
  if (await isReachable(ep.host, ep.port)) return { state: 'running' };
  if (!isLocal(ep.host)) throw remoteDown(spec);
  assertDefaultCredentials(spec);
  if (await ctx.dockerUsable()) {
    if (await tryDocker(spec, ctx)) return { state: 'started-docker' };
  }
  const server = await spec.startPrivate(ep, ctx);
  if (!server) throw notInstalled(spec, ctx);
  ctx.logger.info(
    { service: spec.name, pid: server.pid, dataDir: ctx.dataDir, logFile: server.logFile, pidFile: server.pidFile },
    `started a private ${spec.label} on ${hostPort(ep)}; it keeps running after this process exits ` +
      `— stop it with: kill ${server.pid} (pid also in ${server.pidFile})`,
  );
  return { state: 'started-private', pid: server.pid };
}

function isLocal(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

/**
 * Private and Compose servers know only root with an empty password. Refusing other
 * credentials up front beats starting a server the application then cannot log in to.
 */
function assertDefaultCredentials(spec: ServiceSpec): void {
  const { user, password } = spec.endpoint;
  const okUser = spec.name === 'mysql' ? user === 'root' || user === '' : user === '' || user === 'default';
  if (okUser && password === '') return;
  throw new ServicesUnavailableError(
    `${spec.label} at ${hostPort(spec.endpoint)} does not answer, and ${spec.envVar} names credentials ` +
      `that a server started here would not have.`,
    `Start your ${spec.label} server at ${hostPort(spec.endpoint)}, or set ${spec.envVar} to ${defaultUrl(spec)} ` +
      `so one can be started for you (root with an empty password, listening on 127.0.0.1 only).`,
  );
}

// ─── Docker Compose ─────────────────────────────────────────────────────────────

function composeFile(projectDir: string): string {
  return join(projectDir, 'docker-compose.yml');
}

/** The docker client may be installed with no engine behind it; only a working `docker info` counts. */
async function dockerWorks(): Promise<boolean> {
  try {
    await run('docker', ['info'], { timeoutMs: DOCKER_INFO_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

/** A failed Compose start is not fatal: the installed binaries may still do. */
async function tryDocker(spec: ServiceSpec, ctx: Context): Promise<boolean> {
  try {
    await run('docker', ['compose', '-f', composeFile(ctx.projectDir), 'up', '-d', '--wait', spec.name], {
      cwd: ctx.projectDir,
      timeoutMs: ctx.timeoutMs,
    });
    if (await pollUntil(() => spec.isReady(spec.endpoint), Date.now() + ctx.timeoutMs)) {
      const msg = `started ${spec.label} with Docker Compose; stop it with: docker compose stop ${spec.name}`;
      ctx.logger.info({ service: spec.name }, msg);
      return true;
    }
    const msg = `Docker Compose started ${spec.label} but it does not answer at ${hostPort(spec.endpoint)}`;
    ctx.logger.warn({ service: spec.name }, msg);
  } catch (err) {
    const msg = `could not start ${spec.label} with Docker Compose; trying installed binaries`;
    ctx.logger.warn({ service: spec.name, err: errorText(err) }, msg);
  }
  return false;
}

// ─── MySQL / MariaDB ────────────────────────────────────────────────────────────

type Flavour = 'mariadb' | 'mysql';

function mysqlSpec(url: string): ServiceSpec {
  return {
    name: 'mysql',
    label: 'MySQL',
    envVar: 'MYSQL_URL',
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
    `--port=${ep.port}`,
    `--bind-address=${bindAddress(ep.host)}`,
    `--socket=${socketPath(ctx.dataDir)}`,
    `--pid-file=${pidFile}`,
    ...rootUserArgs(),
    // MySQL 8's X Protocol listens on 33060 by default and would collide with any other server.
    ...(flavour === 'mysql' ? ['--mysqlx=OFF'] : []),
  ];
  return launch({ command: server, args, logFile: join(ctx.dataDir, 'mysql.log'), pidFile }, () => canLogIn(ep), ctx);
}

/** `mysqld` is MariaDB on many Linux distributions (a symlink), so ask the binary, not its name. */
async function flavourOf(server: string): Promise<Flavour> {
  const { stdout } = await run(server, ['--version'], { timeoutMs: 10_000 });
  return /mariadb/i.test(stdout) ? 'mariadb' : 'mysql';
}

/**
 * Initialises into a scratch directory and renames it into place, so an interrupted
 * run never leaves a half-made data directory that a later start would mistake for ready.
 */
async function initialiseMysql(server: string, flavour: Flavour, datadir: string, ctx: Context): Promise<void> {
  const scratch = `${datadir}.initialising`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(ctx.dataDir, { recursive: true });
  const [command, args] =
    flavour === 'mariadb' ? await mariadbInstallCommand(scratch, ctx) : [server, mysqlInitialiseArgs(scratch)];
  ctx.logger.info({ datadir }, `initialising a private ${flavour === 'mariadb' ? 'MariaDB' : 'MySQL'} data directory`);
  try {
    await run(command, args, { timeoutMs: ctx.timeoutMs });
  } catch (err) {
    throw new ServicesUnavailableError(
      `Could not initialise a MySQL data directory in ${scratch}: ${errorText(err)}`,
      `Check the output above; delete ${scratch} and run again once the cause is fixed.`,
    );
  }
  await rename(scratch, datadir);
}

async function mariadbInstallCommand(datadir: string, ctx: Context): Promise<[string, string[]]> {
  const tool = await findExecutable(['mariadb-install-db', 'mysql_install_db'], ctx.searchDirs);
  if (!tool) {
    throw new ServicesUnavailableError(
      'MariaDB is installed without mariadb-install-db, which a private server needs to create its data directory.',
      `Install it: Debian/Ubuntu  sudo apt-get install -y mariadb-server-core;  macOS  brew install mariadb`,
    );
  }
  // Older versions lack some flags (and already default to what they ask for), so pass only the ones this one knows.
  const help = await helpText(tool);
  const wanted = ['--auth-root-authentication-method=normal', '--skip-test-db'].filter((flag) =>
    help.includes(flag.split('=')[0]!),
  );
  // `normal` gives root an empty password over TCP, which is what the default URL expects.
  return [tool, ['--no-defaults', `--datadir=${datadir}`, ...wanted, ...rootUserArgs()]];
}

/** mariadb-install-db prints its help and then exits 1, so the exit status says nothing here. */
async function helpText(tool: string): Promise<string> {
  return run(tool, ['--help'], { timeoutMs: 10_000 }).then(
    ({ stdout }) => stdout,
    (err: { stdout?: unknown }) => (typeof err.stdout === 'string' ? err.stdout : ''),
  );
}

function mysqlInitialiseArgs(datadir: string): string[] {
  return ['--no-defaults', '--initialize-insecure', `--datadir=${datadir}`, ...rootUserArgs()];
}

/** mysqld refuses to run as root unless told to, and a private dev server may well be started by root. */
function rootUserArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
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
    if ((err as { code?: unknown }).code !== 'ER_ACCESS_DENIED_ERROR') return false;
    throw new Error(`the server refuses ${user} with the password from the URL (ER_ACCESS_DENIED_ERROR)`);
  }
}

// ─── Redis ──────────────────────────────────────────────────────────────────────

function redisSpec(url: string): ServiceSpec {
  return {
    name: 'redis',
    label: 'Redis',
    envVar: 'REDIS_URL',
    endpoint: endpointOf(url, 6379, 'REDIS_URL'),
    isReady: answersPing,
    startPrivate: startPrivateRedis,
  };
}

async function startPrivateRedis(ep: Endpoint, ctx: Context): Promise<PrivateServer | undefined> {
  const server = await findExecutable(['redis-server'], ctx.searchDirs);
  if (!server) return undefined;
  const dir = join(ctx.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const logFile = join(ctx.dataDir, 'redis.log');
  const pidFile = join(ctx.dataDir, 'redis.pid');
  const args = [
    '--port', String(ep.port),
    '--bind', bindAddress(ep.host),
    '--daemonize', 'no',
    '--dir', dir,
    // A cache: nothing in it is worth a snapshot, and skipping them keeps the disk quiet.
    '--save', '',
    '--appendonly', 'no',
    '--logfile', logFile,
    '--pidfile', pidFile,
  ];
  return launch({ command: server, args, logFile, pidFile }, () => answersPing(ep), ctx);
}

/** Redis accepts connections while it loads its dataset and answers -LOADING until done; only +PONG means ready. */
function answersPing(ep: Endpoint, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ep.host, port: ep.port, timeout: timeoutMs });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

// ─── Private server processes ───────────────────────────────────────────────────

interface LaunchSpec {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
}

/**
 * Starts the server detached, with its output in `logFile`, so it outlives `npm start`
 * (restarting the API should not mean re-initialising its databases). Waits until it
 * is ready; if it exits or the time runs out first, stops it and reports its log.
 */
async function launch(spec: LaunchSpec, isReady: () => Promise<boolean>, ctx: Context): Promise<PrivateServer> {
  await mkdir(ctx.dataDir, { recursive: true });
  const child = spawnDetached(spec.command, spec.args, spec.logFile);
  const exited = exitWatcher(child);
  const outcome = await pollUntil(isReady, Date.now() + ctx.timeoutMs, exited.hasExited).catch(errorText);
  if (outcome === true && child.pid !== undefined) {
    return { pid: child.pid, logFile: spec.logFile, pidFile: spec.pidFile };
  }
  // We started it and it is of no use: do not leave it running behind the user's back.
  if (!exited.hasExited()) child.kill('SIGTERM');
  const why =
    typeof outcome === 'string'
      ? `started, but ${outcome}`
      : exited.hasExited()
        ? `exited (${exited.describe()})`
        : `did not answer within ${ctx.timeoutMs} ms`;
  throw new ServicesUnavailableError(
    `${spec.command} ${why}. Last lines of ${spec.logFile}:\n${await tail(spec.logFile)}`,
    `Fix the cause shown in ${spec.logFile}, or point the URL at a server that runs.`,
  );
}

function spawnDetached(command: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    // Without this the error event of a failed spawn (ENOENT, EACCES) would crash the process.
    child.on('error', () => undefined);
    child.unref();
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
}

function exitWatcher(child: ChildProcess): { hasExited: () => boolean; describe: () => string } {
  let status: string | undefined;
  child.once('exit', (code, signal) => (status = signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (err) => (status = err.message));
  return { hasExited: () => status !== undefined, describe: () => status ?? 'running' };
}

async function tail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
}

// ─── Errors and instructions ────────────────────────────────────────────────────

function remoteDown(spec: ServiceSpec): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `The ${spec.label} server configured in ${spec.envVar} (${hostPort(spec.endpoint)}) does not answer.`,
    `Servers on other hosts are never started from here: start that server, ` +
      `or set ${spec.envVar} to one that runs (e.g. ${defaultUrl(spec)}).`,
  );
}

function notInstalled(spec: ServiceSpec, ctx: Context): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `Nothing answers at ${hostPort(spec.endpoint)} for ${spec.envVar}, Docker did not start one, ` +
      `and no ${spec.label} server is installed to start.`,
    installInstructions([spec.name], ctx),
    [spec.name],
  );
}

const PACKAGES: Record<ServiceName, { apt: string; dnf: string; brew: string; binaries: string }> = {
  // mariadb-server-core, not mariadb-server: the latter also starts a system service on
  // 3306 whose root logs in only through the Unix socket, which a TCP URL cannot use.
  mysql: { apt: 'mariadb-server-core', dnf: 'mariadb-server', brew: 'mariadb', binaries: 'mariadbd or mysqld' },
  redis: { apt: 'redis-server', dnf: 'redis', brew: 'redis', binaries: 'redis-server' },
};

function installInstructions(services: ServiceName[], ctx: Context): string {
  const pick = (k: 'apt' | 'dnf' | 'brew') => services.map((s) => PACKAGES[s][k]).join(' ');
  return [
    `Install ${services.map((s) => PACKAGES[s].binaries).join(' and ')} and run \`npm start\` again; ` +
      `it starts private servers with their data in ${ctx.dataDir}:`,
    `  Debian/Ubuntu:  sudo apt-get install -y ${pick('apt')}`,
    `  Fedora/RHEL:    sudo dnf install -y ${pick('dnf')}`,
    `  macOS:          brew install ${pick('brew')}`,
    `Or, with Docker running:  docker compose up -d --wait ${services.join(' ')}   (in ${ctx.projectDir})`,
    `Or set ${services.map((s) => (s === 'mysql' ? 'MYSQL_URL' : 'REDIS_URL')).join(' / ')} to servers that run.`,
  ].join('\n');
}

/** Both servers missing should read as one set of instructions, not two near-copies. */
function combineFailures(errors: unknown[], ctx: Context): unknown {
  if (errors.length === 1) return errors[0];
  if (!errors.every((e): e is ServicesUnavailableError => e instanceof ServicesUnavailableError)) {
    return errors.find((e) => !(e instanceof ServicesUnavailableError));
  }
  const notInstalledHere = errors.flatMap((e) => e.notInstalled);
  const problem = errors.map((e) => e.problem).join('\n');
  const instructions =
    notInstalledHere.length === errors.length
      ? installInstructions(notInstalledHere, ctx)
      : errors.map((e) => e.instructions).join('\n');
  return new ServicesUnavailableError(problem, instructions, notInstalledHere);
}

// ─── Small helpers ──────────────────────────────────────────────────────────────

/** Reads host, port and credentials; errors never repeat the URL, which may hold a password. */
function endpointOf(url: string, defaultPort: number, envVar: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const example = envVar === 'MYSQL_URL' ? 'mysql://root@127.0.0.1:3306/throughline' : 'redis://127.0.0.1:6379';
    throw new ServicesUnavailableError(`${envVar} is not a valid URL.`, `Set ${envVar} to a URL such as ${example}.`);
  }
  return {
    // URL keeps the brackets around IPv6 literals; sockets want the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : defaultPort,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

function hostPort(ep: Endpoint): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

function defaultUrl(spec: ServiceSpec): string {
  const port = spec.endpoint.port;
  return spec.name === 'mysql' ? `mysql://root@127.0.0.1:${port}/throughline` : `redis://127.0.0.1:${port}`;
}

/** Listen where the URL points: a server on 127.0.0.1 would not answer a client dialling ::1. */
function bindAddress(host: string): string {
  return host === '::1' ? '::1' : '127.0.0.1';
}

async function findExecutable(names: string[], dirs: string[]): Promise<string | undefined> {
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (await exists(candidate, fsConstants.X_OK)) return candidate;
    }
  }
  return undefined;
}

async function exists(path: string, mode = fsConstants.F_OK): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

/** Polls without overlapping attempts; `stop` ends the wait early (e.g. the server exited). */
async function pollUntil(
  check: () => Promise<boolean>,
  deadline: number,
  stop: () => boolean = () => false,
): Promise<boolean> {
  while (!stop()) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return false;
}

/** Runs a command to completion; on failure the error carries its stdout and stderr. */
function run(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number },
): Promise<{ stdout: string; stderr: string }> {
  const options = { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    execFile(command, args, options, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

function errorText(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  const base = err instanceof Error ? err.message : String(err);
  const extra = typeof stderr === 'string' ? stderr.trim() : '';
  return extra && !base.includes(extra) ? `${base}\n${extra}` : base;
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}
