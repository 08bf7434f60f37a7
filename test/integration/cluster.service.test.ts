import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterUnavailableReason, startPrivateCluster, type PrivateCluster } from '../helpers/redis-cluster';
import { postGraphQL, ServiceResources, type ServiceProcess } from '../helpers/service-process';

/**
 * REDIS_CLUSTER_NODES through the edge: the service process (src/main.ts) on a private
 * 3-master cluster. It serves, writes through to the master that holds each key, says
 * it is ready, and stops cleanly.
 */
const skipped = clusterUnavailableReason();

describe.skipIf(skipped !== undefined)('the service with REDIS_CLUSTER_NODES', () => {
  const resources = new ServiceResources();
  let cluster: PrivateCluster;
  let service: ServiceProcess;
  let url: string;
  const keyPrefix = resources.keyPrefix();

  const gql = (query: string, token?: string) => postGraphQL(url, query, token);

  beforeAll(async () => {
    cluster = await startPrivateCluster(3);
    ({ service, url } = await resources.serve({
      REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(','),
      KEY_PREFIX: keyPrefix,
    }));
  }, 60_000);
  afterAll(async () => {
    await resources.cleanUp();
    await cluster?.dispose();
  });

  it('reads and writes through the cluster, is ready, and stops cleanly', async () => {
    const users = await gql('{ users(ids: ["1", "2", "3", "99"]) { id version } }');
    expect(users).toEqual({ data: { users: [{ id: '1', version: 1 }, { id: '2', version: 1 }, { id: '3', version: 1 }, null] } });

    const token = await resources.token(['write']);
    expect(await gql('mutation { updateUser(id: "2", input: { name: "Clustered" }) { version } }', token)).toEqual({
      data: { updateUser: { version: 2 } },
    });
    const key = `${keyPrefix}user:2`;
    const owner = await cluster.ownerOf(calculateSlot(key));
    expect(JSON.parse((await cluster.admin(owner).get(key))!)).toMatchObject({ v: 2, row: { name: 'Clustered' } });
    expect(await gql('{ user(id: "2") { name version } }')).toEqual({ data: { user: { name: 'Clustered', version: 2 } } });

    const ready = await fetch(new URL('/readyz', url));
    expect(ready.status).toBe(200);

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});

if (skipped) it.skip(`cluster service skipped: ${skipped}`, () => {});
