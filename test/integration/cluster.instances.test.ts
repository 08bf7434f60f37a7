import Redis from 'ioredis';
import { clusterUnavailableReason, startPrivateCluster } from '../helpers/redis-cluster';
import { describeThreeInstances } from './shared/three-instances';

/**
 * Three service processes on one MySQL database and one private 3-master Redis
 * Cluster. Breaking the cache is `CLIENT PAUSE … WRITE` on every master: reads still
 * answer, every compare-and-set waits past the command timeout and fails. Restoring
 * it is `CLIENT UNPAUSE`; the scripts that waited then run, and lose or win on
 * version like any other write, which is why a failure's repair is safe either way.
 */
describeThreeInstances(
  'a Redis Cluster of three masters',
  async () => {
    const cluster = await startPrivateCluster(3);
    const client = new Redis.Cluster(cluster.seeds);
    const everyMaster = (...args: [string, ...string[]]) => Promise.all(cluster.nodes.map((n) => cluster.admin(n.port).call('CLIENT', ...args)));
    return {
      env: { REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',') },
      get: (key) => client.get(key),
      breakWrites: async () => void (await everyMaster('PAUSE', '60000', 'WRITE')),
      restoreWrites: async () => void (await everyMaster('UNPAUSE')),
      async dispose() {
        client.disconnect();
        await cluster.dispose();
      },
    };
  },
  clusterUnavailableReason(),
);
