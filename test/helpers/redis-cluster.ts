import { spawnSync } from 'node:child_process';
import Redis from 'ioredis';
import type { RedisNode } from '../../src/config';
import { startLocalCluster, type LocalClusterNode } from '../../src/dev/local-cluster';
import { parseCommandStats } from './redis-server';

/**
 * A Redis Cluster of the test's own (src/dev/local-cluster.ts: `masters` redis-server
 * processes, no replicas, on free ports, signalled only by their PIDs), with what the
 * tests do to it: count its commands, move slots, kill and restart nodes.
 */
export interface PrivateCluster {
  nodes: readonly LocalClusterNode[];
  /** Every node as a seed, for REDIS_CLUSTER_NODES / createRedisCluster. */
  seeds: RedisNode[];
  /** An admin connection to one node (not cluster-aware: it talks to that node alone). */
  admin(port: number): Redis;
  /** Per-command call counts of every node, by port, from INFO commandstats. */
  commandCounts(): Promise<Map<number, Record<string, number>>>;
  /** The port of the node that serves `slot`, as CLUSTER SLOTS on the first node says. */
  ownerOf(slot: number): Promise<number>;
  /**
   * Starts moving `slot` to the node on `toPort` the way `redis-cli --cluster reshard`
   * does: IMPORTING on the target, MIGRATING on the source, then MIGRATE of every key
   * in it. While it is so, the source answers ASK for the keys it no longer has.
   * `finish()` assigns the slot to the target on every node; the source then answers
   * MOVED for it.
   */
  migrateSlot(slot: number, toPort: number): Promise<{ fromPort: number; finish(): Promise<void> }>;
  /** Kills one node (SIGKILL, by its PID) and waits for it to exit. */
  killNode(port: number): Promise<void>;
  /**
   * Starts a killed node again on its port, with its cluster config file, so it
   * rejoins as the same node serving the same slots (with no keys: nothing is
   * persisted), and waits until every node says cluster_state:ok.
   */
  restartNode(port: number): Promise<void>;
  /** Error replies a node has sent, by their first word (MOVED, ASK…), from INFO errorstats. */
  errorCounts(port: number): Promise<Record<string, number>>;
  dispose(): Promise<void>;
}

/** Why the cluster tests cannot run here (no redis-server or redis-cli on PATH), or undefined. */
export function clusterUnavailableReason(): string | undefined {
  for (const tool of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) return `${tool} is not installed (needed to start a private Redis Cluster)`;
  }
  return undefined;
}

/**
 * The nodes' cluster-node-timeout. Above any outage a test makes: a node killed for
 * longer than the timeout is marked FAIL, the live masters then answer CLUSTERDOWN,
 * and after the restart the flag stays for twice the timeout (local-cluster.ts). With
 * Redis's 15 s, how long a killed master stayed away under a loaded CI machine decided
 * whether the others served, and whether the restart took 1 s or 30.
 */
const NODE_TIMEOUT_MS = 120_000;

export async function startPrivateCluster(masters = 3): Promise<PrivateCluster> {
  const local = await startLocalCluster(masters, { dirPrefix: 'tl-redis-cluster-', nodeTimeoutMs: NODE_TIMEOUT_MS });
  const { nodes } = local;
  const admins = new Map<number, Redis>();

  const admin = (port: number) => {
    let connection = admins.get(port);
    if (!connection) {
      connection = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      connection.on('error', () => {}); // commands report their own errors
      admins.set(port, connection);
    }
    return connection;
  };
  const dropAdmin = (port: number) => {
    admins.get(port)?.disconnect();
    admins.delete(port);
  };

  const self: PrivateCluster = {
    nodes,
    seeds: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    admin,
    async commandCounts() {
      const counts = new Map<number, Record<string, number>>();
      for (const n of nodes) counts.set(n.port, parseCommandStats(await admin(n.port).info('commandstats')));
      return counts;
    },
    async ownerOf(slot) {
      const ranges = await admin(nodes[0]!.port).cluster('SLOTS');
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const master = range?.[2];
      if (!master) throw new Error(`no node serves slot ${slot}`);
      return master[1];
    },
    async migrateSlot(slot, toPort) {
      const fromPort = await self.ownerOf(slot);
      if (fromPort === toPort) throw new Error(`slot ${slot} is already on node ${toPort}`);
      const from = admin(fromPort);
      const to = admin(toPort);
      const [fromId, toId] = (await Promise.all([from.cluster('MYID'), to.cluster('MYID')])) as [string, string];
      await to.cluster('SETSLOT', slot, 'IMPORTING', fromId);
      await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
      for (;;) {
        const keys = (await from.cluster('GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await from.call('MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys);
      }
      return {
        fromPort,
        // Target first, then source, then the rest, as the reshard tool does: no node
        // is ever left believing nobody serves the slot.
        finish: async () => {
          const order = [toPort, fromPort, ...nodes.map((n) => n.port).filter((p) => p !== toPort && p !== fromPort)];
          for (const port of order) await admin(port).cluster('SETSLOT', slot, 'NODE', toId);
        },
      };
    },
    async killNode(port) {
      dropAdmin(port);
      await local.kill(port);
    },
    restartNode: (port) => local.restart(port),
    async errorCounts(port) {
      const info = await admin(port).info('errorstats');
      const counts: Record<string, number> = {};
      for (const match of info.matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) counts[match[1]!] = Number(match[2]);
      return counts;
    },
    async dispose() {
      for (const port of [...admins.keys()]) dropAdmin(port);
      await local.stop();
    },
  };
  return self;
}
