import type { WriteOperation } from '../writethrough/failures';

/**
 * One entry of the failure feed: a failed cache write was recorded ('failed'), or
 * the repair worker has set its key again ('repaired'). `id` orders the feed across
 * every instance and is what a subscriber passes back as `after`; `failureId` ties a
 * repair to the failure it repairs.
 */
export interface FailureEvent {
  id: string;
  failureId: string;
  kind: 'failed' | 'repaired';
  entity: string;
  entityId: number;
  operation: WriteOperation;
  /** The committed version the cache should hold. */
  version: number;
  error: string;
  /** When the cache write failed, and on which instance. */
  occurredAt: Date;
  instance: string;
  repairedAt: Date | null;
  repairedBy: string | null;
}
