import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import type { Scope } from '../../src/auth/principal';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { MYSQL_SERVER_URL, REDIS_URL, testKeyPrefix } from './database';

const ROOT = resolve(__dirname, '../..');

export type LogLine = Record<string, any>;

export interface ServiceProcess {
  child: ChildProcess;
  /** Every JSON line the process wrote to stdout so far, in order. */
  logs: LogLine[];
  stderr: string[];
  /** Resolves with the first log line that matches, or fails if the process exits first. */
  waitForLog(match: (log: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited, with its code and signal and when (performance.now()) it did. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Runs src/main.ts as its own process (as `npm start` does, without the build step),
 * with the environment given and nothing else inherited but PATH. The caller kills
 * it if it is still running at the end (see {@link killServices}).
 */
export function startService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'development', AUTO_START_SERVICES: 'false', LOG_LEVEL: 'info', SEED_DEMO_DATA: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk) => stderr.push(String(chunk)));
  const logs: LogLine[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ raw: line }); // not a pino line; kept so that nothing is lost
    }
  });
  let exitedYet = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitedYet = true;
      resolveExit({ code, signal, at: performance.now() });
    });
  });

  const waitForLog = (match: (log: LogLine) => boolean, timeoutMs = 30_000) =>
    new Promise<LogLine>((resolveLog, reject) => {
      const found = logs.find(match);
      if (found) return resolveLog(found);
      if (exitedYet) return reject(new Error(`exited before logging it: ${stderr.join('')}`));
      const onLine = () => {
        const log = logs[logs.length - 1]!; // the listener above ran first
        if (match(log)) finish(() => resolveLog(log));
      };
      const onExit = (code: number | null) => finish(() => reject(new Error(`exited with ${code} before logging it: ${stderr.join('')}`)));
      const timer = setTimeout(() => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        lines.off('line', onLine);
        child.off('exit', onExit);
        settle();
      };
      lines.on('line', onLine);
      child.once('exit', onExit);
    });

  return { child, logs, stderr, waitForLog, exited };
}

/** SIGKILLs each of these processes that is still running. */
export function killServices(services: ServiceProcess[]): void {
  for (const { child } of services) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * A database name of the test's own, in the pattern the global setup recognises
 * (`tl_test_<unix seconds>_<hex>`), so that one a crashed run leaves is dropped later.
 */
export function testDatabaseName(): string {
  return `tl_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
}

/** A service process started by {@link ServiceResources.instance}. */
export interface ServiceInstance {
  name: string;
  service: ServiceProcess;
  url: string;
  wsUrl: string;
  /** With a token of every scope. */
  gql(query: string, variables?: Record<string, unknown>): Promise<any>;
}

/**
 * Settings that make failed cache writes quick to happen and to repair: a 100 ms
 * Redis timeout, no retries, the feed polled and repairs run every 100 ms.
 */
/** One GraphQL request over HTTP to a service process, as a client sends it. */
export async function postGraphQL(url: string, query: string, token?: string): Promise<{ data?: any; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

export const QUICK_FAILURES: Record<string, string> = {
  REDIS_COMMAND_TIMEOUT_MS: '100',
  CACHE_WRITE_RETRIES: '0',
  FAILURE_FEED_POLL_MS: '100',
  REPAIR_INTERVAL_MS: '100',
  REPAIR_MAX_BACKOFF_MS: '500',
};

/**
 * What a test file's service processes use — the processes, their databases and key
 * prefixes — so that one `cleanUp()` in `afterAll` kills, drops and deletes it all.
 */
export class ServiceResources {
  /** Every service started here verifies tokens with this; `token()` signs with it. */
  readonly jwtSecret = makeUpSecret();
  private readonly services: ServiceProcess[] = [];
  private readonly databases: string[] = [];
  private readonly keyPrefixes: string[] = [];

  start(env: Record<string, string>): ServiceProcess {
    const service = startService({ JWT_SECRET: this.jwtSecret, ...env });
    this.services.push(service);
    return service;
  }

  /**
   * Starts a service on a database and key prefix of its own (REDIS_URL's Redis,
   * an ephemeral port) and resolves with it once it serves; `env` overrides.
   */
  async serve(env: Record<string, string> = {}): Promise<{ service: ServiceProcess; url: string }> {
    const service = this.start({
      MYSQL_URL: this.database().url,
      REDIS_URL,
      KEY_PREFIX: this.keyPrefix(),
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    });
    const ready = await service.waitForLog((log) => typeof log.url === 'string');
    return { service, url: ready.url as string };
  }

  /** A new database name (the service creates it) and its URL. */
  database(): { name: string; url: string } {
    const name = testDatabaseName();
    this.databases.push(name);
    return { name, url: `${MYSQL_SERVER_URL}${name}` };
  }

  /**
   * Starts one of several instances on shared data (`env` names its MySQL, Redis and
   * key prefix), as INSTANCE_ID `name`, and resolves once it serves.
   */
  async instance(env: Record<string, string>, name: string): Promise<ServiceInstance> {
    const service = this.start({ PORT: '0', HOST: '127.0.0.1', ...env, INSTANCE_ID: name });
    const url = (await service.waitForLog((log) => typeof log.url === 'string')).url as string;
    const token = await this.token(['read', 'write', 'admin']);
    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return res.json();
    };
    return { name, service, url, wsUrl: url.replace(/^http/, 'ws'), gql };
  }

  token(scopes: Scope[]): Promise<string> {
    return issueToken(this.jwtSecret, scopes);
  }

  keyPrefix(): string {
    const prefix = testKeyPrefix();
    this.keyPrefixes.push(prefix);
    return prefix;
  }

  async cleanUp(): Promise<void> {
    killServices(this.services);
    const connection = await mysql.createConnection(MYSQL_SERVER_URL);
    for (const name of this.databases) await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await connection.end();
    const redis = new Redis(REDIS_URL);
    for (const prefix of this.keyPrefixes) {
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
        if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
      }
    }
    redis.disconnect();
  }
}
