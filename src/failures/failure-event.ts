import type { FailedWrite } from '../writethrough/failures';

/**
 * One entry of the failure feed: a failed cache write was recorded ('failed'), or
 * the repair worker has set its key again ('repaired'). `id` orders the feed across
 * every instance and is what a subscriber passes back as `after`; `failureId` ties a
 * repair to the failure it repairs.
 */
export interface FailureEvent extends FailedWrite {
  id: string;
  failureId: string;
  kind: 'failed' | 'repaired';
  repairedAt: Date | null;
  repairedBy: string | null;
}
