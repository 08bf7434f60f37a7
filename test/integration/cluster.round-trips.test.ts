import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLoader } from '../../src/writethrough/loaders';
import { createClusterTestCore, type TestCore } from '../helpers/core';
import { commandsBetween } from '../helpers/redis-server';
import { clusterUnavailableReason, startPrivateCluster, type PrivateCluster } from '../helpers/redis-cluster';

/**
 * What a batch costs on a private 3-master Redis Cluster, counted on both sides:
 *
 * - on each node, from its own INFO commandstats: MGET calls (one per slot group: the
 *   keys of a batch that hash to one slot) and script calls (one per write);
 * - on the client: pipelines made (one per node a batch touches) and, per master
 *   connection, socket writes (ioredis writes a whole pipeline in one write, so one
 *   write is one round trip to that node);
 * - and SQL statements on MySQL's per-session counter (a pool of one connection).
 */
const skipped = clusterUnavailableReason();

describe.skipIf(skipped !== undefined)('a DataLoader batch on a Redis Cluster (3 masters, no replicas)', () => {
  let cluster: PrivateCluster;
  let t: TestCore<Cluster>;
  /** 95 existing users, shuffled, and 5 ids with no row, mixed in. */
  let ids: number[];
  const missing = [9_000_001, 9_000_002, 9_000_003, 9_000_004, 9_000_005];

  beforeAll(async () => {
    cluster = await startPrivateCluster(3);
    t = await createClusterTestCore(cluster.seeds);
    const existing: number[] = [];
    for (let i = 0; i < 95; i++) {
      existing.push((await t.core.users.create({ name: `User ${i}`, email: `crt${i}-${Date.now()}@example.com` })).id);
    }
    ids = shuffled([...existing, ...missing]);
  });
  afterAll(async () => {
    await t?.close();
    await cluster?.dispose();
  });

  /** Runs `work` and counts what it cost, on every side. */
  async function cost<T>(work: () => Promise<T>) {
    const masters = t.redis.nodes('master');
    const writes = masters.map((m) => vi.spyOn(m.stream, 'write'));
    const pipelines = vi.spyOn(t.redis, 'pipeline');
    const before = await cluster.commandCounts();
    await t.serverStatements();
    try {
      const result = await work();
      const sql = await t.serverStatements();
      const after = await cluster.commandCounts();
      const perNode = new Map<number, Record<string, number>>();
      for (const [port, counts] of after) perNode.set(port, commandsBetween(before.get(port)!, counts));
      const socketWrites = new Map(masters.map((m, i) => [portOf(m), writes[i]!.mock.calls.length]));
      return { result, sql, perNode, pipelines: pipelines.mock.calls.length, socketWrites };
    } finally {
      writes.forEach((w) => w.mockRestore());
      pipelines.mockRestore();
    }
  }

  /** How many slot groups of `keys` each node serves, from the cluster's own CLUSTER SLOTS. */
  async function slotGroupsPerNode(keys: string[]): Promise<Map<number, number>> {
    const groups = new Map<number, number>();
    for (const slot of new Set(keys.map((k) => calculateSlot(k)))) {
      const port = await cluster.ownerOf(slot);
      groups.set(port, (groups.get(port) ?? 0) + 1);
    }
    return groups;
  }

  it('answers a warm batch of 100 ids with at most one round trip per master, in key order, and no SQL', async () => {
    const expected = await t.core.users.load(ids); // warms every key, the 5 missing ids as negative entries
    const keys = ids.map((id) => t.core.users.cacheLayout.key(id));
    const groups = await slotGroupsPerNode(keys);
    expect(groups.size).toBe(3); // 100 keys with no hash tag land on every master

    const spent = await cost(() => t.core.users.load(ids));

    expect(spent.sql).toBe(0);
    // Server side: one MGET per slot group, each on the node that serves its slot, and nothing else.
    for (const [port, counts] of spent.perNode) {
      expect(counts.mget ?? 0, `MGETs on node ${port}`).toBe(groups.get(port) ?? 0);
      expect(Object.keys(counts).filter((c) => c !== 'mget' && c !== 'cluster'), `other commands on node ${port}`).toEqual([]);
    }
    // Client side: one pipeline, written to its socket once, per master.
    expect(spent.pipelines).toBe(3);
    for (const [port, writes] of spent.socketWrites) expect(writes, `socket writes to node ${port}`).toBeLessThanOrEqual(1);
    expect([...spent.socketWrites.values()].reduce((a, b) => a + b, 0)).toBe(3);
    // The answers: every row in the order asked, null for the ids with no row.
    expect(spent.result).toEqual(expected);
    spent.result.forEach((row, i) => {
      if (missing.includes(ids[i]!)) expect(row).toBeNull();
      else expect(row).toMatchObject({ id: ids[i] });
    });
  });

  it('collects 100 separate loader.load calls into that same single batch', async () => {
    const loader = createLoader(t.core.users);
    const spent = await cost(() => Promise.all(ids.map((id) => loader.load(id))));
    expect(spent.sql).toBe(0);
    expect(spent.pipelines).toBe(3);
    expect(spent.result.map((row) => row?.id ?? null)).toEqual(ids.map((id) => (missing.includes(id) ? null : id)));
  });

  it('reads 40 cold ids with one SELECT and backfills them with one pipeline per master', async () => {
    const cold = ids.filter((id) => !missing.includes(id)).slice(0, 40);
    await Promise.all(cold.map((id) => t.redis.del(t.core.users.cacheLayout.key(id))));
    const spent = await cost(() => t.core.users.load(ids));
    expect(spent.sql).toBe(1);
    const scripts = [...spent.perNode.values()].reduce((sum, c) => sum + (c.evalsha ?? 0) + (c.eval ?? 0), 0);
    expect(scripts).toBe(40);
    // One read pipeline and one write pipeline per master (40 keys with no hash tag reach all three).
    expect(spent.pipelines).toBe(6);
    for (const [port, writes] of spent.socketWrites) expect(writes, `socket writes to node ${port}`).toBeLessThanOrEqual(2);
    expect((await cost(() => t.core.users.load(ids))).sql).toBe(0);
  });

  it("reports each write's own outcome across the nodes", async () => {
    const now = Date.now();
    const key = (n: number) => `${t.settings.keyPrefix}outcome:${n}`;
    const value = (v: number) => `{"v":${v},"row":{}}`;
    const seed = Array.from({ length: 12 }, (_, n) => ({ key: key(n), version: 5, value: value(5), ttlMs: 60_000, notAfterMs: now + 60_000 }));
    expect(await t.core.cache.casSetMany(seed)).toEqual(seed.map(() => 'set'));
    // 12 keys with no hash tag: on more than one node (all on one: a chance of 3 in 3^12).
    expect(new Set(await Promise.all(seed.map((w) => cluster.ownerOf(calculateSlot(w.key))))).size).toBeGreaterThan(1);
    // Newer, older and late writes, interleaved across the keys (and so across the nodes).
    const writes = seed.map((w, n) => {
      if (n % 3 === 0) return { ...w, version: 6, value: value(6) };
      if (n % 3 === 1) return { ...w, version: 4, value: value(4) };
      return { ...w, version: 7, value: value(7), notAfterMs: now - 1 };
    });
    const outcomes = await t.core.cache.casSetMany(writes);
    expect(outcomes).toEqual(writes.map((_, n) => (['set', 'stale', 'late'] as const)[n % 3]));
    expect(await t.core.cache.mget(seed.map((w) => w.key))).toEqual(seed.map((_, n) => value(n % 3 === 0 ? 6 : 5)));
  });
});

if (skipped) it.skip(`cluster round trips skipped: ${skipped}`, () => {});

function portOf(node: Redis): number {
  return Number(node.options.port);
}

/** A fixed shuffle (no randomness in a test's order): every 7th id, wrapping. */
function shuffled(values: number[]): number[] {
  return values.map((_, i) => values[(i * 7) % values.length]!);
}
