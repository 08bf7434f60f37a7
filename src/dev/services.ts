/**
 * Makes `npm start` work on a machine where MySQL or Redis is not running yet.
 *
 * For each of the two servers, in order of preference: use the one that answers at
 * the configured URL; for a local URL, start it with Docker Compose; else start a
 * private server from the installed binaries, detached, with its data and log under
 * `dataDir`; else explain exactly what to install. Remote servers are never started:
 * a remote URL that does not answer is a configuration problem, not ours to fix. Nor,
 * unless asked (`startAtAnyLocalUrl`, AUTO_START_SERVICES=true), are local ones at any
 * URL but the default: a mistyped port would otherwise get a new, empty server, and the
 * data would look lost.
 */
import { connect } from 'node:net';
import { delimiter } from 'node:path';
import { composeFile, dockerWorks, tryDocker } from './docker';
import { assertDefaultCredentials, hostPort, isDefaultUrl, isLocal } from './endpoint';
import { combineFailures, notDefault, notInstalled, remoteDown } from './instructions';
import { mysqlSpec } from './mysql-server';
import { exists } from './process';
import { redisSpec } from './redis-server';
import type { Context, ServiceLogger, ServiceName, ServiceSpec, ServiceState } from './types';

// Defined apart so the modules below can use them without importing this one.
export { ServicesUnavailableError } from './errors';
export type { ServiceLogger, ServiceName, ServiceState } from './types';

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
  /**
   * Start a server at any local URL that does not answer (AUTO_START_SERVICES=true).
   * Default false: only at the default ones (`mysql://root@127.0.0.1:3306/<any database>`,
   * `redis://127.0.0.1:6379`; localhost and ::1 alike); any other is an error naming it.
   */
  startAtAnyLocalUrl?: boolean;
}

export interface EnsureServicesResult {
  mysql: ServiceState;
  redis: ServiceState;
  /** Process ids of the private servers this call started (absent for the others). */
  pids: Partial<Record<ServiceName, number>>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
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
export async function isReachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return (await reachability(host, port, timeoutMs)) === 'open';
}

/** 'open' when a TCP connection to host:port opens within `timeoutMs`; else why not: the socket's error code, or 'timeout'. */
export function reachability(host: string, port: number, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const finish = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () => finish('open'));
    socket.once('timeout', () => finish('timeout'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  });
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
    startAtAnyLocalUrl: opts.startAtAnyLocalUrl ?? false,
    dockerUsable: once(async () => useDocker && (await exists(composeFile(projectDir))) && (await dockerWorks())),
  };
}

async function ensureOne(spec: ServiceSpec, ctx: Context): Promise<Outcome> {
  const ep = spec.endpoint;
  const reached = await reachability(ep.host, ep.port);
  if (reached === 'open') return { state: 'running' };
  if (!isLocal(ep.host)) throw remoteDown(spec, reached);
  assertDefaultCredentials(spec, ctx.startAtAnyLocalUrl);
  if (!ctx.startAtAnyLocalUrl && !isDefaultUrl(spec)) throw notDefault(spec);
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

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}
