import type { CachePolicy } from '../../src/config';
import { control, minus, noiseNotes, redisSummary, sum, window, type Counts } from '../lib/counters';
import { QUERIES, gql } from '../lib/graphql';
import type { ScenarioResult } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt, median } from '../lib/stats';

const M = Number(process.env.BENCH_POST_WRITE_M ?? 50);
const POLICIES: CachePolicy[] = ['write-through', 'invalidate', 'off'];

/**
 * Scenario 2, the seed's headline: M updates, each followed by a read of the same
 * user through the same service. Only the reads are inside the counting windows:
 * what they cost is what the cache policy left behind. Each policy gets users of
 * its own (read once first, so the cache is warm), since all share one database.
 */
export async function postWrite(bench: Bench): Promise<ScenarioResult> {
  const baseline = await control(bench);
  const data: Record<string, { reads: Counts; readMs: number; stale: number }> = {};
  const rows: Array<Array<string | number>> = [];
  for (const [p, policy] of POLICIES.entries()) {
    const url = bench.service(policy).url;
    const ids = Array.from({ length: M }, (_, i) => 200 + p * M + i + 1);
    for (const id of ids) await gql(url, QUERIES.user, { id: String(id) });
    const windows: Counts[] = [];
    const readMs: number[] = [];
    let stale = 0;
    for (const [i, id] of ids.entries()) {
      const name = `Renamed ${policy} ${i} ${Date.now()}`;
      await gql(url, QUERIES.updateUser, { id: String(id), name }, bench.token);
      let answer: any;
      windows.push(
        await window(bench, async () => {
          const started = performance.now();
          answer = await gql(url, QUERIES.user, { id: String(id) });
          readMs.push(performance.now() - started);
        }),
      );
      // The read must see the write: a policy that answered the old row would be wrong, not fast.
      if (answer.user.name !== name) stale++;
    }
    const reads = minus(sum(windows), baseline, M);
    data[policy] = { reads, readMs: median(readMs), stale };
    const r = redisSummary(reads.redis);
    rows.push([policy, M, fmt(reads.mysql.Com_select ?? 0), fmt(reads.mysql.Questions ?? 0), fmt(r.mget), fmt(r.scripts), fmt(median(readMs)), stale]);
  }
  const selects = (p: CachePolicy) => data[p]!.reads.mysql.Com_select ?? 0;
  return {
    id: '2',
    title: 'Post-write misses',
    method:
      `${M} updateUser mutations over HTTP, each followed by a user(id) read of the same user through the same service; ` +
      `the reads' SELECTs counted by MySQL (global Com_select, less the empty-window control), summed over the ${M} reads.`,
    tables: [
      {
        columns: ['policy', 'reads', 'SELECTs by the reads', 'SQL statements', 'MGET', 'EVALSHA (backfill)', 'read p50 ms (sequential)', 'stale answers'],
        rows,
      },
    ],
    targets: [
      { target: 'write-through: 0 SELECTs for the M reads after writes', actual: `${fmt(selects('write-through'))} of ${M}`, met: selects('write-through') === 0 && data['write-through']!.stale === 0 },
      { target: 'invalidate: M SELECTs (every read after a write misses)', actual: `${fmt(selects('invalidate'))} of ${M}`, met: selects('invalidate') === M && data.invalidate!.stale === 0 },
    ],
    notes: ['off (MySQL only) is there for reference: every read is a SELECT, whatever was written.', ...noiseNotes(baseline)],
    data: { M, control: baseline, policies: data },
  };
}
