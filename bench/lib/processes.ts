import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CachePolicy, ExecutorSettings } from '../../src/config';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/free-port';

const ROOT = resolve(__dirname, '../..');

/**
 * The bench's services run on the production defaults, where /metrics wants a token
 * (METRICS_ACCESS=token): each is given this one, as an operator gives theirs, and
 * `readMetrics` sends it.
 */
const METRICS_TOKEN = `bench-metrics-${randomBytes(16).toString('hex')}`;

/** A process's GET /metrics, with the token it was given. */
export async function readMetrics(p: BenchProcess): Promise<string> {
  const response = await fetch(p.metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!response.ok) throw new Error(`${p.name}: GET /metrics answered ${response.status}`);
  return response.text();
}

/** How a process runs its GraphQL operations: GRAPHQL_EXECUTOR (graphql-jit, or graphql-js's execute). */
export type Executor = ExecutorSettings['kind'];

/** The service's own default, for a process started without GRAPHQL_EXECUTOR (as loadConfig reads an empty environment). */
export const DEFAULT_EXECUTOR: Executor = loadConfig({}).graphql.executor.kind;

export const EXECUTOR_NAMES: Record<Executor, string> = { jit: 'graphql-jit', standard: 'graphql-js' };

/** One service process the bench started, and only ever signals by its own PID. */
export interface BenchProcess {
  name: string;
  url: string;
  pid: number;
  /** Its KEY_PREFIX ('' for the floor, which has no cache). */
  keyPrefix: string;
  /** The executor it runs operations on: the one asked for, or the service's default. */
  executor: Executor;
  /** Its Prometheus metrics (GET /metrics). */
  metricsUrl: string;
  child: ChildProcess;
  /** SIGTERM (a graceful stop, which also writes a --cpu-prof profile), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  name: string;
  policy: CachePolicy;
  mysqlUrl: string;
  redisUrl: string;
  jwtSecret: string;
  /** Extra flags for node, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeArgs?: string[];
  /** GRAPHQL_EXECUTOR; unset, the service's default. */
  executor?: Executor;
  env?: Record<string, string>;
}

/**
 * Runs src/main.ts as its own process (as the tests do: `node --require tsx/cjs`),
 * so the load generator in the bench process never shares its event loop.
 *
 * Why tsx and not a build: measured here, a built dist/main.js reaches "serving"
 * about 0.35 s sooner than tsx, but building takes 4.6 s, and the variants start
 * in parallel; after start-up both run the same JavaScript.
 */
export function startService(options: ServiceOptions): Promise<BenchProcess> {
  return launch(options.name, keyPrefixFor(options.name), ['src/main.ts'], options.nodeArgs ?? [], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MYSQL_URL: options.mysqlUrl,
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: keyPrefixFor(options.name),
    CACHE_POLICY: options.policy,
    JWT_SECRET: options.jwtSecret,
    METRICS_TOKEN,
    SEED_DEMO_DATA: 'false',
    AUTO_START_SERVICES: 'false',
    INSTANCE_ID: `bench-${options.name.replace(/[^\w-]/g, '-')}`,
    // The failure feed, the repair worker and the sweep of write intents poll MySQL
    // in the background (every 250, 500 and 1,000 ms by default). No cache write fails
    // and no process dies in a bench, so they would find nothing to do, but their
    // SELECTs would land in the server-wide counters of the round-trip scenarios: poll
    // rarely instead. (Scenario 4 prices the intents with the sweep at its default.)
    FAILURE_FEED_POLL_MS: '60000',
    // No cache write fails here, so no write waits on the fence; with polls this rare a
    // lease would have to be minutes long (4 polls), and a failed write would wait that.
    READ_LEASE_MS: '0',
    REPAIR_INTERVAL_MS: '600000',
    WRITE_INTENT_SWEEP_MS: '600000',
    ...(options.executor ? { GRAPHQL_EXECUTOR: options.executor } : {}),
    ...options.env,
  });
}

/** bench/floor-server.ts: the same HTTP and GraphQL stack over constant rows (no MySQL, no Redis). */
export function startFloor(options: { jwtSecret: string; name?: string; executor?: Executor; nodeArgs?: string[]; env?: Record<string, string> }): Promise<BenchProcess> {
  return launch(options.name ?? 'floor', '', ['bench/floor-server.ts'], options.nodeArgs ?? [], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: options.jwtSecret,
    METRICS_TOKEN,
    ...(options.executor ? { GRAPHQL_EXECUTOR: options.executor } : {}),
    ...options.env,
  });
}

/** What a user would build instead (bench/references/server.ts): Apollo's standalone server, bare, over mysql2, or with Apollo's response cache. */
export type ReferenceKind = 'floor' | 'peer' | 'response-cache';

export function startReference(options: { kind: ReferenceKind; mysqlUrl: string; jwtSecret: string; nodeArgs?: string[] }): Promise<BenchProcess> {
  const name = `reference-${options.kind}`;
  const env = { NODE_ENV: 'production', REFERENCE: options.kind, MYSQL_URL: options.mysqlUrl, JWT_SECRET: options.jwtSecret };
  // startStandaloneServer serves GraphQL on every path and nothing else: it is up once a query answers.
  const answers = (base: string) =>
    fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then((r) => r.ok, () => false);
  return launch(name, '', ['bench/references/server.ts'], options.nodeArgs ?? [], env, answers);
}

const serviceReady = (base: string) => fetch(`${base}/readyz`).then((r) => r.ok, () => false);

async function launch(
  name: string,
  keyPrefix: string,
  script: string[],
  nodeArgs: string[],
  env: Record<string, string>,
  ready: (base: string) => Promise<boolean> = serviceReady,
): Promise<BenchProcess> {
  // PORT=0 would make the service pick one and log it, but only at info level; the
  // bench runs them at warn, so it picks the port and polls /readyz instead.
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, '--require', 'tsx/cjs', ...script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk) => output.push(String(chunk)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.join('')}`);
    if (await ready(base)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within 60 s:\n${output.join('')}`);
    }
    await sleep(50);
  }
  return {
    name,
    url: `${base}/graphql`,
    pid: child.pid!,
    keyPrefix,
    executor: (env.GRAPHQL_EXECUTOR as Executor | undefined) ?? DEFAULT_EXECUTOR,
    metricsUrl: `${base}/metrics`,
    child,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const keyPrefixFor = (name: string): string => `tlb:${name}:`;
