import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig: REDIS_CLUSTER_NODES', () => {
  it('means a single Redis (REDIS_URL) unless set', () => {
    expect(loadConfig({}).redis.clusterNodes).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.clusterNodes).toBeUndefined();
  });

  it('reads comma-separated host:port seed nodes', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2.internal:7001,[::1]:7002' });
    expect(config.redis.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it.each(['10.0.0.1', '10.0.0.1:', ':7000', '10.0.0.1:70000', '10.0.0.1:0', 'redis://10.0.0.1:7000', '10.0.0.1:7000,,10.0.0.2:7000'])(
    'refuses %j in one line naming the variable',
    (value) => {
      const load = () => loadConfig({ REDIS_CLUSTER_NODES: value });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^Invalid configuration: REDIS_CLUSTER_NODES must be a comma-separated list of host:port seed nodes, like 10\.0\.0\.1:7000,10\.0\.0\.2:7000 \(got ".*"\)$/);
    },
  );

  it('refuses a key prefix with a hash tag, which would put every key on one node', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', KEY_PREFIX: '{tl}:' })).toThrow(
      /^Invalid configuration: KEY_PREFIX must not contain "\{" with REDIS_CLUSTER_NODES/,
    );
    expect(loadConfig({ KEY_PREFIX: '{tl}:' }).cache.keyPrefix).toBe('{tl}:'); // harmless on a single server
  });

  it('does not start a local Redis for a cluster', () => {
    expect(loadConfig({ NODE_ENV: 'development', REDIS_CLUSTER_NODES: '10.0.0.1:7000' }).autoStartServices).toBe(false);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', AUTO_START_SERVICES: 'true' })).toThrow(
      /^Invalid configuration: AUTO_START_SERVICES cannot start a Redis Cluster/,
    );
  });
});
