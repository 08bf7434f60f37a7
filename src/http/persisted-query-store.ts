import type { RedisClient } from '../cache/redis-client';
import type { CoreLogger } from '../writethrough/logger';

/**
 * Where Apollo keeps automatic persisted queries (APQ): in Redis, under the
 * service's key prefix, so that a query registered through one instance is known to
 * all. Apollo's KeyValueCache, over the service's own Redis connection (its timeouts,
 * no offline queue). A store that fails answers "not found": the client then sends
 * the full query again, which is slower, never wrong. Single-key commands only, so
 * on a Redis Cluster each goes to the node that holds its key.
 */
export class PersistedQueryStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly logger: CoreLogger,
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.prefix + key)) ?? undefined;
    } catch (err) {
      this.logger.warn({ err }, 'persisted query lookup failed; the client will resend the query');
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    try {
      if (options?.ttl) await this.redis.set(this.prefix + key, value, 'EX', options.ttl);
      else await this.redis.set(this.prefix + key, value);
    } catch (err) {
      this.logger.warn({ err }, 'could not store a persisted query');
    }
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.prefix + key).catch(() => 0)) > 0;
  }
}
