import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { bindAddress, endpointOf } from './endpoint';
import { launch } from './launch';
import { findExecutable } from './process';
import type { Context, Endpoint, PrivateServer, ServiceSpec } from './types';

export function redisSpec(url: string): ServiceSpec {
  return {
    name: 'redis',
    label: 'Redis',
    envVar: 'REDIS_URL',
    url,
    defaultPort: 6379,
    endpoint: endpointOf(url, 6379, 'REDIS_URL'),
    isReady: answersPing,
    startPrivate: startPrivateRedis,
  };
}

async function startPrivateRedis(ep: Endpoint, ctx: Context): Promise<PrivateServer | undefined> {
  const server = await findExecutable(['redis-server'], ctx.searchDirs);
  if (!server) return undefined;
  const dir = join(ctx.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const logFile = join(ctx.dataDir, 'redis.log');
  const pidFile = join(ctx.dataDir, 'redis.pid');
  const args = [
    '--port', String(ep.port),
    '--bind', bindAddress(ep.host),
    '--daemonize', 'no',
    '--dir', dir,
    // A cache: nothing in it is worth a snapshot, and skipping them keeps the disk quiet.
    '--save', '',
    '--appendonly', 'no',
    '--logfile', logFile,
    '--pidfile', pidFile,
  ];
  return launch({ command: server, args, logFile, pidFile }, () => answersPing(ep), ctx);
}

/** Redis accepts connections while it loads its dataset and answers -LOADING until done; only +PONG means ready. */
export function answersPing(ep: Pick<Endpoint, 'host' | 'port'>, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ep.host, port: ep.port, timeout: timeoutMs });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}
