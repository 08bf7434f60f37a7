/**
 * Makes `npm start` work on a machine where MySQL or Redis is not running yet.
 *
 * For each of the two servers, in order of preference: use the one that answers at
 * the configured URL; for a local URL, start it with Docker Compose; else start a
 * private server from the installed binaries, detached, with its data and log under
 * `dataDir`; else explain exactly what to install. Remote servers are never started:
 * a remote URL that does not answer is a configuration problem, not ours to fix.
 */
import { connect } from 'node:net';
import { delimiter } from 'node:path';
import { composeFile, dockerWorks, tryDocker } from './docker';
import { assertDefaultCredentials, hostPort, isLocal } from './endpoint';
import { combineFailures, notInstalled, remoteDown } from './instructions';
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

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}
