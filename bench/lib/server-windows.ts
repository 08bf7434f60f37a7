/**
 * Counting what requests cost on the servers' side, per Redis server (each cluster
 * node, or the single one) and on MySQL, in windows around single requests: a
 * snapshot before and after, the difference, medians less an empty window's. And the
 * service's own counts from its /metrics. Scenario 7's instruments (scenario 1's, for
 * one Redis server, are in counters.ts).
 */
import type { NodeCounts } from './cluster';
import { connectionsThatRan, type MysqlCounts } from './mysql';
import { readMetrics, type BenchProcess } from './processes';
import { median } from './stats';

/** A reading: per Redis server (by label), MySQL's global counters, and the latest statement of each bench-database connection. */
export interface Reading {
  redis: Record<string, NodeCounts>;
  mysql: MysqlCounts;
  connections: Map<number, number> | undefined;
}
/** What a window counted: the same, after − before; `connectionsRan`: bench-database connections that ran a statement. */
export interface Counts {
  redis: Record<string, NodeCounts>;
  mysql: MysqlCounts;
  connectionsRan: number;
}

/** The same counters per request, medians less the control: MGET calls, other commands, socket reads, keys, per Redis server. */
export interface NodeCost {
  mget: number;
  other: number;
  otherNames: string[];
  reads: number;
  keys: number;
}
export interface Cost {
  nodes: Record<string, NodeCost>;
  /** MySQL's global Questions and Com_select: every client of the server, other databases' too. */
  sql: number;
  selects: number;
  /** Connections on the bench's database that ran a statement (MariaDB's PROCESSLIST.QUERY_ID; NaN on MySQL). */
  connectionsRan: number;
}

export type Snapshot = () => Promise<Reading>;

/** Every counter of a window: after − before; INFO (the bench's own reading) left out. */
export function diff(before: Reading, after: Reading): Counts {
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

export async function windows(snapshot: Snapshot, samples: number, request?: () => Promise<unknown>): Promise<Counts[]> {
  const out: Counts[] = [];
  for (let i = 0; i < samples; i++) {
    const before = await snapshot();
    await request?.();
    out.push(diff(before, await snapshot()));
  }
  return out;
}

/** Per-counter medians of the windows, less the control's medians. */
export function cost(ws: Counts[], control: Counts[]): Cost {
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
export interface ClientCalls {
  cacheMgets: number;
  mysql: number;
  operations: number;
}
export async function clientCalls(p: BenchProcess): Promise<ClientCalls> {
  const text = await readMetrics(p);
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
export const perCall = (after: ClientCalls, before: ClientCalls, n: number): Omit<ClientCalls, 'operations'> => ({
  cacheMgets: (after.cacheMgets - before.cacheMgets) / n,
  mysql: (after.mysql - before.mysql) / n,
});
