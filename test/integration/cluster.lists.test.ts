import { afterAll, beforeAll, describe, it } from 'vitest';
import { createClusterTestCore } from '../helpers/core';
import { clusterUnavailableReason, startPrivateCluster, type PrivateCluster } from '../helpers/redis-cluster';
import { describeListRaces } from './shared/list-races';

/**
 * The association lists' races (lists.writethrough.test.ts), unchanged, on a private
 * 3-master Redis Cluster: a list is one key, so its compare-and-set runs on whichever
 * master holds it, and an order's three lists and two rows land on several masters
 * from one write.
 */
const skipped = clusterUnavailableReason();

describe.skipIf(skipped !== undefined)('association lists on a Redis Cluster (3 masters)', () => {
  let cluster: PrivateCluster | undefined;
  beforeAll(async () => {
    cluster = await startPrivateCluster(3);
  });
  afterAll(() => cluster?.dispose());

  describeListRaces((hooks) => createClusterTestCore(cluster!.seeds, { hooks, settings: { writeRetries: 0 } }));
});

if (skipped) it.skip(`cluster list races skipped: ${skipped}`, () => {});
