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
  const lists = await listPostWrite(bench, baseline);
  const selects = (p: CachePolicy) => data[p]!.reads.mysql.Com_select ?? 0;
  const listSelects = (p: CachePolicy) => lists.data[p]!.reads.mysql.Com_select ?? 0;
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
      {
        title: `Lists: ${M} placeOrder, each followed by user(id) { orders(first: 20) } of the same user`,
        columns: ['policy', 'reads', 'SELECTs by the reads', 'SQL statements', 'MGET', 'EVALSHA (backfill)', 'read p50 ms (sequential)', 'answers missing the order'],
        rows: lists.rows,
      },
    ],
    targets: [
      { target: 'write-through: 0 SELECTs for the M reads after writes', actual: `${fmt(selects('write-through'))} of ${M}`, met: selects('write-through') === 0 && data['write-through']!.stale === 0 },
      { target: 'invalidate: M SELECTs (every read after a write misses)', actual: `${fmt(selects('invalidate'))} of ${M}`, met: selects('invalidate') === M && data.invalidate!.stale === 0 },
      {
        target: "lists, write-through: 0 SELECTs for the M reads of a user's orders after an order is placed",
        actual: `${fmt(listSelects('write-through'))} for ${M} reads`,
        met: listSelects('write-through') === 0 && lists.data['write-through']!.stale === 0,
      },
      {
        target: 'lists, invalidate: at least M SELECTs (the list misses after every order)',
        actual: `${fmt(listSelects('invalidate'))} for ${M} reads`,
        met: listSelects('invalidate') >= M && lists.data.invalidate!.stale === 0,
      },
    ],
    notes: ['off (MySQL only) is there for reference: every read is a SELECT, whatever was written.', ...noiseNotes(baseline)],
    data: { M, control: baseline, policies: data, lists: lists.data },
  };
}

const USER_ORDERS = 'query UserOrders($id: ID!) { user(id: $id) { id orders(first: 20) { edges { node { id quantity } } } } }';
const PLACE = 'mutation Place($u: ID!, $p: ID!) { placeOrder(input: { userId: $u, productId: $p, quantity: 1 }) { id } }';

/** The same for an association list: M orders by one user, each followed by a read of that user's orders. */
async function listPostWrite(bench: Bench, baseline: Counts) {
  const data: Record<string, { reads: Counts; readMs: number; stale: number }> = {};
  const rows: Array<Array<string | number>> = [];
  for (const [p, policy] of POLICIES.entries()) {
    const url = bench.service(policy).url;
    const user = String(900 + p); // a user of the policy's own
    await gql(url, USER_ORDERS, { id: user });
    const windows: Counts[] = [];
    const readMs: number[] = [];
    let stale = 0;
    for (let i = 0; i < M; i++) {
      const placed = await gql(url, PLACE, { u: user, p: String(1 + (i % 10)) }, bench.token);
      let answer: any;
      windows.push(
        await window(bench, async () => {
          const started = performance.now();
          answer = await gql(url, USER_ORDERS, { id: user });
          readMs.push(performance.now() - started);
        }),
      );
      if (answer.user.orders.edges[0]?.node.id !== placed.placeOrder.id) stale++;
    }
    const reads = minus(sum(windows), baseline, M);
    data[policy] = { reads, readMs: median(readMs), stale };
    const r = redisSummary(reads.redis);
    rows.push([policy, M, fmt(reads.mysql.Com_select ?? 0), fmt(reads.mysql.Questions ?? 0), fmt(r.mget), fmt(r.scripts), fmt(median(readMs)), stale]);
  }
  return { data, rows };
}
