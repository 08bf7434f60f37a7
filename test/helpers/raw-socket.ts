import WebSocket from 'ws';

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
  /** Checks waiting for a frame or the close: each runs again on every event until it is satisfied. */
  private readonly waiters = new Set<() => boolean>();
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closeEvent = { code, reason: String(reason) };
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters) if (waiter()) this.waiters.delete(waiter);
  }

  /** Resolves with what `check` finds, as soon as an event makes it find something, or fails after `timeoutMs`. */
  private until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (received: ${JSON.stringify(this.frames).slice(-500)})`));
      }, timeoutMs);
      const waiter = () => {
        const found = check();
        if (found === undefined) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      if (!waiter()) this.waiters.add(waiter);
    });
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
    return this.until('a matching frame', () => this.frames.find(match), timeoutMs);
  }

  /** The frame that ended operation `id`: its `error`, or its `complete`. */
  ended(id: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.id === id && (f.type === 'error' || f.type === 'complete'), timeoutMs);
  }

  /** The frame that ended operation `id`, or undefined once the socket has closed without one. */
  async settled(id: string, timeoutMs = 5_000): Promise<Frame | undefined> {
    const end = (f: Frame) => f.id === id && (f.type === 'error' || f.type === 'complete');
    const outcome = await this.until(`operation ${id} to end or the socket to close`, () => this.frames.find(end) ?? this.closeEvent, timeoutMs);
    return 'type' in outcome ? outcome : undefined;
  }

  closed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return this.until('the socket to close', () => this.closeEvent, timeoutMs);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.socket.terminate();
  }
}
