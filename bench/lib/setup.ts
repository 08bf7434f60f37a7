import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import type { CachePolicy } from '../../src/config';
import { loadConfig } from '../../src/config';
import { startBenchCluster, type BenchCluster } from './cluster';
import type { Servers } from './counters';
import { createBenchDatabase, type BenchDatabase } from './mysql';
import { DEFAULT_EXECUTOR, startFloor, startReference, startService, type BenchProcess, type Executor, type ReferenceKind } from './processes';
import { startBenchRedis, type BenchRedis } from './redis';
import { SEED, seed, warm } from './seed';

/** A process on a named executor: `<policy>/<executor>` or `floor/<executor>`, e.g. 'write-through/standard'. */
export type VariantKey = `${CachePolicy | 'floor'}/${Executor}`;

export interface Bench extends Servers {
  redis: BenchRedis;
  db: BenchDatabase;
  /** A write-scoped token for mutations (reads are public). */
  token: string;
  /** One service per cache policy asked for, all on the same database and private Redis, each with its own key prefix. */
  services: Partial<Record<CachePolicy, BenchProcess>>;
  floor?: BenchProcess;
  /** Scenario 0's: what a user would build instead (bench/references/server.ts), on the same database. */
  references?: Record<ReferenceKind, BenchProcess>;
  /**
   * Scenario 7's: a private 3-master Redis Cluster, and a write-through service on it
   * (REDIS_CLUSTER_NODES set, its own key prefix, the same database), its cache warmed.
   */
  cluster?: { nodes: BenchCluster; service: BenchProcess };
  /** What every service started here verifies tokens with (for a scenario that starts services of its own). */
  jwtSecret: string;
  /** The service of this policy (it must have been started), on the service's default executor. */
  service(policy: CachePolicy): BenchProcess;
  /**
   * The process of a policy (or the floor) on an executor: one of `executors`, or a
   * plain policy's (or the floor's) process when the key names the default executor.
   */
  variant(key: VariantKey): BenchProcess;
  /**
   * Has tearDown (at the end, or on Ctrl-C) run `stop` first: for what a scenario
   * starts of its own (scenario 8's private MariaDB). `stop` may have run already
   * (the scenario's own finally), so it must be safe to call twice.
   */
  defer(stop: () => Promise<void>): void;
  /** Stops every process the bench started (by PID), drops the database; the private Redis (and cluster) goes with its keys. */
  tearDown(): Promise<void>;
}

export interface SetUpOptions {
  policies: CachePolicy[];
  floor: boolean;
  /**
   * More processes, each with GRAPHQL_EXECUTOR set to the executor its key names
   * (e.g. 'write-through/standard', 'floor/standard'). A key naming the default
   * executor of a policy that `policies` (or `floor`) starts anyway is that process,
   * not another one.
   */
  executors?: VariantKey[];
  /** Also start a private Redis Cluster and a write-through service on it (`Bench.cluster`). */
  cluster?: boolean;
  /** Also start the reference servers (`Bench.references`). */
  references?: boolean;
  /** Node flags per process name (a policy, 'floor', or a key of `executors`), e.g. for --cpu-prof. */
  nodeArgs?: Partial<Record<string, string[]>>;
  /** Extra environment per process name, as for `nodeArgs`. */
  env?: Partial<Record<string, Record<string, string>>>;
  log?: (line: string) => void;
}

/** The MySQL server the bench uses: MYSQL_URL's (without its database), as for the service. */
export function mysqlServerUrl(): string {
  const url = new URL(loadConfig(process.env).mysql.url);
  url.pathname = '/';
  return url.toString();
}

/** The processes to start: name, what it serves, and the executor asked for (undefined: the default). */
interface Launch {
  name: string;
  policy: CachePolicy | 'floor';
  executor?: Executor;
  /** More environment (the cluster service's REDIS_CLUSTER_NODES). */
  env?: Record<string, string>;
}

/** The name (and so the key prefix, tlb:cluster:) of the write-through service on the cluster. */
export const CLUSTER_SERVICE = 'cluster';


function launches(options: SetUpOptions): { launch: Launch[]; aliases: Map<VariantKey, string> } {
  const launch: Launch[] = options.policies.map((policy) => ({ name: policy, policy }));
  if (options.floor) launch.push({ name: 'floor', policy: 'floor' });
  const aliases = new Map<VariantKey, string>();
  for (const key of new Set(options.executors ?? [])) {
    const [policy, executor] = key.split('/') as [CachePolicy | 'floor', Executor];
    const plain = launch.find((l) => l.name === policy && l.executor === undefined);
    if (plain && executor === DEFAULT_EXECUTOR) aliases.set(key, plain.name);
    else launch.push({ name: key, policy, executor });
  }
  return { launch, aliases };
}

export async function setUp(options: SetUpOptions): Promise<Bench> {
  const log = options.log ?? (() => {});
  const started: BenchProcess[] = [];
  let redis: BenchRedis | undefined;
  let db: BenchDatabase | undefined;
  let cluster: BenchCluster | undefined;
  // Started alongside the rest; its nodes are stopped whether it came up or not.
  const clusterStarting = options.cluster ? startBenchCluster(3, log).then((c) => (cluster = c)) : undefined;
  clusterStarting?.catch(() => {}); // awaited below, and by tearDown
  let tornDown: Promise<void> | undefined;
  const deferred: Array<() => Promise<void>> = [];
  // Once only, whoever asks first (a failed start, Ctrl-C while starting, the caller).
  const tearDown = () =>
    (tornDown ??= (async () => {
      const own = await Promise.allSettled(deferred.map((stop) => stop()));
      own.forEach((r) => r.status === 'rejected' && console.error('could not stop what a scenario started:', r.reason));
      const results = await Promise.allSettled(started.map((p) => p.stop()));
      await db?.drop().catch((err: unknown) => console.error('could not drop the bench database:', err));
      await redis?.stop();
      await clusterStarting?.catch(() => {});
      await cluster?.stop().catch((err: unknown) => console.error('could not stop the Redis Cluster:', err));
      results.forEach((r) => r.status === 'rejected' && console.error('could not stop a process:', r.reason));
    })());
  // Ctrl-C while starting (which takes a while: seeding, the services, warming): stop
  // what has been started, drop the database, remove the cluster's directory. Once
  // started, the caller's own handler takes over.
  // Later signals are ignored, not fatal: `npm run`/npx forward Ctrl-C to a process
  // that has had it from the terminal already.
  let interrupting = false;
  const interrupted = () => {
    if (interrupting) return;
    interrupting = true;
    console.error('\ninterrupted while starting: stopping what was started and dropping the database');
    void tearDown().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    redis = await startBenchRedis();
    db = await createBenchDatabase(mysqlServerUrl());
    await seed(db.url);
    log(`database ${db.name}: ${SEED.users} users, ${SEED.products} products, ${SEED.orders} orders; private redis-server ${redis.url} (pid ${redis.pid})`);
    const jwtSecret = makeUpSecret();
    const token = await issueToken(jwtSecret, ['read', 'write'], { subject: 'bench', expiresIn: '2h' });
    const { launch, aliases } = launches(options);
    if (clusterStarting) {
      const nodes = await clusterStarting;
      launch.push({ name: CLUSTER_SERVICE, policy: 'write-through', env: { REDIS_CLUSTER_NODES: nodes.seeds } });
    }
    // Started side by side: each takes about a second, most of it loading code.
    const outcomes = await Promise.allSettled(
      launch.map(({ name, policy, executor, env }) => {
        const extraEnv = { ...env, ...options.env?.[name] };
        const common = { nodeArgs: options.nodeArgs?.[name] ?? [], ...(executor ? { executor } : {}), ...(Object.keys(extraEnv).length ? { env: extraEnv } : {}) };
        return policy === 'floor'
          ? startFloor({ name, jwtSecret, ...common })
          : startService({ name, policy, mysqlUrl: db!.url, redisUrl: redis!.url, jwtSecret, ...common });
      }),
    );
    outcomes.forEach((o) => o.status === 'fulfilled' && started.push(o.value));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    let references: Bench['references'];
    if (options.references) {
      const kinds: ReferenceKind[] = ['floor', 'peer', 'response-cache'];
      const refs = await Promise.allSettled(kinds.map((kind) => startReference({ kind, mysqlUrl: db!.url, jwtSecret, nodeArgs: options.nodeArgs?.[`reference-${kind}`] ?? [] })));
      refs.forEach((o) => o.status === 'fulfilled' && started.push(o.value));
      const refFailed = refs.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (refFailed) throw refFailed.reason;
      references = Object.fromEntries(kinds.map((k, i) => [k, (refs[i] as PromiseFulfilledResult<BenchProcess>).value])) as Bench['references'];
    }
    const byName = new Map(started.map((p) => [p.name, p]));
    const services = Object.fromEntries(options.policies.map((p) => [p, byName.get(p)!])) as Bench['services'];
    const floor = options.floor ? byName.get('floor') : undefined;
    log(started.map((p) => `${p.name} (pid ${p.pid}, ${p.executor})`).join(', ') + ' serving');
    for (const { name, policy } of launch) if (policy !== 'floor' && policy !== 'off') await warm(byName.get(name)!.url);
    return {
      redis,
      db,
      token,
      jwtSecret,
      services,
      ...(floor ? { floor } : {}),
      ...(references ? { references } : {}),
      ...(cluster ? { cluster: { nodes: cluster, service: byName.get(CLUSTER_SERVICE)! } } : {}),
      service(policy) {
        const s = services[policy];
        if (!s) throw new Error(`no ${policy} service was started`);
        return s;
      },
      variant(key) {
        const p = byName.get(aliases.get(key) ?? key);
        if (!p) throw new Error(`no ${key} process was started`);
        return p;
      },
      defer: (stop) => void deferred.push(stop),
      tearDown,
    };
  } catch (err) {
    await tearDown();
    throw err;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/**
 * The process a tool's variant name stands for: a policy (`write-through`), `floor`,
 * or either on a named executor (`floor/standard`), as bench/profile.ts and
 * bench/gc.ts take them.
 */
export function processOf(bench: Bench, variant: string): BenchProcess {
  if (variant.includes('/')) return bench.variant(variant as VariantKey);
  return variant === 'floor' ? bench.floor! : bench.service(variant as CachePolicy);
}
