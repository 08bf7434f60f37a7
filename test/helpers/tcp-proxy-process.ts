import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/**
 * The proxy of tcp-proxy.ts in a process of its own, driven over IPC. In the test's
 * process a proxy shares the event loop with everything the test does, and a busy
 * moment there (a burst of clients, the garbage collector) holds the proxied bytes
 * up: a fault nobody asked for. Out here it is a clean wire until told otherwise.
 * Only this child is ever signalled, by its PID; it also exits when its parent does.
 */
export interface TcpProxyProcess {
  port: number;
  pid: number;
  blackhole(): Promise<void>;
  cut(): Promise<void>;
  /** Each chunk of every reply waits `ms`, or a time drawn evenly from [min, max] for each chunk. */
  delay(ms: number | { min: number; max: number }): Promise<void>;
  restore(): Promise<void>;
  /** Closes the proxy and waits for its process to exit. */
  close(): Promise<void>;
}

type Command = { op: 'blackhole' | 'cut' | 'restore' | 'close' } | { op: 'delay'; ms: number | { min: number; max: number } };
export type ProxyCommand = Command & { id: number };
export type ProxyReply = { ready: number } | { id: number; error?: string };

export async function startTcpProxyProcess(target: { host: string; port: number }): Promise<TcpProxyProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', resolve(__dirname, 'tcp-proxy-main.ts')], {
    cwd: resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH, PROXY_TARGET_HOST: target.host, PROXY_TARGET_PORT: String(target.port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await ready(child);
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  child.on('message', (reply: ProxyReply) => {
    if (!('id' in reply)) return;
    const call = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error) call?.reject(new Error(reply.error));
    else call?.resolve();
  });
  child.once('exit', () => {
    for (const call of waiting.values()) call.reject(new Error('the proxy process exited'));
    waiting.clear();
  });

  let nextId = 0;
  const command = (op: Command) =>
    new Promise<void>((resolveCall, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error('the proxy process has exited'));
      const id = ++nextId;
      waiting.set(id, { resolve: resolveCall, reject });
      child.send({ ...op, id });
    });

  return {
    port,
    pid: child.pid!,
    blackhole: () => command({ op: 'blackhole' }),
    cut: () => command({ op: 'cut' }),
    delay: (ms) => command({ op: 'delay', ms }),
    restore: () => command({ op: 'restore' }),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      await command({ op: 'close' }).catch(() => {});
      await exited;
    },
  };
}

async function ready(child: ChildProcess): Promise<number> {
  return new Promise((resolveReady, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the proxy process exited with ${code} before it listened`));
    child.once('exit', onExit);
    child.once('message', (reply: ProxyReply) => {
      child.off('exit', onExit);
      if ('ready' in reply) resolveReady(reply.ready);
      else reject(new Error(`the proxy process said ${JSON.stringify(reply)} before it listened`));
    });
  });
}
