import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { RedisNode } from '../../src/config';
import { freePort } from './free-port';
import { pollUntil } from './poll';
import { parseCommandStats } from './redis-server';

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes (no replicas) on
 * free ports, their cluster files and data in one temporary directory. Only these
 * processes are ever signalled, by PID; `dispose()` kills them and removes the
 * directory.
 */
export interface PrivateCluster {
  nodes: ClusterNodeProcess[];
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

export interface ClusterNodeProcess {
  port: number;
  busPort: number;
  pid: number;
}

/** Why the cluster tests cannot run here (no redis-server or redis-cli on PATH), or undefined. */
export function clusterUnavailableReason(): string | undefined {
  for (const tool of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) return `${tool} is not installed (needed to start a private Redis Cluster)`;
  }
  return undefined;
}

const READY_TIMEOUT_MS = 20_000;

export async function startPrivateCluster(masters = 3): Promise<PrivateCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-redis-cluster-'));
  const children: ChildProcess[] = [];
  const admins = new Map<number, Redis>();
  const nodes: ClusterNodeProcess[] = [];

  const dispose = async () => {
    for (const admin of admins.values()) admin.disconnect();
    admins.clear();
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await once(child, 'exit');
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };

  const admin = (port: number) => {
    let connection = admins.get(port);
    if (!connection) {
      connection = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      connection.on('error', () => {}); // commands report their own errors
      admins.set(port, connection);
    }
    return connection;
  };

  const everyNodeOk = () =>
    pollUntil(
      'cluster_state:ok on every node',
      async () => {
        const infos = await Promise.all(nodes.map((n) => admin(n.port).cluster('INFO')));
        return infos.every((info) => /^cluster_state:ok$/m.test(String(info)));
      },
      READY_TIMEOUT_MS,
    );

  try {
    // Each node needs two ports: clients', and the cluster bus's (which defaults to
    // port + 10000, past 65535 for a high ephemeral port, so it is chosen too).
    const ports = await distinctFreePorts(masters * 2);
    for (let i = 0; i < masters; i++) {
      const port = ports[2 * i]!;
      const busPort = ports[2 * i + 1]!;
      const child = spawnNode(dir, port, busPort);
      children.push(child);
      nodes.push({ port, busPort, pid: child.pid! });
    }
    await Promise.all(nodes.map((node, i) => answersPing(node.port, children[i]!)));
    await createCluster(nodes.map((n) => n.port));
    // `--cluster create` returns once the slots are assigned; each node says
    // cluster_state:ok only once it has heard, over the bus, that every slot is served.
    await everyNodeOk();
  } catch (err) {
    await dispose();
    throw err;
  }

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
      const index = nodes.findIndex((n) => n.port === port);
      const child = children[index];
      if (!child) throw new Error(`no node on port ${port}`);
      admins.get(port)?.disconnect();
      admins.delete(port);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    async restartNode(port) {
      const index = nodes.findIndex((n) => n.port === port);
      const old = children[index];
      if (!old) throw new Error(`no node on port ${port}`);
      if (old.exitCode === null && old.signalCode === null) throw new Error(`node on port ${port} is still running`);
      const node = nodes[index]!;
      // Same ports, same cluster config file: the node comes back as itself (its id,
      // its epoch, its slots), empty, since nothing is persisted.
      const child = spawnNode(dir, port, node.busPort);
      children[index] = child;
      node.pid = child.pid!;
      await answersPing(port, child);
      await everyNodeOk();
    },
    async errorCounts(port) {
      const info = await admin(port).info('errorstats');
      const counts: Record<string, number> = {};
      for (const match of info.matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) counts[match[1]!] = Number(match[2]);
      return counts;
    },
    dispose,
  };
  return self;
}

function spawnNode(dir: string, port: number, busPort: number): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port', String(port),
      '--cluster-port', String(busPort),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ],
    { stdio: 'ignore' },
  );
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function answersPing(port: number, child: ChildProcess): Promise<void> {
  await pollUntil(`redis-server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server listens; connect() reports it
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  });
}

async function createCluster(ports: number[]): Promise<void> {
  const cli = spawn('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  cli.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cli.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => cli.kill('SIGKILL'), READY_TIMEOUT_MS);
  const [code] = (await once(cli, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (exit ${code}):\n${output}`);
}
