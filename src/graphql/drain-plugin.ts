import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ApolloServerPlugin } from '@apollo/server';

/**
 * On stop: stop listening; close each connection nothing of a request has been read
 * from (a kept-alive one between requests, or a new one whose request has not arrived:
 * none of its requests has run, so its client may safely send it again); answer every
 * request that has begun to arrive, with `Connection: close`, and close its connection
 * after the answer. main.ts's SHUTDOWN_TIMEOUT_MS bounds how long that may take.
 *
 * Apollo's ApolloServerPluginDrainHttpServer does not do this: it half-closes (FIN)
 * every connection with no request under way, but Node goes on reading from it, so a
 * request that was on its way still runs and its answer cannot be sent (the client
 * sees "socket hang up" for an operation that was executed); and it destroys every
 * connection after a fixed 10 s, whatever SHUTDOWN_TIMEOUT_MS says.
 */
export function drainHttpServer(httpServer: Server): ApolloServerPlugin {
  let draining = false;
  const connections = new Set<Socket>();
  const responses = new Set<ServerResponse>();
  httpServer.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // Ahead of the routes, so that the header is set before anything is sent.
  httpServer.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
    responses.add(res);
    res.once('close', () => responses.delete(res));
    // A response whose headers had gone out with keep-alive before the drain began
    // leaves its connection idle: close it (Node has already detached it here).
    res.once('finish', () => draining && httpServer.closeIdleConnections());
  });
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          draining = true;
          for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
          // close() also destroys the kept-alive connections that are between requests.
          const closed = new Promise<void>((resolve, reject) => httpServer.close((err) => (err ? reject(err) : resolve())));
          for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
          await closed;
        },
      };
    },
  };
}
