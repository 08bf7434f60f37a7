import Redis from 'ioredis';
import { startLocalCluster } from '../../src/dev/local-cluster';

/**
 * A Redis Cluster of the bench's own, for scenario 7 (src/dev/local-cluster.ts:
 * `masters` redis-server processes, no replicas, no persistence, on free ports; only
 * their PIDs are ever signalled), with the counters the scenario reads.
 * stop() kills them and removes their directory.
 */
export interface BenchCluster {
  nodes: Array<{ port: number; busPort: number; pid: number }>;
  /** `127.0.0.1:<port>,…`: every node, for REDIS_CLUSTER_NODES. */
  seeds: string;
  /** What each node has done since it started, by port (see NodeCounts). */
  counts(): Promise<Map<number, NodeCounts>>;
  /** Which node (by port) serves each hash slot, as CLUSTER SLOTS on the first node says now. */
  slotOwners(): Promise<(slot: number) => number | undefined>;
  stop(): Promise<void>;
}

/**
 * One node's own counters (INFO stats and commandstats), all since it started:
 *
 * - `commands`: calls per command (an MGET is one call however many keys it names);
 * - `reads`: total_reads_processed, the read events on client sockets. ioredis
 *   writes a pipeline to its socket in one write, which on loopback arrives as one
 *   read here: the server's own count of round trips (a read the bench's INFO call
 *   makes is counted too; see the control window in scenarios/cluster.ts);
 * - `keys`: keyspace_hits + keyspace_misses, the keys looked up.
 */
export interface NodeCounts {
  commands: Record<string, number>;
  reads: number;
  keys: number;
}

/** A node's counters from the reply of `INFO stats commandstats`. */
export function parseNodeInfo(info: string): NodeCounts {
  const stat = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  const commands: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]!] = Number(m[2]);
  return { commands, reads: stat('total_reads_processed'), keys: stat('keyspace_hits') + stat('keyspace_misses') };
}

/** One INFO on `connection`, both sections in it (Redis 7 takes several). */
export async function nodeCounts(connection: Redis): Promise<NodeCounts> {
  return parseNodeInfo(String(await connection.call('INFO', 'stats', 'commandstats')));
}

export async function startBenchCluster(masters = 3, log: (line: string) => void = () => {}): Promise<BenchCluster> {
  const local = await startLocalCluster(masters, { dirPrefix: 'tl-bench-cluster-' });
  const admins = new Map<number, Redis>();
  const admin = (port: number) => {
    let connection = admins.get(port);
    if (!connection) {
      connection = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
      connection.on('error', () => {}); // commands report their own errors
      admins.set(port, connection);
    }
    return connection;
  };
  const nodes = local.nodes.map((n) => ({ port: n.port, busPort: n.busPort, pid: n.process.pid! }));
  log(`private Redis Cluster: ${masters} masters on ${nodes.map((n) => `${n.port} (pid ${n.pid})`).join(', ')}, in ${local.dir}`);
  let stopped: Promise<void> | undefined;

  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    async counts() {
      const counts = new Map<number, NodeCounts>();
      // The nodes read side by side.
      await Promise.all(nodes.map(async (n) => counts.set(n.port, await nodeCounts(admin(n.port)))));
      return counts;
    },
    async slotOwners() {
      const ranges = await admin(nodes[0]!.port).cluster('SLOTS');
      return (slot) => {
        const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
        return master ? Number(master[1]) : undefined;
      };
    },
    stop: () =>
      (stopped ??= (async () => {
        for (const connection of admins.values()) connection.disconnect();
        await local.stop();
      })()),
  };
}
