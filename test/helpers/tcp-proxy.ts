import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a free local port in front of a server, for faults a real process
 * cannot fake: `blackhole()` keeps every connection open but forwards nothing (a
 * network that stops answering), `cut()` drops every connection and refuses new
 * ones (a server gone), `delay()` holds the server's replies back before passing
 * them on (a slow link, or a server slow to answer one client), `restore()`
 * forwards again, at once.
 *
 * A blackhole holds bytes back rather than dropping them: TCP never loses part of a
 * stream, it retransmits once the network heals, so what was sent arrives late.
 *
 * A delay holds only what the server sends: the requests reach it at once and run,
 * and the client hears of them late (or, past its timeout, never). Each chunk waits
 * for the delay there is when it arrives, and never overtakes the one before it.
 */
export interface TcpProxy {
  port: number;
  blackhole(): void;
  cut(): Promise<void>;
  /** From now on each chunk of every reply waits `ms` (or what the function returns for it) before it is passed on. */
  delay(ms: number | (() => number)): void;
  /** Ends a blackhole, a cut or a delay: whatever is held is passed on, in order. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const replies = new Set<ReplyLine>();
  let holed = false;
  let delayFor: () => number = () => 0;
  let server = await listen(0);
  const port = (server.address() as { port: number }).port;

  function listen(onPort: number): Promise<Server> {
    const s = createServer((client) => {
      const upstream = connect(target);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {}); // the other side's close reports it
      }
      client.pipe(upstream);
      const line = replyLine(client, () => delayFor(), () => holed);
      replies.add(line);
      // What the client cannot take yet waits in the server's socket, as a pipe would have it.
      upstream.on('data', (chunk: Buffer) => {
        if (!line.send(chunk)) upstream.pause();
      });
      client.on('drain', () => {
        if (!holed) upstream.resume();
      });
      upstream.on('end', () => line.end());
      if (holed) [client, upstream].forEach((socket) => socket.pause());
      client.on('close', () => {
        upstream.destroy();
        line.discard();
        replies.delete(line);
      });
      upstream.on('close', () => client.destroy());
    });
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(onPort, '127.0.0.1', () => resolve(s));
    });
  }

  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

  return {
    port,
    blackhole: () => {
      holed = true;
      for (const socket of sockets) socket.pause();
    },
    async cut() {
      const closed = stopListening();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    delay(ms) {
      delayFor = typeof ms === 'number' ? () => ms : ms;
    },
    async restore() {
      holed = false;
      delayFor = () => 0;
      for (const line of replies) line.flush();
      for (const socket of sockets) socket.resume();
      if (!server.listening) server = await listen(port);
    },
    async close() {
      const closed = stopListening();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

interface ReplyLine {
  /** False when the client's socket is full (the chunk is written all the same). */
  send(chunk: Buffer): boolean;
  /** The server closed its side: the client's is closed once what is held has gone out. */
  end(): void;
  /** Passes on everything held, now (unless a blackhole holds it). */
  flush(): void;
  discard(): void;
}

/**
 * One connection's replies, server to client: passed on at once while there is no
 * delay and nothing waits, else queued with the time each may leave, which is never
 * before the time of the one ahead of it, so order is kept whatever the delays.
 * While a blackhole holds the connection nothing leaves; `restore()` flushes.
 */
function replyLine(client: Socket, delayFor: () => number, holed: () => boolean): ReplyLine {
  const queue: Array<{ chunk: Buffer; at: number }> = [];
  let timer: NodeJS.Timeout | undefined;
  let ending = false;

  const release = () => {
    timer = undefined;
    if (holed()) return;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) client.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(release, queue[0]!.at - now);
    else if (ending) client.end();
  };

  return {
    send(chunk) {
      const ms = delayFor();
      if (ms <= 0 && queue.length === 0 && !holed()) return client.write(chunk);
      const at = Math.max(performance.now() + ms, queue.at(-1)?.at ?? 0);
      queue.push({ chunk, at });
      timer ??= setTimeout(release, at - performance.now());
      return true;
    },
    end() {
      ending = true;
      if (queue.length === 0) client.end();
    },
    flush() {
      clearTimeout(timer);
      timer = undefined;
      for (const { chunk } of queue.splice(0)) client.write(chunk);
      if (ending) client.end();
    },
    discard() {
      clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
    },
  };
}
