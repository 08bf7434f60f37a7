import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingRedis } from '../../src/cache/redis-client';
import { PersistedQueryStore } from '../../src/http/persisted-query-store';
import { auditEntity } from '../../src/tools/audit';
import { cachedEntities, type CachedEntity } from '../../src/tools/entities';
import { warmEntity } from '../../src/tools/warm';
import { createClusterTestCore, silentLogger, type TestCore } from '../helpers/core';
import { runTool } from '../helpers/tool-process';
import { clusterUnavailableReason, startPrivateCluster, type PrivateCluster } from '../helpers/redis-cluster';

/**
 * Everything else that talks to Redis directly, on a private 3-master cluster:
 * cache:warm and cache:audit (whose SCAN must visit every master), the persisted
 * query store, and the readiness check.
 */
const skipped = clusterUnavailableReason();

describe.skipIf(skipped !== undefined)('the tools and the edge on a Redis Cluster', () => {
  let cluster: PrivateCluster;
  let t: TestCore<Cluster>;
  let user: CachedEntity;
  let ids: number[];

  beforeAll(async () => {
    cluster = await startPrivateCluster(3);
    t = await createClusterTestCore(cluster.seeds);
    user = cachedEntities(t.core).user;
    const values = Array.from({ length: 60 }, (_, i) => [`Clustered ${i}`, `clustered${i}@example.com`]);
    await t.pool.query('INSERT INTO users (name, email) VALUES ?', [values]);
    const [rows] = await t.pool.query('SELECT id FROM users ORDER BY id');
    ids = (rows as Array<{ id: number }>).map((r) => r.id);
  });
  afterAll(async () => {
    await t?.close();
    await cluster?.dispose();
  });

  it('warms every row onto the master that serves its key', async () => {
    const summary = await warmEntity({ db: t.db, cache: t.core.cache }, user, { chunk: 25 });
    expect(summary).toMatchObject({ rows: 60, set: 60, failed: 0 });
    const perNode = new Map<number, number>();
    for (const id of ids) {
      const port = await cluster.ownerOf(calculateSlot(user.layout.key(id)));
      expect(await cluster.admin(port).exists(user.layout.key(id))).toBe(1);
      perNode.set(port, (perNode.get(port) ?? 0) + 1);
    }
    expect(perNode.size).toBe(3);
  });

  it('audits the keys of every master, and fixes drift wherever it is', async () => {
    // One stale key per master: MySQL changed behind the cache's back.
    const stale: number[] = [];
    const seen = new Set<number>();
    for (const id of ids) {
      const port = await cluster.ownerOf(calculateSlot(user.layout.key(id)));
      if (seen.has(port)) continue;
      seen.add(port);
      stale.push(id);
    }
    await t.pool.query("UPDATE users SET name = 'Renamed behind the cache', version = version + 1 WHERE id IN (?)", [stale]);

    const report = await auditEntity({ db: t.db, cache: t.core.cache, redis: t.redis }, user, { fix: true, batch: 7 });
    expect(report).toMatchObject({ keys: 60, ok: 57, stale: [...stale].sort((a, b) => a - b), orphaned: [], missing: 0 });
    expect(report.fixed).toMatchObject({ stale: 3, failed: 0 });
    expect(await auditEntity({ db: t.db, cache: t.core.cache, redis: t.redis }, user)).toMatchObject({ keys: 60, ok: 60, drift: 0 });
  });

  it('runs cache:warm and cache:audit as commands against the cluster', async () => {
    const env = {
      MYSQL_URL: t.database.url,
      REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(','),
      KEY_PREFIX: t.settings.keyPrefix,
      NODE_ENV: 'test',
    };
    expect(await runTool('scripts/cache-warm.ts', ['user'], env)).toMatchObject({ code: 0, stderr: '' });
    // Every key, from all three masters' SCANs, and no drift.
    expect(await runTool('scripts/cache-audit.ts', ['user'], env)).toMatchObject({
      code: 0,
      stdout: 'user: 60 keys, 60 ok, 0 stale, 0 orphaned, 0 missing — no drift\n',
      stderr: '',
    });
  });

  it('keeps persisted queries on the cluster', async () => {
    const store = new PersistedQueryStore(t.redis, t.settings.keyPrefix, silentLogger);
    const hashes = Array.from({ length: 10 }, (_, i) => `apq:hash-${i}`);
    for (const hash of hashes) await store.set(hash, `{ q${hash.length} }`, { ttl: 60 });
    for (const hash of hashes) expect(await store.get(hash)).toBe(`{ q${hash.length} }`);
    expect(await store.delete(hashes[0]!)).toBe(true);
    expect(await store.get(hashes[0]!)).toBeUndefined();
  });

  it('is ready only while every master answers', async () => {
    await expect(pingRedis(t.redis)).resolves.toBeUndefined();
    const pinged = t.redis.nodes('master').map((m) => m.options.port);
    expect(pinged.sort()).toEqual(cluster.nodes.map((n) => n.port).sort());
    await cluster.killNode(cluster.nodes[1]!.port);
    await expect(pingRedis(t.redis)).rejects.toThrow();
  });
});

if (skipped) it.skip(`cluster tools skipped: ${skipped}`, () => {});
