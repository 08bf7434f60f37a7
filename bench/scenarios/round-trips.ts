import type { CachePolicy } from '../../src/config';
import { cacheKey } from '../../src/cache/keys';
import { control, noiseNotes, perRequest, redisSummary, type Counts } from '../lib/counters';
import { QUERIES, gql, idWindow } from '../lib/graphql';
import type { ScenarioResult } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt } from '../lib/stats';

const SAMPLES = 15;

interface Operation {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /**
   * MGETs a warm request should cost: one per level of the query. The target allows one
   * per entity type per level; the batches of one level are made in the same turn of
   * the event loop and go out as one MGET (src/cache/coalesced-reads.ts).
   */
  expectedMgets: number;
  /** SELECTs it may cost even when warm (none, since the lists are cached). */
  listingSelects: number;
  /** The cache keys it reads, to empty them for the cold case. */
  keys(prefix: string, data: any): string[];
}

const OPERATIONS: Operation[] = [
  {
    name: 'recentOrders(limit: 50) { user product }',
    query: QUERIES.recentOrders,
    variables: { limit: 50 },
    // The cached list of the newest orders, the orders, then their users and products together.
    expectedMgets: 3,
    listingSelects: 0,
    keys: (prefix, data) => [
      cacheKey(prefix, 'recent_orders', 1),
      ...(data.recentOrders as Array<{ id: string; user: { id: string }; product: { id: string } }>).flatMap((o) => [
        cacheKey(prefix, 'order', Number(o.id)),
        cacheKey(prefix, 'user', Number(o.user.id)),
        cacheKey(prefix, 'product', Number(o.product.id)),
      ]),
    ],
  },
  {
    name: 'user(id) { orders(first: 20) { edges { node { product } } } }',
    query: QUERIES.userOrders,
    variables: { id: '8', first: 20 },
    // The user and its list in one MGET (the resolver starts both in one turn), the orders, their products.
    expectedMgets: 3,
    listingSelects: 0,
    keys: (prefix, data) => [
      cacheKey(prefix, 'user', 8),
      cacheKey(prefix, 'user_orders', 8),
      ...(data.user.orders.edges as Array<{ node: { id: string; product: { id: string } } }>).flatMap((e) => [
        cacheKey(prefix, 'order', Number(e.node.id)),
        cacheKey(prefix, 'product', Number(e.node.product.id)),
      ]),
    ],
  },
  {
    name: 'users(ids: 100)',
    query: QUERIES.users,
    variables: { ids: idWindow(1, 100, 1000) },
    expectedMgets: 1,
    listingSelects: 0,
    keys: (prefix) => Array.from({ length: 100 }, (_, i) => cacheKey(prefix, 'user', i + 1)),
  },
];

/** The warm case is the one the target is about; cold and MySQL-only show what it saves. */
const CASES: Array<{ label: string; policy: CachePolicy; cold?: boolean; judged?: boolean }> = [
  { label: 'write-through, warm', policy: 'write-through', judged: true },
  { label: 'write-through, cold (keys deleted)', policy: 'write-through', cold: true },
  { label: 'off (MySQL only)', policy: 'off' },
];

/**
 * Scenario 1: what one request costs the servers. Every case is measured SAMPLES
 * times, one request per window, and the median reported: a warm cache, the same
 * service with the keys just deleted (cold), and the MySQL-only service.
 */
export async function roundTrips(bench: Bench): Promise<ScenarioResult> {
  const baseline = await control(bench);
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, Record<string, Counts>> = {};
  const targets: ScenarioResult['targets'] = [];
  for (const op of OPERATIONS) {
    data[op.name] = {};
    for (const c of CASES) {
      const service = bench.service(c.policy);
      const send = () => gql(service.url, op.query, op.variables);
      const keys = op.keys(service.keyPrefix, await send());
      const counts = await perRequest(bench, send, {
        samples: SAMPLES,
        control: baseline,
        ...(c.cold ? { prepare: () => bench.redis.admin.unlink(...keys) } : {}),
      });
      data[op.name]![c.label] = counts;
      const r = redisSummary(counts.redis);
      rows.push([op.name, c.label, fmt(r.mget), fmt(r.scripts), fmt(r.insideLua), fmt(r.other), fmt(counts.mysql.Questions ?? 0), fmt(counts.mysql.Com_select ?? 0)]);
      if (c.judged) {
        const sqlForLoads = (counts.mysql.Com_select ?? 0) - op.listingSelects;
        const met = r.mget === op.expectedMgets && r.scripts === 0 && r.other === 0 && sqlForLoads === 0 && (counts.mysql.Questions ?? 0) === op.listingSelects;
        targets.push({
          target: `${op.name}, warm: ${op.expectedMgets} MGET (one per level, its types together; the target allows one per type per level), 0 SQL${op.listingSelects ? ' beyond the id listing' : ''}`,
          actual: `${fmt(r.mget)} MGET, ${fmt(r.scripts + r.other)} other Redis commands, ${fmt(counts.mysql.Questions ?? 0)} SQL statement(s) (${fmt(counts.mysql.Com_select ?? 0)} SELECT)`,
          met,
        });
      }
    }
  }
  return {
    id: '1',
    title: 'Round trips per request',
    method:
      `Counted by the servers: INFO commandstats on the bench's private redis-server and SHOW GLOBAL STATUS on MySQL, ` +
      `read before and after each request; median of ${SAMPLES} requests, less an empty window's counts (the SHOW itself).`,
    tables: [
      {
        columns: ['query', 'service', 'MGET', 'EVALSHA', 'in Lua (TIME/GET/SET)', 'other Redis', 'SQL statements', 'SELECT'],
        rows,
      },
    ],
    targets,
    notes: [
      "recentOrders and User.orders read their ids from the cached association lists (src/writethrough/association-lists.ts), written through by every order placed; cold, a list is one SELECT (a UNION ALL of its version and its newest ids).",
      'Cold: the backfill is one pipeline of EVALSHA compare-and-sets per type (one round trip each); commandstats also counts the TIME, GET and SET each script runs inside Redis.',
      ...noiseNotes(baseline),
    ],
    data: { control: baseline, perRequest: data },
  };
}
