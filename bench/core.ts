/**
 * `npm run bench`: the write-through core's own costs, measured side by side in one
 * run against the MySQL and Redis at MYSQL_URL's server and REDIS_URL, on a database
 * and key prefix of its own (dropped afterwards).
 *
 * The variants of each pair run interleaved, iteration by iteration, so a noisy
 * moment on the machine hits both alike; medians and ratios are what to read.
 */
import { entities } from '../src/entities';
import { inArray } from 'drizzle-orm';
import { users } from '../src/db/schema';
import { openBenchGraph, quiet } from './bench-graph';
import { CacheWriter } from '../src/writethrough/cache-writer';
import { Repository } from '../src/writethrough/repository';
import { UnitOfWork } from '../src/writethrough/unit-of-work';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const WARMUP = Math.ceil(ITERATIONS / 10);
const BATCH = 100;

type Variant = { name: string; run: (i: number) => Promise<unknown>; before?: (i: number) => Promise<unknown> };

async function main(): Promise<void> {
  const { db, redis, core, settings, close } = await openBenchGraph({ name: 'core', poolSize: 10 });
  // The same repository, except that its writer never touches Redis.
  const noCacheWrites = new Repository(entities.users, {
    db,
    cache: core.cache,
    work: new UnitOfWork(db, { write: async () => [] } as unknown as CacheWriter),
    settings,
    logger: quiet,
  });

  try {
    const ids: number[] = [];
    for (let i = 0; i < BATCH; i++) ids.push((await core.users.create({ name: `Bench ${i}`, email: `b${i}@bench.test` })).id);
    const keys = ids.map((id) => core.users.cacheLayout.key(id));
    console.log(`core benchmark: ${ITERATIONS} iterations per variant (after ${WARMUP} warm-up), batches of ${BATCH}\n`);

    const loads = await compare([
      { name: `load ${BATCH} warm (1 MGET)`, run: () => core.users.load(ids) },
      {
        name: `load ${BATCH} cold (MGET + SELECT IN + backfill)`,
        before: () => redis.del(...keys),
        run: () => core.users.load(ids),
      },
      { name: `SELECT … IN (${BATCH}) alone`, run: () => db.select().from(users).where(inArray(users.id, ids)) },
    ]);
    const updates = await compare([
      { name: 'update with write-through', run: (i) => core.users.update(ids[i % BATCH]!, { name: `u${i}` }) },
      { name: 'update, cache write skipped', run: (i) => noCacheWrites.update(ids[i % BATCH]!, { name: `v${i}` }) },
    ]);

    report('loads', loads, [
      ['cold / warm', loads[1]!, loads[0]!],
      ['SELECT alone / warm', loads[2]!, loads[0]!],
    ]);
    report('updates', updates, [['write-through / skipped', updates[0]!, updates[1]!]]);
  } finally {
    await close();
  }
}

interface Result {
  name: string;
  samples: number[];
}

/** Runs the variants round-robin, one iteration each per round, timing only `run`. */
async function compare(variants: Variant[]): Promise<Result[]> {
  const results = variants.map((v) => ({ name: v.name, samples: [] as number[] }));
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    // Rotate who goes first, so no variant always follows the same neighbour.
    for (let k = 0; k < variants.length; k++) {
      const j = (i + k) % variants.length;
      const v = variants[j]!;
      await v.before?.(i);
      const start = process.hrtime.bigint();
      await v.run(i);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (i >= WARMUP) results[j]!.samples.push(ms);
    }
  }
  return results;
}

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function report(title: string, results: Result[], ratios: Array<[string, Result, Result]>): void {
  console.log(`${title}:`);
  console.log(`  ${'variant'.padEnd(48)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  for (const r of results) {
    const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => quantile(r.samples, q).toFixed(3).padStart(8));
    console.log(`  ${r.name.padEnd(48)} ${p50} ${p90} ${p99}`);
  }
  for (const [label, a, b] of ratios) {
    const p50 = quantile(a.samples, 0.5) / quantile(b.samples, 0.5);
    const p99 = quantile(a.samples, 0.99) / quantile(b.samples, 0.99);
    console.log(`  ratio ${label}: ${p50.toFixed(2)}× at p50, ${p99.toFixed(2)}× at p99`);
  }
  console.log();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
