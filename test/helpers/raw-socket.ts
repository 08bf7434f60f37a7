import WebSocket from 'ws';
import { pollUntil } from './poll';

export interface Frame {
  type: string;
  id?: string;
  payload?: any;
}

/**
 * A graphql-transport-ws socket driven frame by frame, to send what no well-behaved
 * client would and read exactly what the server answers.
 */
export class RawSocket {
  readonly frames: Frame[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    socket.on('close', (code, reason) => (this.closeEvent = { code, reason: String(reason) }));
  }

  /**
   * Opens the socket (asking for graphql-transport-ws, or for no subprotocol with
   * `protocol: null`); unless `init` is false, also sends connection_init (with the
   * token, if any) and waits for the ack.
   */
  static async open(httpUrl: string, options: { init?: boolean; token?: string; protocol?: null } = {}): Promise<RawSocket> {
    const url = httpUrl.replace(/^http/, 'ws');
    const socket = options.protocol === null ? new WebSocket(url) : new WebSocket(url, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const raw = new RawSocket(socket);
    if (options.init !== false) {
      raw.send({ type: 'connection_init', payload: options.token ? { authorization: `Bearer ${options.token}` } : {} });
      await raw.next((f) => f.type === 'connection_ack');
    }
    return raw;
  }

  send(frame: Frame | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  subscribe(id: string, payload: { query: string; variables?: unknown; operationName?: string; extensions?: unknown }): void {
    this.send({ id, type: 'subscribe', payload });
  }

  /** The first frame received (so far or later) that matches, or fails after `timeoutMs`. */
  next(match: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    return pollUntil(`a matching frame (received: ${JSON.stringify(this.frames).slice(0, 500)})`, () => this.frames.find(match), timeoutMs);
  }

  /** The frame that ended operation `id`: its `error`, or its `complete`. */
  ended(id: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.id === id && (f.type === 'error' || f.type === 'complete'), timeoutMs);
  }

  closed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return pollUntil('the socket to close', () => this.closeEvent, timeoutMs);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.socket.terminate();
  }
}
