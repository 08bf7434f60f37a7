import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a free local port in front of a server, for faults a real process
 * cannot fake: `blackhole()` keeps every connection open but forwards nothing (a
 * network that stops answering), `cut()` drops every connection and refuses new
 * ones (a server gone), `restore()` forwards again.
 *
 * A blackhole holds bytes back rather than dropping them: TCP never loses part of a
 * stream, it retransmits once the network heals, so what was sent arrives late.
 */
export interface TcpProxy {
  port: number;
  blackhole(): void;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let holed = false;
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
      upstream.pipe(client);
      if (holed) [client, upstream].forEach((socket) => socket.pause());
      client.on('close', () => upstream.destroy());
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
    async restore() {
      holed = false;
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
