import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import type { CachePolicy } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { Servers } from './counters';
import { createBenchDatabase, type BenchDatabase } from './mysql';
import { startFloor, startService, type BenchProcess } from './processes';
import { startBenchRedis, type BenchRedis } from './redis';
import { SEED, seed, warm } from './seed';

export interface Bench extends Servers {
  redis: BenchRedis;
  db: BenchDatabase;
  /** A write-scoped token for mutations (reads are public). */
  token: string;
  /** One service per cache policy asked for, all on the same database and private Redis, each with its own key prefix. */
  services: Partial<Record<CachePolicy, BenchProcess>>;
  floor?: BenchProcess;
  /** The service of this policy (it must have been started). */
  service(policy: CachePolicy): BenchProcess;
  /** Stops every process the bench started (by PID), drops the database; the private Redis goes with its keys. */
  tearDown(): Promise<void>;
}

export interface SetUpOptions {
  policies: CachePolicy[];
  floor: boolean;
  /** Node flags per process name (a policy, or 'floor'), e.g. for --cpu-prof. */
  nodeArgs?: Partial<Record<string, string[]>>;
  log?: (line: string) => void;
}

/** The MySQL server the bench uses: MYSQL_URL's (without its database), as for the service. */
export function mysqlServerUrl(): string {
  const url = new URL(loadConfig(process.env).mysql.url);
  url.pathname = '/';
  return url.toString();
}

export async function setUp(options: SetUpOptions): Promise<Bench> {
  const log = options.log ?? (() => {});
  const started: BenchProcess[] = [];
  let redis: BenchRedis | undefined;
  let db: BenchDatabase | undefined;
  const tearDown = async () => {
    const results = await Promise.allSettled(started.map((p) => p.stop()));
    await db?.drop().catch((err: unknown) => console.error('could not drop the bench database:', err));
    await redis?.stop();
    results.forEach((r) => r.status === 'rejected' && console.error('could not stop a process:', r.reason));
  };
  try {
    redis = await startBenchRedis();
    db = await createBenchDatabase(mysqlServerUrl());
    await seed(db.url);
    log(`database ${db.name}: ${SEED.users} users, ${SEED.products} products, ${SEED.orders} orders; private redis-server ${redis.url} (pid ${redis.pid})`);
    const jwtSecret = makeUpSecret();
    const token = await issueToken(jwtSecret, ['read', 'write'], { subject: 'bench', expiresIn: '2h' });
    // Started side by side: each takes about a second, most of it loading code.
    const launching = options.policies.map((policy) =>
      startService({ name: policy, policy, mysqlUrl: db!.url, redisUrl: redis!.url, jwtSecret, nodeArgs: options.nodeArgs?.[policy] ?? [] }),
    );
    const floorLaunch = options.floor ? startFloor({ jwtSecret, nodeArgs: options.nodeArgs?.floor ?? [] }) : undefined;
    const outcomes = await Promise.allSettled([...launching, ...(floorLaunch ? [floorLaunch] : [])]);
    outcomes.forEach((o) => o.status === 'fulfilled' && started.push(o.value));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    const services = Object.fromEntries(options.policies.map((p, i) => [p, started[i]!])) as Bench['services'];
    const floor = options.floor ? started[started.length - 1] : undefined;
    log(started.map((p) => `${p.name} (pid ${p.pid})`).join(', ') + ' serving');
    for (const policy of options.policies) if (policy !== 'off') await warm(services[policy]!.url);
    return {
      redis,
      db,
      token,
      services,
      ...(floor ? { floor } : {}),
      service(policy) {
        const s = services[policy];
        if (!s) throw new Error(`no ${policy} service was started`);
        return s;
      },
      tearDown,
    };
  } catch (err) {
    await tearDown();
    throw err;
  }
}
