import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './free-port';
import { pollUntil } from './process';
import { answersPing } from './redis-server';

/**
 * A Redis Cluster of one's own on this machine, for the tests and the bench (the
 * service itself never starts one): `masters` redis-server processes with
 * --cluster-enabled yes, no replicas and no persistence, on free ports, their cluster
 * files in one temporary directory, joined by `redis-cli --cluster create`. Only these
 * processes are ever signalled, by PID; `stop()` kills them and removes the directory.
 */
export interface LocalCluster {
  readonly dir: string;
  /** In start order; a restarted node keeps its entry, with its new process. */
  readonly nodes: LocalClusterNode[];
  /** SIGKILLs the node on `port` and waits for it to exit. */
  kill(port: number): Promise<void>;
  /**
   * Starts a killed node again on the same ports with the same cluster config file:
   * it comes back as itself (its id, its epoch, its slots), empty. Resolves once every
   * node says cluster_state:ok.
   */
  restart(port: number): Promise<void>;
  /** Kills every node and removes the directory; safe to call more than once. */
  stop(): Promise<void>;
}

export interface LocalClusterNode {
  port: number;
  /** The cluster bus port, chosen too: the default (port + 10000) may pass 65535. */
  busPort: number;
  process: ChildProcess;
}

const READY_TIMEOUT_MS = 20_000;

export interface LocalClusterOptions {
  dirPrefix: string;
  /**
   * cluster-node-timeout (Redis's default, 15 s, when left out). A node unreachable
   * this long is marked FAIL by the others, and then, with no replica to fail over to,
   * every node says CLUSTERDOWN, the live masters too (cluster-require-full-coverage).
   * Worse for a test: a FAIL flag on a master that serves slots is cleared only twice
   * this long after it was set, however soon the node is back (Redis's
   * CLUSTER_FAIL_UNDO_TIME_MULT). A test that kills a node for a while and wants the
   * other masters serving sets this above its longest outage.
   */
  nodeTimeoutMs?: number;
}

export async function startLocalCluster(masters: number, options: LocalClusterOptions): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix));
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 15_000;
  const nodes: LocalClusterNode[] = [];
  let stopped: Promise<void> | undefined;

  const start = async (port: number, busPort: number): Promise<ChildProcess> => {
    const child = spawnNode(dir, port, busPort, nodeTimeoutMs);
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError ??= err)); // ENOENT: no redis-server on PATH
    const answered = await pollUntil(
      () => answersPing({ host: '127.0.0.1', port }),
      Date.now() + READY_TIMEOUT_MS,
      () => spawnError !== undefined || child.exitCode !== null,
    );
    if (!answered) {
      const why = spawnError ? spawnError.message : child.exitCode !== null ? `it exited with ${child.exitCode}` : `no answer within ${READY_TIMEOUT_MS / 1000} s`;
      throw new Error(`redis-server on port ${port} did not start: ${why} (is redis-server installed?)`);
    }
    return child;
  };

  const cluster: LocalCluster = {
    dir,
    nodes,
    async kill(port) {
      const node = nodeOn(nodes, port);
      if (node.process.exitCode !== null || node.process.signalCode !== null) return;
      const exited = once(node.process, 'exit');
      node.process.kill('SIGKILL');
      await exited;
    },
    async restart(port) {
      const node = nodeOn(nodes, port);
      if (node.process.exitCode === null && node.process.signalCode === null) throw new Error(`the node on port ${port} is still running`);
      node.process = await start(node.port, node.busPort);
      // If the others had marked it FAIL, they clear the flag only 2 × node timeout after setting it.
      await everyNodeOk(nodes, READY_TIMEOUT_MS + 2 * nodeTimeoutMs);
    },
    stop: () =>
      (stopped ??= (async () => {
        await Promise.all(nodes.map((n) => cluster.kill(n.port)));
        await rm(dir, { recursive: true, force: true });
      })()),
  };

  try {
    const ports = await distinctFreePorts(masters * 2);
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [ports[2 * i]!, ports[2 * i + 1]!];
      nodes.push({ port, busPort, process: await start(port, busPort) });
    }
    await createCluster(nodes.map((n) => n.port));
    // `--cluster create` returns once the slots are assigned; each node says
    // cluster_state:ok only once it has heard, over the bus, that every slot is served.
    await everyNodeOk(nodes);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function nodeOn(nodes: LocalClusterNode[], port: number): LocalClusterNode {
  const node = nodes.find((n) => n.port === port);
  if (!node) throw new Error(`no node of this cluster on port ${port}`);
  return node;
}

function spawnNode(dir: string, port: number, busPort: number, nodeTimeoutMs: number): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port', String(port),
      '--cluster-port', String(busPort),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
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

async function everyNodeOk(nodes: readonly LocalClusterNode[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const ok = await pollUntil(async () => {
    const infos = await Promise.all(nodes.map((n) => clusterInfo(n.port)));
    return infos.every((info) => /^cluster_state:ok\r?$/m.test(info));
  }, Date.now() + timeoutMs);
  if (!ok) throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${timeoutMs / 1000} s`);
}

async function clusterInfo(port: number): Promise<string> {
  const connection = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  connection.on('error', () => {});
  try {
    await connection.connect();
    return String(await connection.cluster('INFO'));
  } catch {
    return '';
  } finally {
    connection.disconnect();
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
