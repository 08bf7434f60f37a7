import Redis from 'ioredis';
import { startPrivateRedis } from '../helpers/redis-server';
import { describeThreeInstances } from './shared/three-instances';

/**
 * Three service processes on one MySQL database and one Redis. Breaking the cache is
 * killing that Redis; restoring it, restarting it (it keeps nothing, so what it held
 * is gone: the repairs set the keys again).
 */
describeThreeInstances('one Redis', async () => {
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url, { lazyConnect: true });
  return {
    env: { REDIS_URL: redis.url },
    async get(key) {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      return client.get(key);
    },
    breakWrites: async () => {
      client.disconnect();
      await redis.kill();
    },
    restoreWrites: () => redis.restart(),
    async dispose() {
      client.disconnect();
      await redis.kill();
    },
  };
});
