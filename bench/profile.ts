/**
 * `npx tsx bench/profile.ts [variants] [operation] [seconds]`: where each service
 * variant spends its CPU under the bench's load, per request. Sets up like `npm run
 * bench` (private Redis, fresh database, seeded and warmed), starts each variant with
 * `node --cpu-prof`, loads them one after another with autocannon (32 connections),
 * stops them gracefully so that the profiles are written (to /tmp/tl-bench-profiles/),
 * and prints, for the samples taken during each one's measured run only: CPU µs per
 * request by origin (package, src/ folder, GC) side by side, then each one's top
 * functions by self time.
 *
 *   variants:  comma-separated, of write-through, invalidate, off, floor (default write-through,floor),
 *              each optionally on a named executor: floor/standard, write-through/jit
 *   operation: users (users(ids: 100), the default) | user | recentOrders | userOrders | updateUser
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CachePolicy } from '../src/config';
import { summarize } from './lib/cpuprofile';
import { QUERIES, body } from './lib/graphql';
import { runLoad } from './lib/load';
import { LOAD_PLAN } from './lib/plan';
import { LIST_USERS } from './lib/seed';
import { printTable } from './lib/report';
import { processOf, setUp, type VariantKey } from './lib/setup';
import { fmt } from './lib/stats';
import { READS } from './scenarios/throughput';

const DIR = '/tmp/tl-bench-profiles';
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<void> {
  const [list = 'write-through,floor', operation = 'users', seconds = '8'] = process.argv.slice(2);
  const variants = list.split(',');
  const bodies: Record<string, string[]> = {
    users: READS['users(ids: 100)'],
    user: READS['user(id)'],
    recentOrders: [body(QUERIES.recentOrders, { limit: 50 })],
    userOrders: Array.from({ length: LIST_USERS }, (_, i) => body(QUERIES.userOrders, { id: String(i + 1), first: 20 })),
    updateUser: Array.from({ length: 1000 }, (_, i) => body(QUERIES.updateUser, { id: String(i + 1), name: `Profiled ${i + 1}` })),
  };
  if (!bodies[operation]) throw new Error(`unknown operation ${operation}: one of ${Object.keys(bodies).join(', ')}`);
  const dir = join(DIR, String(Date.now()));
  mkdirSync(dir, { recursive: true });
  const plain = variants.filter((v) => !v.includes('/'));
  const bench = await setUp({
    policies: plain.filter((v) => v !== 'floor') as CachePolicy[],
    floor: plain.includes('floor'),
    executors: variants.filter((v) => v.includes('/')) as VariantKey[],
    nodeArgs: Object.fromEntries(variants.map((v) => [v, ['--cpu-prof', `--cpu-prof-dir=${join(dir, v.replace('/', '-'))}`]])),
    log: (l) => console.log(l),
  });
  const runs: Array<{ variant: string; pid: number; requests: number; fromUs: number; toUs: number }> = [];
  try {
    for (const variant of variants) {
      const target = processOf(bench, variant);
      // Reads are public and sent without a token, as in the bench.
      const write = operation === 'updateUser';
      const load = { url: target.url, bodies: bodies[operation]!, connections: LOAD_PLAN.connections, checkBodies: write, ...(write ? { token: bench.token } : {}) };
      await runLoad({ ...load, seconds: LOAD_PLAN.warmupSeconds });
      const fromUs = nowUs();
      const r = await runLoad({ ...load, seconds: Number(seconds) });
      runs.push({ variant, pid: target.pid, requests: r.requests, fromUs, toUs: nowUs() });
      console.log(`${variant} · ${operation}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms (under the profiler)`);
    }
    for (const variant of variants) await processOf(bench, variant).stop();
  } finally {
    await bench.tearDown();
  }
  const summaries = runs.map((run) => {
    const file = readdirSync(join(dir, run.variant.replace('/', '-'))).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${run.variant} wrote no profile to ${join(dir, run.variant)}`);
    return { ...run, summary: summarize(join(dir, run.variant.replace('/', '-'), file), 30, run) };
  });
  const perRequest = (ms: number, requests: number) => fmt((ms * 1000) / requests);
  const origins = [...new Set(summaries.flatMap((s) => s.summary.byOrigin.slice(0, 18).map((e) => e.name)))];
  console.log(`\nCPU µs per request during the measured run (profiles in ${dir})`);
  printTable({
    columns: ['origin', ...summaries.map((s) => s.variant)],
    rows: [
      ['(all busy)', ...summaries.map((s) => perRequest(s.summary.busyMs, s.requests))],
      ['(idle)', ...summaries.map((s) => perRequest(s.summary.idleMs, s.requests))],
      ...origins.map((o) => [o, ...summaries.map((s) => perRequest(s.summary.byOrigin.find((e) => e.name === o)?.ms ?? 0, s.requests))]),
    ],
  });
  for (const s of summaries) {
    console.log(`\n${s.variant}: top functions by self time, µs per request`);
    printTable({
      columns: ['function', 'µs/req', 'share'],
      rows: s.summary.self.slice(0, 20).map((e) => [e.name, perRequest(e.ms, s.requests), `${(100 * e.share).toFixed(1)}%`]),
    });
  }
}


main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
