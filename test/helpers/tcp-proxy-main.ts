import type { ProxyCommand, ProxyReply } from './tcp-proxy-process';
import { startTcpProxy } from './tcp-proxy';

/** The child of tcp-proxy-process.ts: one proxy, each command answered once done. */
async function main(): Promise<void> {
  const proxy = await startTcpProxy({ host: process.env.PROXY_TARGET_HOST!, port: Number(process.env.PROXY_TARGET_PORT) });
  const reply = (message: ProxyReply, then?: () => void) => process.send!(message, undefined, {}, then);
  // The parent is gone (or done with it): nothing is left to proxy for.
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (command: ProxyCommand) => {
    try {
      if (command.op === 'blackhole') proxy.blackhole();
      else if (command.op === 'delay') {
        const { ms } = command;
        proxy.delay(typeof ms === 'number' ? ms : () => ms.min + Math.random() * (ms.max - ms.min));
      } else await proxy[command.op]();
      // Closed: answered, then gone (the 'disconnect' above).
      reply({ id: command.id }, command.op === 'close' ? () => process.disconnect() : undefined);
    } catch (err) {
      reply({ id: command.id, error: String(err) });
    }
  });
  reply({ ready: proxy.port });
}

void main();
