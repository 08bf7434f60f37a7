import type { IncomingMessage } from 'node:http';
import type { Context as SocketContext } from 'graphql-ws';
import type { WebSocket } from 'ws';

export interface WebSocketLimits {
  /** Open sockets at most; one more is refused at the upgrade (503). */
  maxConnections: number;
  /** A socket with no operation running for this long is closed (1000, "idle"); 0: never. */
  idleMs: number;
}

/** The close of an idle socket: a normal closure, which graphql-ws clients reopen when they next need one. */
export const IDLE_CLOSE = { code: 1000, reason: 'idle for too long' } as const;

/**
 * Bounds on graphql-ws sockets. Without them a socket costs nothing to keep: one that
 * never sends connection_init is closed by graphql-ws after 3 s (4408), but one that
 * does, with or without a token, stayed open for ever, and any number of them could.
 * So a socket with nothing running is closed once it has been idle for `idleMs` (a
 * live subscription is never idle), and past `maxConnections` the upgrade is refused.
 */
export function websocketBounds(limits: WebSocketLimits, openSockets: () => number) {
  return {
    /** For ws's `verifyClient`: undefined to accept, or the refusal. */
    refusal(_req: IncomingMessage): { status: number; body: string } | undefined {
      if (openSockets() < limits.maxConnections) return undefined;
      const error = { message: `the server has ${limits.maxConnections} WebSocket connections open; try again shortly`, extensions: { code: 'TOO_MANY_CONNECTIONS' } };
      return { status: 503, body: JSON.stringify({ errors: [error] }) };
    },

    /** graphql-ws's onConnect: starts watching the socket for idleness. */
    watch(ctx: SocketContext<Record<string, unknown>, { socket?: WebSocket }>): void {
      const socket = ctx.extra.socket;
      if (!socket || limits.idleMs <= 0) return;
      let lastActive = Date.now();
      socket.on('message', () => (lastActive = Date.now()));
      // Checked a few times per idle period: a timer per socket, not per message.
      const check = setInterval(() => {
        if (Object.keys(ctx.subscriptions).length > 0) lastActive = Date.now();
        else if (Date.now() - lastActive >= limits.idleMs) socket.close(IDLE_CLOSE.code, IDLE_CLOSE.reason);
      }, Math.max(10, Math.min(limits.idleMs / 4, 10_000)));
      check.unref();
      socket.once('close', () => clearInterval(check));
    },
  };
}
