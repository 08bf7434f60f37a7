import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeToFailures, type Subscriber } from '../../helpers/failure-subscriber';
import { pollUntil } from '../../helpers/poll';
import { QUICK_FAILURES, ServiceResources, type ServiceInstance } from '../../helpers/service-process';

/** Where the three instances keep their cache, and how a test breaks it. */
export interface CacheBackend {
  /** The service's settings that point it at this Redis (REDIS_URL or REDIS_CLUSTER_NODES). */
  env: Record<string, string>;
  /** What the cache holds under `key`, read straight from Redis. */
  get(key: string): Promise<string | null>;
  /** From now on every cache write fails (the backend is killed, or refuses writes)… */
  breakWrites(): Promise<void>;
  /** …until this: the backend takes writes again, with what it held before. */
  restoreWrites(): Promise<void>;
  dispose(): Promise<void>;
}

type Instance = ServiceInstance;

const RENAME = 'mutation($id: ID!, $name: String!) { updateUser(id: $id, input: { name: $name }) { version name } }';

/**
 * Three service processes on one MySQL database and one cache (a Redis, or a Redis
 * Cluster), clients spread across them: nothing that must be shared lives in a process. Concurrent writes through
 * different instances leave the newest version cached; one subscriber hears every
 * instance's failures; each failure is repaired once, by whichever instance claims it.
 */
export function describeThreeInstances(name: string, startBackend: () => Promise<CacheBackend>, skip?: string): void {
  const resources = new ServiceResources();
  const subscribers: Subscriber[] = [];
  let backend: CacheBackend;
  let database: { name: string; url: string };
  let keyPrefix: string;
  let instances: Instance[];

  async function inMysql<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const connection = await mysql.createConnection(database.url);
    try {
      return (await connection.query(sql, params))[0] as T[];
    } finally {
      await connection.end();
    }
  }

  async function cachedUser(id: number): Promise<{ v: number; row: { name: string } } | null> {
    const raw = await backend.get(`${keyPrefix}user:${id}`);
    return raw === null ? null : JSON.parse(raw);
  }

  describe.skipIf(skip !== undefined)(`three instances on ${name}`, () => {
    beforeAll(async () => {
      backend = await startBackend();
      database = resources.database();
      keyPrefix = resources.keyPrefix();
      const env = {
        ...backend.env,
        MYSQL_URL: database.url,
        KEY_PREFIX: keyPrefix,
        ...QUICK_FAILURES,
        // Every write and every hit checked against MySQL: the last test reads what each found.
        INSPECTOR_SAMPLE_RATE: '1',
        INSPECTOR_READ_SAMPLE_RATE: '1',
        INSPECTOR_DELAY_MS: '50',
        INSPECTOR_RECHECK_MS: '300',
        INSPECTOR_MAX_CHECKS_PER_S: '100000',
      };
      // The first one migrates the database and seeds users 1 to 3; the others find them.
      const a = await resources.instance(env, 'instance-a');
      const [b, c] = await Promise.all([resources.instance({ ...env, SEED_DEMO_DATA: 'false' }, 'instance-b'), resources.instance({ ...env, SEED_DEMO_DATA: 'false' }, 'instance-c')]);
      instances = [a, b, c];
    }, 60_000);

    afterAll(async () => {
      for (const s of subscribers) await s.dispose();
      await resources.cleanUp();
      await backend?.dispose();
    });

    it('leave the newest version in the cache after 30 concurrent updates of one row through all three', async () => {
      const [before] = await inMysql<{ version: number }>('SELECT version FROM users WHERE id = 1');
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => instances[i % 3]!.gql(RENAME, { id: '1', name: `update ${i} via ${instances[i % 3]!.name}` })),
      );
      expect(answers.every((a) => a.errors === undefined)).toBe(true);
      // Each update got its own version: 30 distinct versions, the last one MySQL's.
      const versions = answers.map((a) => a.data.updateUser.version as number).sort((x, y) => x - y);
      expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => before!.version + i + 1));

      const [final] = await inMysql<{ version: number; name: string }>('SELECT version, name FROM users WHERE id = 1');
      expect(final!.version).toBe(before!.version + 30);
      // Newest version cached: at once, or — if a cache write failed on a loaded machine
      // (the command timeout is 100 ms here) — once that failure is repaired. Never older.
      await pollUntil('the newest version cached', async () => (await cachedUser(1))?.v === final!.version);
      expect(await cachedUser(1)).toMatchObject({ v: final!.version, row: { name: final!.name } });
      // And every instance reads it back from that key.
      for (const instance of instances) {
        expect((await instance.gql('{ user(id: "1") { version name } }')).data.user).toEqual({ version: final!.version, name: final!.name });
      }
    });

    it("tells one subscriber every instance's failed cache writes, and repairs each exactly once", async () => {
      const { data } = await instances[0]!.gql('{ cacheStatus { lastEventId } }');
      const subscriber = subscribeToFailures(instances[0]!.wsUrl, { after: data.cacheStatus.lastEventId }, { token: await resources.token(['admin']) });
      subscribers.push(subscriber);

      await backend.breakWrites();
      // Two writes through each instance while Redis is gone: six committed writes whose cache update fails.
      for (const [i, instance] of instances.entries()) {
        for (const id of ['2', '3']) expect((await instance.gql(RENAME, { id, name: `${instance.name} wrote ${i}` })).errors).toBeUndefined();
      }
      // Only these rows' failures: a loaded machine may fail (and repair) other cache writes too.
      const failures = [];
      while (failures.length < 6) {
        const event = await subscriber.next(5_000);
        if (event.repairedAt === null && ['2', '3'].includes(event.entityId)) failures.push(event);
      }
      expect(failures.map((f) => f.instance)).toEqual(['instance-a', 'instance-a', 'instance-b', 'instance-b', 'instance-c', 'instance-c']);
      expect(failures.every((f) => f.repairedAt === null)).toBe(true);

      await backend.restoreWrites();
      const ours = new Set(failures.map((f) => f.failureId));
      const repairs = [];
      while (repairs.length < 6) {
        const event = await subscriber.next(10_000);
        if (event.repairedAt !== null && ours.has(event.failureId)) repairs.push(event);
      }
      expect(repairs.every((r) => r.repairedAt !== null && instances.some((x) => x.name === r.repairedBy))).toBe(true);
      expect(new Set(repairs.map((r) => r.failureId))).toEqual(new Set(failures.map((f) => f.failureId)));
      await pollUntil('no unrepaired failures', async () => (await instances[1]!.gql('{ unrepairedWriteThroughFailures { id } }')).data.unrepairedWriteThroughFailures.length === 0);

      // Once each: a failure marked repaired is no longer claimable, so these counts are final.
      const counts = await inMysql<{ failure_id: number; n: number }>(
        "SELECT failure_id, COUNT(*) AS n FROM write_through_events WHERE kind = 'repaired' GROUP BY failure_id",
      );
      expect(counts.every((c) => Number(c.n) === 1)).toBe(true);
      expect(counts.filter((c) => ours.has(String(c.failure_id)))).toHaveLength(6);
      // The cache holds what MySQL holds for both rows.
      const rows = await inMysql<{ id: number; version: number; name: string }>('SELECT id, version, name FROM users WHERE id IN (2, 3) ORDER BY id');
      for (const row of rows) expect(await cachedUser(row.id)).toMatchObject({ v: row.version, row: { name: row.name } });
    });

    it('found no inconsistency and no stale read, every write and hit of the tests above checked on each instance', async () => {
      const query = '{ cacheStatus { consistency { total { checked recorded inconsistent } reads { checked stale } pending } } }';
      // Each instance's own token has the admin scope.
      const figures = await pollUntil('every instance to finish its checks', async () => {
        const all = await Promise.all(instances.map(async (x) => (await x.gql(query)).data.cacheStatus.consistency));
        return all.every((c) => c.pending === 0) ? all : undefined;
      });
      expect(figures.reduce((n, c) => n + c.total.checked, 0)).toBeGreaterThanOrEqual(30);
      expect(figures.reduce((n, c) => n + c.reads.checked, 0)).toBeGreaterThan(0);
      expect(figures.map((c) => [c.total.inconsistent, c.reads.stale]), JSON.stringify(figures)).toEqual([[0, 0], [0, 0], [0, 0]]);
    });
  });
}
