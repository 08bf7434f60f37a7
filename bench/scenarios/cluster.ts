import { setTimeout as sleep } from 'node:timers/promises';
import calculateSlot from 'cluster-key-slot';
import { cacheKey } from '../../src/cache/keys';
import { nodeCounts, type BenchCluster } from '../lib/cluster';
import { QUERIES, gql, idWindow } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { connectionQueryIds } from '../lib/mysql';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { BenchProcess } from '../lib/processes';
import type { ScenarioResult, Table, Target } from '../lib/report';
import { clientCalls, cost, diff, perCall, windows, type ClientCalls, type Cost, type Counts, type NodeCost, type Snapshot } from '../lib/server-windows';
import type { Bench } from '../lib/setup';
import { fmt, ratio } from '../lib/stats';
import { READS } from './throughput';

/** Two services by one query: fewer rounds than scenario 3, to keep the whole bench within minutes. */
const ROUNDS = Number(process.env.BENCH_CLUSTER_ROUNDS ?? Math.min(3, LOAD_PLAN.rounds));
const PLAN = { ...LOAD_PLAN, rounds: ROUNDS };
const SAMPLES = 15;
const CONTROL_SAMPLES = 7;
const USERS = 1000;
const QUERY = 'users(ids: 100)';
/** The request the round trips are counted on: users 1 to 100, all cached by the warm-up pass. */
const IDS = idWindow(1, 100, USERS);

const SINGLE = 'write-through, one Redis (warm)';
const CLUSTER = 'write-through, Redis Cluster of 3 masters (warm)';

const nodeLabel = (port: number) => `node :${port}`;

/** What one warm request cost one service, per request; and its empty windows. */
interface Measured {
  cost: Cost;
  client: Omit<ClientCalls, 'operations'>;
  control: Counts[];
}

/** Where the batch's keys live, from the cluster's own CLUSTER SLOTS: per node, its keys and its slot groups. */
interface SlotLayout {
  labels: string[];
  groups: Record<string, number>;
  keys: Record<string, number>;
  slots: number;
}

/** The timed runs, and what the cluster's side counted over them. */
interface UnderLoad {
  results: Record<string, Aggregate>;
  counts: Counts;
  /** `Users` operations the cluster service served (its own count: autocannon's leaves out the requests in flight when a run stops). */
  served: number;
  client: Omit<ClientCalls, 'operations'>;
  clusterMysqlCalls: number;
  singleMysqlCalls: number;
}

/**
 * MySQL's global counters count every client of the server: while another database's
 * clients are busy (a test suite), an empty window counts their statements too, and
 * only the per-connection reading of the bench's own database can be trusted.
 */
interface SqlJudgement {
  globalTrusted: boolean;
  busyControls: number;
  controls: number;
  perConnection: boolean;
}

/**
 * Scenario 7: the write-through service on one Redis (the process of scenarios 1–3)
 * against the same service on a private 3-master Redis Cluster (REDIS_CLUSTER_NODES
 * set, its own key prefix, warmed by one pass of reads like the others).
 *
 * First what one warm users(ids: 100) costs, counted by the servers: per Redis
 * server (each cluster node, and the single one) INFO commandstats (MGET calls: one
 * per hash-slot group of the batch's keys), total_reads_processed (read events on
 * client sockets: ioredis writes a node's pipeline in one write, so one read is one
 * round trip) and keyspace hits + misses (keys read); on MySQL, the connections of
 * the bench's database that ran a statement and the global Questions; and, from each
 * service's /metrics, its own cache MGET and MySQL calls. Then req/s, p50 and p99 of
 * both, interleaved.
 */
export async function clusterScenario(bench: Bench, onRun?: (query: string, variant: string, r: LoadResult) => void): Promise<ScenarioResult> {
  if (!bench.cluster) throw new Error('scenario 7 needs the Redis Cluster: setUp({ cluster: true })');
  const { nodes: cluster, service: onCluster } = bench.cluster;
  const single = bench.service('write-through');
  const services = [
    { name: SINGLE, service: single },
    { name: CLUSTER, service: onCluster },
  ];
  await expectUsersInOrder(services);
  const layout = await slotLayout(cluster, onCluster.keyPrefix);
  const snap = snapshots(bench, cluster);
  const s = await perRequest(single, snap.single);
  const c = await perRequest(onCluster, snap.cluster);
  const load = await loadBoth(services, cluster, snap.cluster, onRun);
  const sql = judgeSql(s, c);
  const perServed = (f: (n: Counts['redis'][string]) => number) => Object.fromEntries(layout.labels.map((l) => [l, f(load.counts.redis[l]!) / load.served]));
  return {
    id: '7',
    title: 'Redis Cluster',
    method:
      `The write-through service on one Redis (scenario 3's process) against the same service on a private Redis Cluster of 3 masters, no replicas (REDIS_CLUSTER_NODES set, key prefix ${onCluster.keyPrefix}, same database), its cache warmed by one pass of reads. ` +
      `Round trips counted by the servers around single requests (see the notes); load: ${describePlan(PLAN)}, ids round-robin over 50 windows of 100 of all ${USERS.toLocaleString('en-US')} users.`,
    tables: [roundTripTable(s, c, layout), loadTable(services, load.results)],
    targets: clusterTargets(c, layout, sql),
    notes: clusterNotes({ s, c, layout, load, sql, keyPrefix: onCluster.keyPrefix, mgets: perServed((n) => n.commands.mget ?? 0), reads: perServed((n) => n.reads) }),
    data: {
      plan: PLAN,
      seeds: cluster.seeds,
      keyPrefix: onCluster.keyPrefix,
      expected: { slotGroups: layout.groups, keys: layout.keys, slots: layout.slots },
      perRequest: { [SINGLE]: { ...s.cost, client: s.client }, [CLUSTER]: { ...c.cost, client: c.client } },
      mysqlGlobalCountersTrusted: sql.globalTrusted,
      underLoad: {
        singleServiceMysqlCalls: load.singleMysqlCalls,
        operations: load.served,
        sql: load.counts.mysql.Questions,
        connectionsRan: load.counts.connectionsRan,
        client: load.client,
        mgetsPerRequest: perServed((n) => n.commands.mget ?? 0),
        readsPerRequest: perServed((n) => n.reads),
      },
      results: load.results,
    },
  };
}

/** Both must answer in full before anything is counted or timed. */
async function expectUsersInOrder(services: Array<{ name: string; service: BenchProcess }>): Promise<void> {
  for (const { name, service } of services) {
    const { users } = await gql(service.url, QUERIES.users, { ids: IDS });
    if (users.length !== 100 || users.some((u: { id: string } | null, i: number) => u === null || u.id !== IDS[i])) throw new Error(`${name} did not answer users 1 to 100 in order`);
  }
}

async function slotLayout(cluster: BenchCluster, keyPrefix: string): Promise<SlotLayout> {
  const ownerOf = await cluster.slotOwners();
  const groups: Record<string, number> = Object.fromEntries(cluster.nodes.map((n) => [nodeLabel(n.port), 0]));
  const keys: Record<string, number> = { ...groups };
  const slots = new Set<number>();
  for (const id of IDS) {
    const slot = calculateSlot(cacheKey(keyPrefix, 'user', Number(id)));
    const label = nodeLabel(ownerOf(slot) ?? NaN);
    if (!(label in groups)) throw new Error(`no node of the bench's cluster serves slot ${slot}`);
    keys[label]!++;
    if (!slots.has(slot)) groups[label]!++;
    slots.add(slot);
  }
  return { labels: Object.keys(groups), groups, keys, slots: slots.size };
}

/** One snapshot per side; each window reads only its own side's Redis, plus MySQL. */
function snapshots(bench: Bench, cluster: BenchCluster): { single: Snapshot; cluster: Snapshot } {
  const mysqlReading = async () => {
    const [mysql, connections] = [await bench.db.status(), await connectionQueryIds(bench.db.admin, bench.db.name)];
    return { mysql, connections };
  };
  return {
    single: async () => {
      const [redis, m] = await Promise.all([nodeCounts(bench.redis.admin), mysqlReading()]);
      return { redis: { 'single redis-server': redis }, ...m };
    },
    cluster: async () => {
      const [byPort, m] = await Promise.all([cluster.counts(), mysqlReading()]);
      return { redis: Object.fromEntries([...byPort].map(([port, c]) => [nodeLabel(port), c])), ...m };
    },
  };
}

async function perRequest(service: BenchProcess, snapshot: Snapshot): Promise<Measured> {
  const control = await windows(snapshot, CONTROL_SAMPLES);
  // The client's own count: /metrics read around all the windows (never inside one:
  // serving /metrics may itself read MySQL for its gauges).
  const before = await clientCalls(service);
  const ws = await windows(snapshot, SAMPLES, () => gql(service.url, QUERIES.users, { ids: IDS }));
  const client = perCall(await clientCalls(service), before, SAMPLES);
  return { cost: cost(ws, control), client, control };
}

/**
 * Both side by side; MySQL's counters and the nodes' MGETs over the timed runs too.
 * A load run stops with requests still in flight, which the service finishes
 * afterwards: each reading waits until the nodes' MGET counts stop moving, so that
 * no request lands between the nodes' reading and the service's own. (Not by
 * polling /metrics: serving it reads MySQL, for the backlog gauge.)
 */
async function loadBoth(
  services: Array<{ name: string; service: BenchProcess }>,
  cluster: BenchCluster,
  snapCluster: Snapshot,
  onRun?: (query: string, variant: string, r: LoadResult) => void,
): Promise<UnderLoad> {
  const [single, onCluster] = [services[0]!.service, services[1]!.service];
  const settle = async () => {
    const mgets = async () => [...(await cluster.counts()).values()].reduce((sum, n) => sum + (n.commands.mget ?? 0), 0);
    let last = await mgets();
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      const now = await mgets();
      if (now === last) return;
      last = now;
    }
  };
  let before: { reading: Awaited<ReturnType<Snapshot>>; cluster: ClientCalls; single: ClientCalls } | undefined;
  const results = await compareLoads(
    services.map(({ name, service }) => ({ name, url: service.url, bodies: READS[QUERY] })),
    {
      ...PLAN,
      onRun: (n, r) => onRun?.(QUERY, n, r),
      afterWarmUp: async () => {
        await settle();
        const clusterCalls = await clientCalls(onCluster);
        const singleCalls = await clientCalls(single);
        before = { reading: await snapCluster(), cluster: clusterCalls, single: singleCalls };
      },
    },
  );
  await settle();
  const counts = diff(before!.reading, await snapCluster());
  const clusterAfter = await clientCalls(onCluster);
  const served = clusterAfter.operations - before!.cluster.operations;
  const singleAfter = await clientCalls(single);
  return {
    results,
    counts,
    served,
    client: perCall(clusterAfter, before!.cluster, served),
    clusterMysqlCalls: clusterAfter.mysql - before!.cluster.mysql,
    singleMysqlCalls: singleAfter.mysql - before!.single.mysql,
  };
}

function judgeSql(s: Measured, c: Measured): SqlJudgement {
  const controls = [...s.control, ...c.control];
  const busyControls = controls.filter((w) => w.mysql.Questions > 1).length; // 1: the SHOW that closes the window
  return { globalTrusted: busyControls === 0, busyControls, controls: controls.length, perConnection: !Number.isNaN(c.cost.connectionsRan) };
}

const totalOf = (c: Measured, layout: SlotLayout, f: (n: NodeCost) => number) => layout.labels.reduce((sum, l) => sum + f(c.cost.nodes[l]!), 0);

function roundTripTable(s: Measured, c: Measured, layout: SlotLayout): Table {
  const otherText = (n: NodeCost) => (n.other === 0 ? '0' : `${fmt(n.other)} (${n.otherNames.join(', ')})`);
  const total = (f: (n: NodeCost) => number) => fmt(totalOf(c, layout, f));
  return {
    title: `What one warm ${QUERY} costs (ids 1–100; median of ${SAMPLES} requests less an empty window's)`,
    columns: [
      'service',
      'Redis server',
      'keys read',
      'MGET calls',
      'slot groups of the batch there',
      'other commands',
      'socket reads (round trips)',
      'bench-database connections that ran SQL',
      'SQL statements, whole MySQL server',
      'cache MGET calls (service /metrics)',
      'MySQL calls (service /metrics)',
    ],
    rows: [
      ...Object.entries(s.cost.nodes).map(([label, n]) => [
        SINGLE, label, fmt(n.keys), fmt(n.mget), '–', otherText(n), fmt(n.reads), fmt(s.cost.connectionsRan), fmt(s.cost.sql), fmt(s.client.cacheMgets), fmt(s.client.mysql),
      ]),
      ...layout.labels.map((label) => {
        const n = c.cost.nodes[label]!;
        return [CLUSTER, label, fmt(n.keys), fmt(n.mget), fmt(layout.groups[label]!), otherText(n), fmt(n.reads), '', '', '', ''];
      }),
      [
        CLUSTER,
        'all 3 nodes',
        total((n) => n.keys),
        total((n) => n.mget),
        fmt(layout.slots),
        total((n) => n.other),
        total((n) => n.reads),
        fmt(c.cost.connectionsRan),
        fmt(c.cost.sql),
        fmt(c.client.cacheMgets),
        fmt(c.client.mysql),
      ],
    ],
  };
}

function loadTable(services: Array<{ name: string }>, results: Record<string, Aggregate>): Table {
  const rs = results[SINGLE]!;
  return {
    title: `${QUERY}, warm`,
    columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ one Redis'],
    rows: services.map(({ name }) => {
      const a = results[name]!;
      return [name, fmt(a.rps), fmt(a.p50), fmt(a.p99), ratio(a.rps, rs.rps)];
    }),
  };
}

function clusterTargets(c: Measured, layout: SlotLayout, sql: SqlJudgement): Target[] {
  const perNode = (f: (n: NodeCost) => number) => layout.labels.map((l) => fmt(f(c.cost.nodes[l]!))).join(' / ');
  const maxReads = Math.max(...layout.labels.map((l) => c.cost.nodes[l]!.reads));
  const other = totalOf(c, layout, (n) => n.other);
  const sqlMet = c.client.mysql === 0 && (sql.perConnection ? c.cost.connectionsRan === 0 : true) && (sql.globalTrusted ? c.cost.sql === 0 : sql.perConnection);
  return [
    {
      target: `${QUERY} warm on the Redis Cluster: 0 SQL`,
      actual:
        (sql.perConnection ? `${fmt(c.cost.connectionsRan)} connection(s) of the bench database ran a statement (PROCESSLIST.QUERY_ID); ` : '') +
        `the service counted ${fmt(c.client.mysql)} MySQL call(s) per request; the whole MySQL server ${fmt(c.cost.sql)} statement(s) (${fmt(c.cost.selects)} SELECT) beyond an empty window's` +
        (sql.globalTrusted ? '' : ` (not judged: other clients ran statements in ${sql.busyControls} of ${sql.controls} empty windows)`),
      met: sqlMet,
    },
    {
      target: `${QUERY} warm on the Redis Cluster: at most one round trip per master (socket reads counted by each node)`,
      actual:
        `socket reads per node ${perNode((n) => n.reads)}; MGET calls per node ${perNode((n) => n.mget)} ` +
        `(the batch's slot groups there: ${layout.labels.map((l) => fmt(layout.groups[l]!)).join(' / ')}); other commands ${fmt(other)}`,
      met: maxReads <= 1 && totalOf(c, layout, (n) => n.reads) > 0 && other === 0,
    },
  ];
}

function clusterNotes(r: { s: Measured; c: Measured; layout: SlotLayout; load: UnderLoad; sql: SqlJudgement; keyPrefix: string; mgets: Record<string, number>; reads: Record<string, number> }): string[] {
  const { s, c, layout, load, sql } = r;
  const groupsMatch = layout.labels.every((l) => c.cost.nodes[l]!.mget === layout.groups[l]);
  const perNode = (values: Record<string, number>) => layout.labels.map((l) => fmt(values[l]!)).join(' / ');
  const notes = [
    `Round trips are counted by each Redis server, not in the service: total_reads_processed from INFO stats, the read events on client sockets. ` +
      `ioredis writes each node's pipeline (here one MGET per hash slot of the batch's keys on that node) in one socket write, which on loopback arrives as one read; an empty window's count (the INFO that closes it) is taken off. ` +
      `MGET calls are INFO commandstats' calls=, one per slot group; keys read are keyspace_hits + keyspace_misses. ` +
      `The service's /metrics has no per-node figure: throughline_redis_call_seconds{operation="mget"} counts one observation per cache batch (all nodes together), shown in its own column.`,
    `The 100 keys of ids 1–100 (prefix ${r.keyPrefix}) hash to ${fmt(layout.slots)} slots: ${layout.labels.map((l) => `${l} holds ${fmt(layout.keys[l]!)} keys in ${fmt(layout.groups[l]!)} slots`).join(', ')}.` +
      (groupsMatch ? ' Each node ran exactly one MGET per slot group it serves.' : ' MGET calls per node differ from the slot groups: see the table.'),
    `SQL is counted three ways: connections of the bench's database whose latest statement changed in the window (MariaDB's information_schema.PROCESSLIST.QUERY_ID: server-side, and blind to other databases' clients; it tells that a connection ran something, not how much), ` +
      `the service's own throughline_mysql_call_seconds count, and MySQL's global Questions (every client of the server, less an empty window's).` +
      (sql.globalTrusted ? '' : ` Here other clients of the MySQL server ran statements in ${sql.busyControls} of ${sql.controls} empty windows, so the global column counts them too and is not judged.`),
    `Over the timed runs the cluster service served ${fmt(load.served)} Users operations (its own throughline_graphql_operation_seconds count) and counted, per operation, ${fmt(load.client.cacheMgets)} cache MGET call(s) and ${fmt(load.client.mysql)} MySQL call(s) (${fmt(load.clusterMysqlCalls)} in all; the one-Redis service ${fmt(load.singleMysqlCalls)}); ` +
      `per operation, the cluster's nodes counted MGET calls ${perNode(r.mgets)} and socket reads ${perNode(r.reads)} ` +
      `(the ids round-robin over 50 windows of 100, so the slot groups differ from ids 1–100's; under load several connections' pipelines to a node may arrive in one read). ` +
      `MySQL: ${Number.isNaN(load.counts.connectionsRan) ? '' : `${fmt(load.counts.connectionsRan)} connection(s) of the bench database ran a statement (either service; background work, such as each bench service's failure-feed poll every 60 s, would show here too), `}` +
      `${fmt(load.counts.mysql.Questions)} statement(s) on the whole MySQL server.`,
    `The cluster runs on the same machine as everything else: three redis-server processes instead of one, sharing the same cores with the service, MySQL and the load generator.`,
  ];
  const noisy = [s, c].flatMap((m) => m.control).filter((w) => Object.values(w.redis).some((n) => Object.keys(n.commands).length > 0)).length;
  if (noisy > 0) notes.push(`${noisy} of ${2 * CONTROL_SAMPLES} empty control windows counted Redis commands: another client used the servers (medians are reported, so a stray one changes nothing).`);
  return notes;
}

export const CLUSTER_VARIANTS = { single: SINGLE, cluster: CLUSTER };
