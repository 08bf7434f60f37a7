/**
 * `npx tsx bench/gc.ts [variants] [operation] [seconds] [node flags]`: what the
 * garbage collector does per request in each service variant under the bench's load.
 * Sets up like bench/profile.ts, starts each variant with `node --trace-gc-nvp` (and
 * any extra flags, e.g. "--max-semi-space-size=64"), and, over two interleaved
 * rounds, sums the service's own GC trace lines for the measured run only:
 *
 *   allocated  bytes allocated per request
 *   survived   bytes a scavenge found alive and copied, per request: what the young
 *              generation costs to collect
 *   promoted   bytes moved to the old generation per request: what a full
 *              collection later has to find dead
 *   pause      milliseconds of GC pause per request (µs shown)
 *
 *   variants:  as bench/profile.ts (write-through, invalidate, off, floor, each
 *              optionally /jit or /standard)
 *   operation: users (the default) | user | recentOrders
 */
import type { CachePolicy } from '../src/config';
import { QUERIES, body } from './lib/graphql';
import { runLoad } from './lib/load';
import { LOAD_PLAN } from './lib/plan';
import type { BenchProcess } from './lib/processes';
import { printTable } from './lib/report';
import { processOf, setUp, type VariantKey } from './lib/setup';
import { fmt } from './lib/stats';
import { READS } from './scenarios/throughput';

const ROUNDS = 2;

interface GcTotals {
  scavenges: number;
  fullCollections: number;
  allocated: number;
  survived: number;
  promoted: number;
  pauseMs: number;
}

async function main(): Promise<void> {
  const [list = 'write-through,floor/standard,floor', operation = 'users', seconds = '5', flags = ''] = process.argv.slice(2);
  const variants = list.split(',');
  const bodies: Record<string, string[]> = {
    users: READS['users(ids: 100)'],
    user: READS['user(id)'],
    recentOrders: [body(QUERIES.recentOrders, { limit: 50 })],
  };
  if (!bodies[operation]) throw new Error(`unknown operation ${operation}: one of ${Object.keys(bodies).join(', ')}`);
  const nodeArgs = ['--trace-gc-nvp', ...flags.split(' ').filter(Boolean)];
  const plain = variants.filter((v) => !v.includes('/'));
  const bench = await setUp({
    policies: plain.filter((v) => v !== 'floor') as CachePolicy[],
    floor: plain.includes('floor'),
    executors: variants.filter((v) => v.includes('/')) as VariantKey[],
    nodeArgs: Object.fromEntries(variants.map((v) => [v, nodeArgs])),
    log: (l) => console.log(l),
  });
  const rows: string[][] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of variants) {
        const target = processOf(bench, variant);
        const load = { url: target.url, bodies: bodies[operation]!, connections: LOAD_PLAN.connections, checkBodies: false };
        await runLoad({ ...load, seconds: LOAD_PLAN.warmupSeconds });
        const stop = traceGc(target);
        const r = await runLoad({ ...load, seconds: Number(seconds) });
        const gc = stop();
        const kb = (bytes: number) => fmt(bytes / r.requests / 1024);
        rows.push([`${variant} (round ${round})`, fmt(r.rps), fmt(r.p99), kb(gc.allocated), kb(gc.survived), kb(gc.promoted), fmt((gc.pauseMs * 1000) / r.requests), `${gc.scavenges} / ${gc.fullCollections}`]);
      }
    }
    for (const v of variants) await processOf(bench, v).stop();
  } finally {
    await bench.tearDown();
  }
  console.log(`\nGC per ${operation} request during each measured run (${seconds} s, ${LOAD_PLAN.connections} connections)`);
  printTable({ columns: ['variant', 'req/s', 'p99 ms', 'allocated KB', 'survived KB', 'promoted KB', 'pause µs', 'scavenges / full'], rows });
}

/** Sums the process's `--trace-gc-nvp` lines from now until the returned function is called. */
function traceGc(target: BenchProcess): () => GcTotals {
  const totals: GcTotals = { scavenges: 0, fullCollections: 0, allocated: 0, survived: 0, promoted: 0, pauseMs: 0 };
  let partial = '';
  const field = (line: string, name: string) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  const onData = (chunk: Buffer) => {
    const lines = (partial + String(chunk)).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.includes('gc=')) continue;
      if (line.includes('gc=s')) totals.scavenges++;
      else totals.fullCollections++;
      totals.allocated += field(line, 'allocated');
      totals.survived += field(line, 'new_space_survived');
      totals.promoted += field(line, 'promoted');
      totals.pauseMs += field(line, 'pause');
    }
  };
  target.child.stdout!.on('data', onData);
  return () => {
    target.child.stdout!.off('data', onData);
    return totals;
  };
}


main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
