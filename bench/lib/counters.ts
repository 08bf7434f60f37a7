import type { BenchDatabase, MysqlCounts } from './mysql';
import type { BenchRedis } from './redis';
import { median } from './stats';

/**
 * What one request costs, counted by the servers themselves: Redis's INFO
 * commandstats (on the bench's private redis-server) and MySQL's global status
 * counters. Each window is read before and after the request; an empty window (no
 * request in between) is the control, which takes out what reading the counters
 * costs (the SHOW itself is a statement) and shows any other client's traffic.
 */
export interface Servers {
  redis: BenchRedis;
  db: BenchDatabase;
}

export interface Counts {
  redis: Record<string, number>;
  mysql: Record<string, number>;
}

/** Commands that the compare-and-set script runs inside Redis: commandstats counts them too, but they are no round trip. */
export const INSIDE_LUA = new Set(['time', 'get', 'set']);

async function snapshot(servers: Servers): Promise<Counts> {
  const [redis, mysql] = await Promise.all([servers.redis.commandCounts(), servers.db.status()]);
  return { redis, mysql: mysql as MysqlCounts & Record<string, number> };
}

function diff(before: Counts, after: Counts): Counts {
  const sub = (a: Record<string, number>, b: Record<string, number>, skip?: string) =>
    Object.fromEntries(Object.keys(b).filter((k) => k !== skip).map((k) => [k, b[k]! - (a[k] ?? 0)]));
  // The bench's own INFO calls are the one Redis command a window always adds.
  return { redis: sub(before.redis, after.redis, 'info'), mysql: sub(before.mysql, after.mysql) };
}

/** The counts of one window around `fn`. */
export async function window(servers: Servers, fn: () => Promise<unknown>): Promise<Counts> {
  const before = await snapshot(servers);
  await fn();
  return diff(before, await snapshot(servers));
}

/** Per-counter medians over several windows. */
function medians(windows: Counts[]): Counts {
  const pick = (side: keyof Counts) => {
    const names = new Set(windows.flatMap((w) => Object.keys(w[side])));
    return Object.fromEntries([...names].map((n) => [n, median(windows.map((w) => w[side][n] ?? 0))]));
  };
  return { redis: pick('redis'), mysql: pick('mysql') };
}

/** What an empty window counts: the cost of reading the counters, plus anyone else's traffic. */
export async function control(servers: Servers, samples = 7): Promise<Counts> {
  const windows: Counts[] = [];
  for (let i = 0; i < samples; i++) windows.push(await window(servers, async () => {}));
  return medians(windows);
}

export function minus(a: Counts, b: Counts, times = 1): Counts {
  const sub = (x: Record<string, number>, y: Record<string, number>) =>
    Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v - (y[k] ?? 0) * times]).filter(([, v]) => v !== 0));
  return { redis: sub(a.redis, b.redis), mysql: sub(a.mysql, b.mysql) };
}

export function sum(windows: Counts[]): Counts {
  const total: Counts = { redis: {}, mysql: {} };
  for (const w of windows) {
    for (const side of ['redis', 'mysql'] as const) {
      for (const [k, v] of Object.entries(w[side])) total[side][k] = (total[side][k] ?? 0) + v;
    }
  }
  return total;
}

/**
 * The median cost of one request: `samples` windows around `request(i)`, each after
 * `prepare(i)` (outside the window), less the control.
 */
export async function perRequest(
  servers: Servers,
  request: (i: number) => Promise<unknown>,
  options: { samples?: number; prepare?: (i: number) => Promise<unknown>; control: Counts },
): Promise<Counts> {
  const windows: Counts[] = [];
  for (let i = 0; i < (options.samples ?? 15); i++) {
    await options.prepare?.(i);
    windows.push(await window(servers, () => request(i)));
  }
  return minus(medians(windows), options.control);
}

/** Redis commands split the way the round-trip target reads them. */
export function redisSummary(redis: Record<string, number>) {
  const get = (n: string) => redis[n] ?? 0;
  const scripts = get('evalsha') + get('eval');
  const insideLua = [...INSIDE_LUA].reduce((s, n) => s + get(n), 0);
  const other = Object.entries(redis)
    .filter(([n]) => n !== 'mget' && n !== 'evalsha' && n !== 'eval' && !INSIDE_LUA.has(n))
    .reduce((s, [, v]) => s + v, 0);
  return { mget: get('mget'), scripts, insideLua, other };
}

/** A note for the report when the empty window counted more than the one SHOW that closes it: someone else used the servers. */
export function noiseNotes(baseline: Counts): string[] {
  const noisy = Object.entries(baseline.mysql).some(([k, v]) => v > (k === 'Questions' ? 1 : 0)) || Object.values(baseline.redis).some((v) => v > 0);
  return noisy ? [`the empty control window was not empty (${JSON.stringify(baseline)}): another client used the servers, so the counts may be off`] : [];
}
