import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort } from './ports';

/**
 * A Redis Cluster of the bench's own, for scenario 7: `masters` redis-server
 * processes with --cluster-enabled yes (no replicas, no persistence) on free ports,
 * their cluster files in one temporary directory, joined by
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`. Only these
 * PIDs are ever signalled; stop() kills them and removes the directory.
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

const READY_TIMEOUT_MS = 20_000;

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
  const dir = await mkdtemp(join(tmpdir(), 'tl-bench-cluster-'));
  const children: ChildProcess[] = [];
  const admins = new Map<number, Redis>();
  const nodes: BenchCluster['nodes'] = [];
  let stopped: Promise<void> | undefined;
  let spawnError: Error | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      for (const admin of admins.values()) admin.disconnect();
      await Promise.all(
        children.map(async (child) => {
          if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL'); // nothing in it needs to survive: no persistence
          await exited;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    })());

  const admin = (port: number) => {
    let connection = admins.get(port);
    if (!connection) {
      connection = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
      connection.on('error', () => {}); // commands report their own errors
      admins.set(port, connection);
    }
    return connection;
  };

  try {
    // Two ports per node: clients' and the cluster bus's (by default port + 10000,
    // which is past 65535 for a high ephemeral port, so it is picked too).
    const ports = new Set<number>();
    while (ports.size < masters * 2) ports.add(await freePort());
    const picked = [...ports];
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [picked[2 * i]!, picked[2 * i + 1]!];
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--cluster-port', String(busPort),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--dir', dir,
          '--save', '',
          '--appendonly', 'no',
          '--daemonize', 'no',
          '--loglevel', 'warning',
        ],
        { stdio: 'ignore' },
      );
      child.on('error', (err) => (spawnError ??= err)); // e.g. ENOENT: no redis-server on PATH
      children.push(child);
      nodes.push({ port, busPort, pid: child.pid! });
    }
    await Promise.all(nodes.map((n, i) => answersPing(n.port, children[i]!, () => spawnError)));
    await createCluster(nodes.map((n) => n.port));
    // `--cluster create` returns once the slots are assigned; a node says
    // cluster_state:ok once it has heard over the bus that every slot is served.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => admin(n.port).cluster('INFO').then(String, () => '')));
      if (infos.every((info) => /^cluster_state:ok\r?$/m.test(info))) break;
      if (Date.now() > deadline) throw new Error(`the bench's Redis Cluster did not reach cluster_state:ok within ${READY_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
    log(`private Redis Cluster: ${masters} masters on ${nodes.map((n) => `${n.port} (pid ${n.pid})`).join(', ')}, in ${dir}`);
  } catch (err) {
    await stop();
    throw err;
  }

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
    stop,
  };
}

async function answersPing(port: number, child: ChildProcess, spawnError: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failed = spawnError();
    if (failed) throw new Error(`could not start redis-server: ${failed.message} (is it installed?)`);
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode} (is it installed?)`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server listens
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(20);
  }
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
