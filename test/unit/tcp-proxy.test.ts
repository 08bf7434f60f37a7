import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/** The proxy's reply delay, on an echo server: the client's bytes go through at once, the echo waits. */
let echo: Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = await startTcpProxy({ host: '127.0.0.1', port: (echo.address() as { port: number }).port });
});
afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

/** A client of the proxy that notes when each byte of the echo came back. */
async function client(): Promise<{ socket: Socket; heard: Array<{ text: string; at: number }>; text: () => string }> {
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  const heard: Array<{ text: string; at: number }> = [];
  socket.on('data', (chunk) => heard.push({ text: String(chunk), at: performance.now() }));
  return { socket, heard, text: () => heard.map((h) => h.text).join('') };
}

describe('a TCP proxy with its replies delayed', () => {
  it('holds each reply for the delay, and passes them on at once again after restore()', async () => {
    const c = await client();
    proxy.delay(150);
    const sent = performance.now();
    c.socket.write('one');
    await pollUntil('the echo', () => c.text() === 'one');
    expect(c.heard[0]!.at - sent).toBeGreaterThanOrEqual(145);

    await proxy.restore();
    const again = performance.now();
    c.socket.write('two');
    await pollUntil('the second echo', () => c.text() === 'onetwo');
    expect(c.heard.at(-1)!.at - again).toBeLessThan(100);
    c.socket.destroy();
  });

  it('keeps replies in order when a later one is given a shorter delay', async () => {
    const c = await client();
    const delays = [300, 10, 10];
    proxy.delay(() => delays.shift() ?? 0);
    c.socket.write('a');
    await pollUntil('the first reply queued', () => delays.length === 2);
    c.socket.write('b');
    await pollUntil('the second reply queued', () => delays.length === 1);
    c.socket.write('c');
    await pollUntil('every echo', () => c.text().length === 3, 2_000);
    expect(c.text()).toBe('abc');
    await proxy.restore();
    c.socket.destroy();
  });

  it('passes on what it holds, in order, at restore()', async () => {
    const c = await client();
    let arrived = 0;
    proxy.delay(() => (arrived++, 10_000));
    c.socket.write('held');
    await pollUntil('the echo at the proxy', () => arrived === 1);
    expect(c.text()).toBe('');
    const restored = performance.now();
    await proxy.restore();
    await pollUntil('the held echo', () => c.text() === 'held');
    expect(c.heard[0]!.at - restored).toBeLessThan(100);
    c.socket.destroy();
  });
});
