import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { MARIADB_BINARIES, startReplicatedMysql, type ReplicatedMysql } from '../helpers/mysql-replica';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { killServices, postGraphQL, startService, testDatabaseName, type ServiceProcess } from '../helpers/service-process';

/**
 * MYSQL_REPLICA_URLS through the edge: the service process (src/main.ts) on a private
 * MariaDB primary, with its replica (test/helpers/mysql-replica.ts) in
 * MYSQL_REPLICA_URLS and a private redis-server this file kills. The replica's SQL
 * thread is stopped before a rename, so an answer from the replica is recognisably
 * older than the primary's row. (The fallback path itself is proven in
 * replicas.fallback-reads.test.ts; this file proves main.ts wires it and shuts down.)
 */
const SKIP = MARIADB_BINARIES ? false : 'mariadbd or mariadb-install-db is not installed: no private primary and replica to test against';
if (SKIP) console.warn(`replicas.service.test.ts skipped: ${SKIP}`);

let pair: ReplicatedMysql;
let redisServer: PrivateRedis;
let service: ServiceProcess;
let url: string;
const database = testDatabaseName();
const secret = makeUpSecret();

const gql = (query: string, token?: string) => postGraphQL(url, query, token);

describe.skipIf(SKIP)('the service with MYSQL_REPLICA_URLS', () => {
  beforeAll(async () => {
    pair = await startReplicatedMysql();
    redisServer = await startPrivateRedis();
    service = startService({
      JWT_SECRET: secret,
      MYSQL_URL: `${pair.primary.serverUrl}${database}`,
      MYSQL_REPLICA_URLS: `${pair.replica.serverUrl}${database}`,
      REDIS_URL: redisServer.url,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    url = (await service.waitForLog((log) => typeof log.url === 'string')).url as string;
  }, 120_000);

  afterAll(async () => {
    if (service) killServices([service]);
    await redisServer?.kill();
    await pair?.dispose();
  });

  it('serves reads Redis cannot answer from the replica, and stops cleanly', async () => {
    expect(service.logs).toContainEqual(
      expect.objectContaining({ msg: 'reads that Redis cannot answer go to the read replicas', replicas: [`127.0.0.1:${pair.replica.port}/${database}`] }),
    );
    await pair.caughtUp(); // the seeded demo users are on the replica
    await pair.stopApplying();
    const token = await issueToken(secret, ['write']);
    const renamed = await gql('mutation { updateUser(id: "1", input: { name: "Ada, renamed" }) { name version } }', token);
    expect(renamed).toEqual({ data: { updateUser: { name: 'Ada, renamed', version: 2 } } });
    const read = () => gql('{ user(id: "1") { name version } }');
    expect(await read()).toEqual({ data: { user: { name: 'Ada, renamed', version: 2 } } }); // Redis up: the cache

    await redisServer.kill();
    // The circuit opens on the dropped connection; until then a read may wait for Redis, and still answer.
    const answer = await pollUntil('a read answered by the replica', async () => {
      const result = await read();
      return result.data?.user?.version === 1 ? result : undefined;
    });
    expect(answer).toEqual({ data: { user: { name: 'Ada Lovelace', version: 1 } } });

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
  });
});
