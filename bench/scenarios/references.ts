import { QUERIES, body, gql, idWindow } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { ScenarioResult, Table, Target } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';
import { LIST_USERS } from '../lib/seed';
import { READS } from './throughput';

const USERS = 1000;
const RECENT = body(QUERIES.recentOrders, { limit: 50 });

/** Every read the targets name, with its bodies. */
const REFERENCE_READS: Record<string, string[]> = { ...READS, 'recentOrders(limit: 50) { user product }': [RECENT] };
/** A user's first page of orders, each with its product: the users seeded with 20 orders (lib/seed.ts). */
const USER_ORDERS = 'user(id) { orders(first: 20) { edges { node { product } } } }';
const PAGES: Record<string, string[]> = {
  [USER_ORDERS]: Array.from({ length: LIST_USERS }, (_, i) => body(QUERIES.userOrders, { id: String(i + 1), first: 20 })),
};
const WRITES: Record<string, string[]> = {
  'updateUser, one hot row': Array.from({ length: 100 }, (_, i) => body(QUERIES.updateUser, { id: '1', name: `Hot ${i}` })),
  'updateUser, distinct rows': Array.from({ length: USERS }, (_, i) => body(QUERIES.updateUser, { id: String(i + 1), name: `Row ${i + 1}` })),
};

const spread = (a: Aggregate, f: (r: Aggregate['runs'][number]) => number) => {
  const values = a.runs.map(f);
  return `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
};

/**
 * Scenario 0: Throughline against what a user would build instead, in one run
 * (bench/references/server.ts): the bare floor (Apollo's standalone server over
 * constant resolvers), the plain peer (the same with DataLoader over mysql2, no
 * cache), and Apollo's whole-response cache over the peer. A JWT on every request;
 * the service on its production defaults, its cache warm.
 */
export async function references(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  const refs = bench.references!;
  const service = bench.service('write-through');
  const readers = [
    { name: 'Throughline', url: service.url },
    { name: 'plain peer', url: refs.peer.url },
    { name: 'bare floor', url: refs.floor.url },
    { name: 'response cache (stale after writes)', url: refs['response-cache'].url },
  ];
  for (const v of readers) {
    const { users } = await gql(v.url, QUERIES.users, { ids: idWindow(1, 100, USERS) }, bench.token);
    if (users.length !== 100 || users.some((u: unknown) => u === null)) throw new Error(`${v.name} did not answer 100 users`);
  }
  const staleness = await showStaleness(bench);
  const results: Record<string, Record<string, Aggregate>> = {};
  const tables: Table[] = [];
  const targets: Target[] = [];
  const table = (title: string, names: string[], r: Record<string, Aggregate>) => {
    const peer = r['plain peer']!;
    tables.push({
      title,
      columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'req/s over rounds', 'req/s ÷ peer', 'p50 ÷ peer'],
      rows: names.map((n) => [n, fmt(r[n]!.rps), fmt(r[n]!.p50), fmt(r[n]!.p99), spread(r[n]!, (x) => x.rps), ratio(r[n]!.rps, peer.rps), ratio(r[n]!.p50, peer.p50)]),
    });
  };
  for (const [query, bodies] of Object.entries(REFERENCE_READS)) {
    const r = await compareLoads(
      readers.map((v) => ({ ...v, bodies, token: bench.token })),
      { ...LOAD_PLAN, onRun: (name, run) => onRun?.(query, name, run) },
    );
    results[query] = r;
    table(query, readers.map((v) => v.name), r);
  }
  const writers = [
    { name: 'Throughline', url: service.url },
    { name: 'plain peer', url: refs.peer.url },
  ];
  // The floor has no lists to answer from: the page is against the peer only.
  for (const [page, bodies] of Object.entries(PAGES)) {
    const r = await compareLoads(
      writers.map((v) => ({ ...v, bodies, token: bench.token, checkBodies: true })),
      { ...LOAD_PLAN, onRun: (name, run) => onRun?.(page, name, run) },
    );
    results[page] = r;
    table(page, writers.map((v) => v.name), r);
  }
  for (const [write, bodies] of Object.entries(WRITES)) {
    const r = await compareLoads(
      writers.map((v) => ({ ...v, bodies, token: bench.token, checkBodies: true })),
      { ...LOAD_PLAN, onRun: (name, run) => onRun?.(write, name, run) },
    );
    results[write] = r;
    table(write, writers.map((v) => v.name), r);
  }
  const [one, many, recent] = Object.keys(REFERENCE_READS).map((q) => results[q]!);
  const vs = (r: Record<string, Aggregate>, ref: string, min: number, label: string) => {
    const [t, o] = [r['Throughline']!, r[ref]!];
    targets.push({ target: `${label} ≥ ${min}× the ${ref}, req/s`, actual: `${ratio(t.rps, o.rps)} (${fmt(t.rps)} vs ${fmt(o.rps)})`, met: t.rps >= min * o.rps });
  };
  vs(one!, 'plain peer', 1.5, 'user(id)');
  vs(one!, 'bare floor', 0.8, 'user(id)');
  vs(many!, 'plain peer', 3, 'users(ids: 100)');
  vs(many!, 'bare floor', 1.5, 'users(ids: 100)');
  vs(recent!, 'plain peer', 2, 'recentOrders(limit: 50) { user product }');
  vs(results[USER_ORDERS]!, 'plain peer', 3, USER_ORDERS);
  for (const write of Object.keys(WRITES)) {
    const [t, o] = [results[write]!['Throughline']!, results[write]!['plain peer']!];
    targets.push({ target: `${write}: p50 ≤ 1.2× the plain peer`, actual: `${ratio(t.p50, o.p50)} (${fmt(t.p50)} vs ${fmt(o.p50)} ms)`, met: t.p50 <= 1.2 * o.p50 });
  }
  for (const query of Object.keys(REFERENCE_READS)) {
    const [t, o] = [results[query]!['Throughline']!, results[query]!['plain peer']!];
    targets.push({ target: `${query}: p99 ≤ the plain peer's`, actual: `${fmt(t.p99)} vs ${fmt(o.p99)} ms`, met: t.p99 <= o.p99 });
  }
  tables.push(staleness.table);
  return {
    id: '0',
    title: 'Against what a user would build instead',
    method: `${describePlan()}. A JWT on every request, reads included. Throughline is the write-through service on its production defaults (NODE_ENV=production, LOG_LEVEL=warn), its cache warm; the references are bench/references/server.ts on Apollo Server 5's startStandaloneServer, the peer and the response cache over a mysql2 pool of 10.`,
    tables,
    targets,
    notes: [
      'The response cache answers from memory whatever MySQL holds: its figures are what caching whole responses buys, and the table after the loads shows what it costs (a read after a write returns the old value). Throughline caches no response.',
      "The peer's updateUser is BEGIN / UPDATE … version = version + 1 / SELECT / COMMIT over mysql2; Throughline's adds the compare-and-set of the new row in Redis after COMMIT.",
    ],
    data: { plan: LOAD_PLAN, results, staleness: staleness.data },
  };
}

/** A read, a write, and the same read again, through Throughline and through the response cache. */
async function showStaleness(bench: Bench): Promise<{ table: Table; data: unknown }> {
  const id = '999';
  const read = async (url: string) => (await gql(url, QUERIES.user, { id }, bench.token)).user as { name: string; version: number };
  const rows: Array<Array<string | number>> = [];
  const data: Record<string, unknown> = {};
  for (const [name, url] of [
    ['Throughline', bench.service('write-through').url],
    ['response cache', bench.references!['response-cache'].url],
  ] as const) {
    const before = await read(url);
    const written = (await gql(url, QUERIES.updateUser, { id, name: `Renamed through ${name}` }, bench.token)).updateUser as { name: string; version: number };
    const after = await read(url);
    const fresh = after.version === written.version && after.name === written.name;
    rows.push([name, `v${before.version} "${before.name}"`, `v${written.version} "${written.name}"`, `v${after.version} "${after.name}"`, fresh ? 'the new value' : 'the old value (stale)']);
    data[name] = { before, written, after, fresh };
  }
  return {
    table: { title: 'A read after a write (user 999): read, update, read again', textOnly: true, columns: ['server', 'first read', 'update answered', 'read after the update', 'serves'], rows },
    data,
  };
}
