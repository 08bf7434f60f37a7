export type WriteOperation = 'create' | 'update' | 'delete';

/**
 * A committed write whose cache update failed after the bounded retry. MySQL holds
 * the truth; the cache may hold an older version (or, after a timeout, the new one:
 * the outcome of a timed-out write is unknown).
 */
export interface WriteThroughFailure {
  id: string;
  entity: string;
  entityId: number;
  operation: WriteOperation;
  /** The committed version the cache should have held. */
  version: number;
  error: string;
  occurredAt: Date;
  instance: string;
}

export type FailureListener = (failure: WriteThroughFailure) => void;

/**
 * Where failed cache writes are announced. Listeners run synchronously, in order;
 * one that throws does not stop the others, and its error goes to `onListenerError`
 * rather than into the mutation that reported the failure.
 */
export class FailureEvents {
  private readonly listeners = new Set<FailureListener>();
  /** Event ids count up from 1 in this process, so "after id N" has a meaning. */
  private sequence = 0;

  constructor(private readonly onListenerError: (err: unknown, failure: WriteThroughFailure) => void) {}

  /** Returns a function that removes the listener. */
  subscribe(listener: FailureListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(failure: Omit<WriteThroughFailure, 'id'>): WriteThroughFailure {
    const event = { id: String(++this.sequence), ...failure };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
    return event;
  }
}
