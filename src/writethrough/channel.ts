/**
 * An async iterator fed by pushes: what a subscription hands to graphql-ws.
 *
 * Written out rather than as an async generator because a generator that is
 * suspended on an `await` cannot be returned until it resumes: a client that
 * unsubscribes while no event comes would keep its listener until the next one.
 * Here `return()` closes at once.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private closed = false;
  private failure: Error | undefined;

  /**
   * `onClose` runs once, however the channel ends. A consumer that falls more than
   * `capacity` values behind is cut off with an error rather than let the buffer grow
   * without bound.
   */
  constructor(
    private readonly onClose: () => void,
    private readonly capacity = 10_000,
  ) {}

  push(value: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
    } else if (this.buffer.length < this.capacity) {
      this.buffer.push(value);
    } else {
      this.fail(new Error(`subscriber fell more than ${this.capacity} events behind; resubscribe with \`after\``));
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private fail(error: Error): void {
    this.failure = error;
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }
}
