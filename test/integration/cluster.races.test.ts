import { afterAll, beforeAll, describe, it } from 'vitest';
import { createClusterTestCore } from '../helpers/core';
import { clusterUnavailableReason, startPrivateCluster, type PrivateCluster } from '../helpers/redis-cluster';
import { describeWriteThroughRaces } from './shared/writethrough-races';

/**
 * The same races as writethrough.races.test.ts, unchanged, on a private 3-master
 * Redis Cluster: the compare-and-set is single-key, so it runs on whichever master
 * holds the key, and the newest version still wins however the writes arrive.
 */
const skipped = clusterUnavailableReason();

describe.skipIf(skipped !== undefined)('write-through races on a Redis Cluster (3 masters)', () => {
  let cluster: PrivateCluster | undefined;
  beforeAll(async () => {
    cluster = await startPrivateCluster(3);
  });
  afterAll(() => cluster?.dispose());

  describeWriteThroughRaces((options) => createClusterTestCore(cluster!.seeds, { ...options, settings: { writeRetries: 0 } }));
});

if (skipped) it.skip(`cluster races skipped: ${skipped}`, () => {});
