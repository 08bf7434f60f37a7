import { setTimeout as sleep } from 'node:timers/promises';
import calculateSlot from 'cluster-key-slot';
import { cacheKey } from '../../src/cache/keys';
import { nodeCounts, type NodeCounts } from '../lib/cluster';
import { QUERIES, gql, idWindow } from '../lib/graphql';
import { compareLoads, type Aggregate, type LoadResult } from '../lib/load';
import { connectionQueryIds, connectionsThatRan, type MysqlCounts } from '../lib/mysql';
import { LOAD_PLAN, describePlan } from '../lib/plan';
import type { BenchProcess } from '../lib/processes';
import type { ScenarioResult, Table, Target } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt, median, ratio } from '../lib/stats';
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

/** A reading: per Redis server (by label), MySQL's global counters, and the latest statement of each bench-database connection. */
interface Reading {
  redis: Record<string, NodeCounts>;
  mysql: MysqlCounts;
  connections: Map<number, number> | undefined;
}
/** What a window counted: the same, after − before; `connectionsRan`: bench-database connections that ran a statement. */
interface Counts {
  redis: Record<string, NodeCounts>;
  mysql: MysqlCounts;
  connectionsRan: number;
}

/** The same counters per request, medians less the control: MGET calls, other commands, socket reads, keys, per Redis server. */
interface NodeCost {
  mget: number;
  other: number;
  otherNames: string[];
  reads: number;
  keys: number;
}
interface Cost {
  nodes: Record<string, NodeCost>;
  /** MySQL's global Questions and Com_select: every client of the server, other databases' too. */
  sql: number;
  selects: number;
  /** Connections on the bench's database that ran a statement (MariaDB's PROCESSLIST.QUERY_ID; NaN on MySQL). */
  connectionsRan: number;
}

type Snapshot = () => Promise<Reading>;

/** Every counter of a window: after − before; INFO (the bench's own reading) left out. */
function diff(before: Reading, after: Reading): Counts {
  const redis: Record<string, NodeCounts> = {};
  for (const [label, a] of Object.entries(after.redis)) {
    const b = before.redis[label]!;
    const commands = Object.fromEntries(
      Object.entries(a.commands)
        .filter(([c]) => c !== 'info')
        .map(([c, n]) => [c, n - (b.commands[c] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
    redis[label] = { commands, reads: a.reads - b.reads, keys: a.keys - b.keys };
  }
  const mysql = Object.fromEntries(Object.entries(after.mysql).map(([k, v]) => [k, v - (before.mysql[k as keyof MysqlCounts] ?? 0)])) as MysqlCounts;
  const connectionsRan = before.connections && after.connections ? connectionsThatRan(before.connections, after.connections) : NaN;
  return { redis, mysql, connectionsRan };
}

async function windows(snapshot: Snapshot, samples: number, request?: () => Promise<unknown>): Promise<Counts[]> {
  const out: Counts[] = [];
  for (let i = 0; i < samples; i++) {
    const before = await snapshot();
    await request?.();
    out.push(diff(before, await snapshot()));
  }
  return out;
}

/** Per-counter medians of the windows, less the control's medians. */
function cost(ws: Counts[], control: Counts[]): Cost {
  const m = (list: Counts[], f: (c: Counts) => number) => median(list.map(f));
  const less = (f: (c: Counts) => number) => m(ws, f) - m(control, f);
  const nodes: Record<string, NodeCost> = {};
  for (const label of Object.keys(ws[0]!.redis)) {
    const names = new Set([...ws, ...control].flatMap((w) => Object.keys(w.redis[label]!.commands)));
    const per = Object.fromEntries([...names].map((c) => [c, less((w) => w.redis[label]!.commands[c] ?? 0)]));
    const otherNames = [...names].filter((c) => c !== 'mget' && per[c] !== 0);
    nodes[label] = {
      mget: per.mget ?? 0,
      other: otherNames.reduce((s, c) => s + per[c]!, 0),
      otherNames,
      reads: less((w) => w.redis[label]!.reads),
      keys: less((w) => w.redis[label]!.keys),
    };
  }
  return { nodes, sql: less((w) => w.mysql.Questions), selects: less((w) => w.mysql.Com_select), connectionsRan: less((w) => w.connectionsRan) };
}

/**
 * The service's own counts from its GET /metrics: cache MGET calls (one per batch, all
 * nodes together), MySQL calls (any operation) and `Users` GraphQL operations served.
 */
interface ClientCalls {
  cacheMgets: number;
  mysql: number;
  operations: number;
}
async function clientCalls(p: BenchProcess): Promise<ClientCalls> {
  const response = await fetch(p.metricsUrl);
  if (!response.ok) throw new Error(`${p.name}: GET /metrics answered ${response.status}`);
  const text = await response.text();
  const sum = (metric: string, labels: RegExp) => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${metric}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (labels.test(m[1]!)) total += Number(m[2]);
    return total;
  };
  return {
    cacheMgets: sum('throughline_redis_call_seconds', /operation="mget"/),
    mysql: sum('throughline_mysql_call_seconds', /./),
    operations: sum('throughline_graphql_operation_seconds', /operation="Users"/),
  };
}
const perCall = (after: ClientCalls, before: ClientCalls, n: number): Omit<ClientCalls, 'operations'> => ({
  cacheMgets: (after.cacheMgets - before.cacheMgets) / n,
  mysql: (after.mysql - before.mysql) / n,
});

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
  const services: Array<{ name: string; service: BenchProcess }> = [
    { name: SINGLE, service: single },
    { name: CLUSTER, service: onCluster },
  ];
  // Both must answer in full before anything is counted or timed.
  for (const { name, service } of services) {
    const { users } = await gql(service.url, QUERIES.users, { ids: IDS });
    if (users.length !== 100 || users.some((u: { id: string } | null, i: number) => u === null || u.id !== IDS[i])) throw new Error(`${name} did not answer users 1 to 100 in order`);
  }

  // Where the batch's keys live: slot groups per node, from the cluster's own CLUSTER SLOTS.
  const ownerOf = await cluster.slotOwners();
  const nodeLabel = (port: number) => `node :${port}`;
  const expectedGroups: Record<string, number> = Object.fromEntries(cluster.nodes.map((n) => [nodeLabel(n.port), 0]));
  const expectedKeys: Record<string, number> = { ...expectedGroups };
  const slots = new Set<number>();
  for (const id of IDS) {
    const slot = calculateSlot(cacheKey(onCluster.keyPrefix, 'user', Number(id)));
    const label = nodeLabel(ownerOf(slot) ?? NaN);
    if (!(label in expectedGroups)) throw new Error(`no node of the bench's cluster serves slot ${slot}`);
    expectedKeys[label]!++;
    if (!slots.has(slot)) expectedGroups[label]!++;
    slots.add(slot);
  }

  // One snapshot per side; each window reads only its own side's Redis, plus MySQL.
  const mysqlReading = async () => {
    const [mysql, connections] = [await bench.db.status(), await connectionQueryIds(bench.db.admin, bench.db.name)];
    return { mysql, connections };
  };
  const snapSingle: Snapshot = async () => {
    const [redis, m] = await Promise.all([nodeCounts(bench.redis.admin), mysqlReading()]);
    return { redis: { 'single redis-server': redis }, ...m };
  };
  const snapCluster: Snapshot = async () => {
    const [byPort, m] = await Promise.all([cluster.counts(), mysqlReading()]);
    return { redis: Object.fromEntries([...byPort].map(([port, c]) => [nodeLabel(port), c])), ...m };
  };
  const measured: Record<string, { cost: Cost; client: Omit<ClientCalls, 'operations'>; control: Counts[] }> = {};
  for (const [name, service, snapshot] of [
    [SINGLE, single, snapSingle],
    [CLUSTER, onCluster, snapCluster],
  ] as const) {
    const control = await windows(snapshot, CONTROL_SAMPLES);
    // The client's own count: /metrics read around all the windows (never inside one:
    // serving /metrics may itself read MySQL for its gauges).
    const before = await clientCalls(service);
    const ws = await windows(snapshot, SAMPLES, () => gql(service.url, QUERIES.users, { ids: IDS }));
    const client = perCall(await clientCalls(service), before, SAMPLES);
    measured[name] = { cost: cost(ws, control), client, control };
  }

  // Load: both side by side; MySQL's counters and the nodes' MGETs over the timed runs too.
  // A load run stops with requests still in flight, which the service finishes
  // afterwards: each reading waits until the nodes' MGET counts stop moving, so that
  // no request lands between the nodes' reading and the service's own. (Not by
  // polling /metrics: serving it reads MySQL, for the backlog gauge.)
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
  let loadBefore: Reading | undefined;
  let clientBefore: ClientCalls | undefined;
  let singleBefore: ClientCalls | undefined;
  const results = await compareLoads(
    services.map(({ name, service }) => ({ name, url: service.url, bodies: READS[QUERY] })),
    {
      ...PLAN,
      onRun: (n, r) => onRun?.(QUERY, n, r),
      afterWarmUp: async () => {
        await settle();
        clientBefore = await clientCalls(onCluster);
        singleBefore = await clientCalls(single);
        loadBefore = await snapCluster();
      },
    },
  );
  await settle();
  const underLoad = diff(loadBefore!, await snapCluster());

  const s = measured[SINGLE]!;
  const c = measured[CLUSTER]!;
  const clusterNodes = Object.keys(expectedGroups);
  const totalOf = (f: (n: NodeCost) => number) => clusterNodes.reduce((sum, l) => sum + f(c.cost.nodes[l]!), 0);
  const otherText = (n: NodeCost) => (n.other === 0 ? '0' : `${fmt(n.other)} (${n.otherNames.join(', ')})`);
  const roundTripTable: Table = {
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
      ...clusterNodes.map((label) => {
        const n = c.cost.nodes[label]!;
        return [CLUSTER, label, fmt(n.keys), fmt(n.mget), fmt(expectedGroups[label]!), otherText(n), fmt(n.reads), '', '', '', ''];
      }),
      [
        CLUSTER,
        'all 3 nodes',
        fmt(totalOf((n) => n.keys)),
        fmt(totalOf((n) => n.mget)),
        fmt(slots.size),
        fmt(totalOf((n) => n.other)),
        fmt(totalOf((n) => n.reads)),
        fmt(c.cost.connectionsRan),
        fmt(c.cost.sql),
        fmt(c.client.cacheMgets),
        fmt(c.client.mysql),
      ],
    ],
  };

  const rs = results[SINGLE]!;
  const loadTable: Table = {
    title: `${QUERY}, warm`,
    columns: ['variant', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ one Redis'],
    rows: services.map(({ name }) => {
      const a: Aggregate = results[name]!;
      return [name, fmt(a.rps), fmt(a.p50), fmt(a.p99), ratio(a.rps, rs.rps)];
    }),
  };
  // Cluster-side counts over the timed runs, per Users operation the cluster service
  // served in them (its own count: autocannon's leaves out the requests in flight when a run stops).
  const clientAfter = await clientCalls(onCluster);
  const served = clientAfter.operations - clientBefore!.operations;
  const loadMgets = clusterNodes.map((l) => (underLoad.redis[l]!.commands.mget ?? 0) / served);
  const loadReads = clusterNodes.map((l) => underLoad.redis[l]!.reads / served);
  const loadSql = underLoad.mysql.Questions;
  const loadClient = perCall(clientAfter, clientBefore!, served);
  const singleAfter = await clientCalls(single);
  const singleMysqlCalls = singleAfter.mysql - singleBefore!.mysql;

  const perNode = (f: (n: NodeCost) => number) => clusterNodes.map((l) => fmt(f(c.cost.nodes[l]!))).join(' / ');
  const maxReads = Math.max(...clusterNodes.map((l) => c.cost.nodes[l]!.reads));
  const groupsMatch = clusterNodes.every((l) => c.cost.nodes[l]!.mget === expectedGroups[l]);
  // MySQL's global counters count every client of the server: while another database's
  // clients are busy (a test suite), an empty window counts their statements too, and
  // only the per-connection reading of the bench's own database can be trusted.
  const controls = [...s.control, ...c.control];
  const busyControls = controls.filter((w) => w.mysql.Questions > 1).length; // 1: the SHOW that closes the window
  const globalTrusted = busyControls === 0;
  const perConnection = !Number.isNaN(c.cost.connectionsRan);
  const sqlMet = c.client.mysql === 0 && (perConnection ? c.cost.connectionsRan === 0 : true) && (globalTrusted ? c.cost.sql === 0 : perConnection);
  const targets: Target[] = [
    {
      target: `${QUERY} warm on the Redis Cluster: 0 SQL`,
      actual:
        (perConnection ? `${fmt(c.cost.connectionsRan)} connection(s) of the bench database ran a statement (PROCESSLIST.QUERY_ID); ` : '') +
        `the service counted ${fmt(c.client.mysql)} MySQL call(s) per request; the whole MySQL server ${fmt(c.cost.sql)} statement(s) (${fmt(c.cost.selects)} SELECT) beyond an empty window's` +
        (globalTrusted ? '' : ` (not judged: other clients ran statements in ${busyControls} of ${controls.length} empty windows)`),
      met: sqlMet,
    },
    {
      target: `${QUERY} warm on the Redis Cluster: at most one round trip per master (socket reads counted by each node)`,
      actual:
        `socket reads per node ${perNode((n) => n.reads)}; MGET calls per node ${perNode((n) => n.mget)} ` +
        `(the batch's slot groups there: ${clusterNodes.map((l) => fmt(expectedGroups[l]!)).join(' / ')}); other commands ${fmt(totalOf((n) => n.other))}`,
      met: maxReads <= 1 && totalOf((n) => n.reads) > 0 && totalOf((n) => n.other) === 0,
    },
  ];

  const notes = [
    `Round trips are counted by each Redis server, not in the service: total_reads_processed from INFO stats, the read events on client sockets. ` +
      `ioredis writes each node's pipeline (here one MGET per hash slot of the batch's keys on that node) in one socket write, which on loopback arrives as one read; an empty window's count (the INFO that closes it) is taken off. ` +
      `MGET calls are INFO commandstats' calls=, one per slot group; keys read are keyspace_hits + keyspace_misses. ` +
      `The service's /metrics has no per-node figure: throughline_redis_call_seconds{operation="mget"} counts one observation per cache batch (all nodes together), shown in its own column.`,
    `The 100 keys of ids 1–100 (prefix ${onCluster.keyPrefix}) hash to ${fmt(slots.size)} slots: ${clusterNodes.map((l) => `${l} holds ${fmt(expectedKeys[l]!)} keys in ${fmt(expectedGroups[l]!)} slots`).join(', ')}.` +
      (groupsMatch ? ' Each node ran exactly one MGET per slot group it serves.' : ' MGET calls per node differ from the slot groups: see the table.'),
    `SQL is counted three ways: connections of the bench's database whose latest statement changed in the window (MariaDB's information_schema.PROCESSLIST.QUERY_ID: server-side, and blind to other databases' clients; it tells that a connection ran something, not how much), ` +
      `the service's own throughline_mysql_call_seconds count, and MySQL's global Questions (every client of the server, less an empty window's).` +
      (globalTrusted ? '' : ` Here other clients of the MySQL server ran statements in ${busyControls} of ${controls.length} empty windows, so the global column counts them too and is not judged.`),
    `Over the timed runs the cluster service served ${fmt(served)} Users operations (its own throughline_graphql_operation_seconds count) and counted, per operation, ${fmt(loadClient.cacheMgets)} cache MGET call(s) and ${fmt(loadClient.mysql)} MySQL call(s) (${fmt(clientAfter.mysql - clientBefore!.mysql)} in all; the one-Redis service ${fmt(singleMysqlCalls)}); ` +
      `per operation, the cluster's nodes counted MGET calls ${loadMgets.map(fmt).join(' / ')} and socket reads ${loadReads.map(fmt).join(' / ')} ` +
      `(the ids round-robin over 50 windows of 100, so the slot groups differ from ids 1–100's; under load several connections' pipelines to a node may arrive in one read). ` +
      `MySQL: ${Number.isNaN(underLoad.connectionsRan) ? '' : `${fmt(underLoad.connectionsRan)} connection(s) of the bench database ran a statement (either service; background work, such as each bench service's failure-feed poll every 60 s, would show here too), `}` +
      `${fmt(loadSql)} statement(s) on the whole MySQL server.`,
    `The cluster runs on the same machine as everything else: three redis-server processes instead of one, sharing the same cores with the service, MySQL and the load generator.`,
  ];
  const noisy = [s, c].flatMap((m) => m.control).filter((w) => Object.values(w.redis).some((n) => Object.keys(n.commands).length > 0)).length;
  if (noisy > 0) notes.push(`${noisy} of ${2 * CONTROL_SAMPLES} empty control windows counted Redis commands: another client used the servers (medians are reported, so a stray one changes nothing).`);

  return {
    id: '7',
    title: 'Redis Cluster',
    method:
      `The write-through service on one Redis (scenario 3's process) against the same service on a private Redis Cluster of 3 masters, no replicas (REDIS_CLUSTER_NODES set, key prefix ${onCluster.keyPrefix}, same database), its cache warmed by one pass of reads. ` +
      `Round trips counted by the servers around single requests (see the notes); load: ${describePlan(PLAN)}, ids round-robin over 50 windows of 100 of all ${USERS.toLocaleString('en-US')} users.`,
    tables: [roundTripTable, loadTable],
    targets,
    notes,
    data: {
      plan: PLAN,
      seeds: cluster.seeds,
      keyPrefix: onCluster.keyPrefix,
      expected: { slotGroups: expectedGroups, keys: expectedKeys, slots: slots.size },
      perRequest: { [SINGLE]: { ...s.cost, client: s.client }, [CLUSTER]: { ...c.cost, client: c.client } },
      mysqlGlobalCountersTrusted: globalTrusted,
      underLoad: { singleServiceMysqlCalls: singleMysqlCalls, operations: served, sql: loadSql, connectionsRan: underLoad.connectionsRan, client: loadClient, mgetsPerRequest: Object.fromEntries(clusterNodes.map((l, i) => [l, loadMgets[i]])), readsPerRequest: Object.fromEntries(clusterNodes.map((l, i) => [l, loadReads[i]])) },
      results,
    },
  };
}

export const CLUSTER_VARIANTS = { single: SINGLE, cluster: CLUSTER };
