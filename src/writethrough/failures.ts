export type WriteOperation = 'create' | 'update' | 'delete';

/**
 * A committed write whose cache update failed after the bounded retry. MySQL holds
 * the truth; the cache may hold an older version (or, after a timeout, the new one:
 * the outcome of a timed-out write is unknown).
 */
export interface FailedWrite {
  entity: string;
  entityId: number;
  /** The write's; `inspection`: no write failed, the consistency inspector found the key wrong (inspector/). */
  operation: WriteOperation | 'inspection';
  /** The committed version the cache should have held. */
  version: number;
  error: string;
  occurredAt: Date;
  instance: string;
}

/** Where the cache writer hands a failed write. It must not lose it, and must not throw. */
export interface FailureReporter {
  report(failure: FailedWrite): Promise<unknown>;
}

