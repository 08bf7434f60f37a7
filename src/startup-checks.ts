/**
 * Checks main.ts makes before it connects for real, so that a mistake in HOST/PORT or
 * MYSQL_URL is found in a moment and named (startup-errors.ts has the words), rather
 * than after the migrations, or as a driver's timeout.
 */
import { connect, createServer } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { connectRedis } from './cache/client';
import { cannotListen, cannotReachMysql, hostPort, notMysql, redisDoesNotAnswer, StartupError } from './startup-errors';

/**
 * Throws a {@link StartupError} when nothing may listen on host:port (in use, not
 * allowed, not an address of this machine). PORT 0 (any free port) needs no check. It
 * only checks: the port is free again when this returns, for the server to take.
 */
export async function checkCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    throw new StartupError(cannotListen(err.code ?? err.message, host, port), { cause: err });
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface MysqlProbeOptions {
  /** How long the TCP connection may take to open (as the migrations' first connection). Default 5 000 ms. */
  connectMs?: number;
  /** How long a server that accepted may take to greet. MySQL greets at once; Redis and HTTP servers never do. Default 2 000 ms. */
  greetingMs?: number;
}

/**
 * Throws a {@link StartupError} unless a MySQL server greets at MYSQL_URL's host and
 * port: nothing there, or something that is not MySQL (a server speaks first in the
 * MySQL protocol, so nothing is ever sent to it). A URL with `?socketPath=` is left to
 * the driver.
 */
export async function checkMysqlAnswers(url: string, options: MysqlProbeOptions = {}): Promise<void> {
  const u = new URL(url);
  if (u.searchParams.has('socketPath')) return;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = u.port ? Number(u.port) : 3306;
  const greetingMs = options.greetingMs ?? 2_000;
  const heard = await firstBytes(host, port, options.connectMs ?? 5_000, greetingMs);
  const at = hostPort(host, port);
  if ('unreachable' in heard) throw new StartupError(cannotReachMysql(heard.unreachable, at));
  if ('silent' in heard) throw new StartupError(notMysql(at, `no greeting within ${greetingMs / 1000} s`));
  if (heard.bytes.length === 0) throw new StartupError(notMysql(at, 'it closed the connection without a greeting'));
  if (!isMysqlGreeting(heard.bytes)) throw new StartupError(notMysql(at, `it sent ${preview(heard.bytes)}`));
}

type Heard = { unreachable: string } | { silent: true } | { bytes: Buffer };

/** The first five bytes the server sends (fewer if it closes first), or why there are none. */
function firstBytes(host: string, port: number, connectMs: number, greetingMs: number): Promise<Heard> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    let connected = false;
    let timer = setTimeout(() => finish({ unreachable: 'ETIMEDOUT' }), connectMs);
    const finish = (heard: Heard) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(heard);
    };
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => finish(received.length > 0 ? { bytes: received } : { silent: true }), greetingMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 5) finish({ bytes: received });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => finish(connected ? { bytes: received } : { unreachable: err.code ?? err.message }));
    socket.once('close', () => finish({ bytes: received }));
  });
}

/**
 * A MySQL packet: three bytes of length, sequence number 0, then a handshake (protocol
 * version 10) or an error packet (0xff: the server refuses this host, or is full),
 * which the driver then reports in its own words.
 */
function isMysqlGreeting(bytes: Buffer): boolean {
  if (bytes.length < 5) return false;
  const length = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
  return length > 0 && length < 0x10000 && bytes[3] === 0 && (bytes[4] === 0x0a || bytes[4] === 0xff);
}

/** What a non-MySQL server said first, printable and short: e.g. "SSH-2.0-OpenSSH_9.6" or "-ERR unknown command". */
function preview(bytes: Buffer): string {
  const text = bytes.subarray(0, 40).toString('latin1').split(/\r?\n/)[0]!.replace(/[^\x20-\x7e]/g, '.');
  return JSON.stringify(text);
}

/**
 * Opens the Redis connection. When Redis does not answer, resolves with the line to
 * warn with (naming the address and the socket's error, not ioredis's "Connection is
 * closed."): the service then serves from MySQL until it does, as it would mid-run.
 */
export async function connectRedisAtStartup(
  redis: Redis | Cluster,
  settings: Parameters<typeof redisDoesNotAnswer>[0],
): Promise<string | undefined> {
  let first: unknown;
  const remember = (err: unknown) => (first ??= err);
  redis.on('error', remember);
  try {
    await connectRedis(redis);
    return undefined;
  } catch (err) {
    return redisDoesNotAnswer(settings, first ?? err);
  } finally {
    redis.off('error', remember);
  }
}
