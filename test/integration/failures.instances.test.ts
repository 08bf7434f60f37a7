import { afterAll, describe, expect, it } from 'vitest';
import { subscribeToFailures, type Subscriber } from '../helpers/failure-subscriber';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { QUICK_FAILURES, ServiceResources, type ServiceInstance } from '../helpers/service-process';

/**
 * Two service processes sharing one MySQL database and one Redis (a private one, so
 * the test can stop it): failures recorded by either reach the subscribers of both,
 * in one order, and a subscriber that comes back resumes where it left off, even on
 * an instance that was not running when the failures happened.
 */
const resources = new ServiceResources();
const subscribers: Subscriber[] = [];
let redis: PrivateRedis | undefined;

afterAll(async () => {
  for (const s of subscribers) await s.dispose();
  await resources.cleanUp();
  await redis?.kill();
});

type Instance = ServiceInstance;

async function subscribe(instance: Instance, after: string): Promise<Subscriber> {
  const subscriber = subscribeToFailures(instance.wsUrl, { after }, { token: await resources.token(['admin']) });
  subscribers.push(subscriber);
  return subscriber;
}

async function rename(instance: Instance, id: string, name: string) {
  const res = await instance.gql(`mutation($id: ID!, $name: String!) { updateUser(id: $id, input: { name: $name }) { version } }`, { id, name });
  expect(res.errors).toBeUndefined();
  return res.data.updateUser.version as number;
}

async function take(subscriber: Subscriber, n: number) {
  const events = [];
  for (let i = 0; i < n; i++) events.push(await subscriber.next(5_000));
  return events;
}

describe('writeThroughFailures across instances', () => {
  it("delivers every instance's failures to every instance's subscribers, in order, and resumes across a restart", async () => {
    redis = await startPrivateRedis();
    const env = {
      MYSQL_URL: resources.database().url,
      REDIS_URL: redis.url,
      KEY_PREFIX: resources.keyPrefix(),
      ...QUICK_FAILURES,
    };
    const a = await resources.instance(env, 'instance-a'); // seeds users 1 to 3
    const b = await resources.instance({ ...env, SEED_DEMO_DATA: 'false' }, 'instance-b');
    // From the start of the feed: whatever arrives before or after the subscription
    // is registered on the server, the subscriber sees it.
    const onA = await subscribe(a, '0');
    const onB = await subscribe(b, '0');

    await redis.kill();
    const writes: Array<[Instance, string]> = [
      [b, '1'],
      [a, '2'],
      [b, '3'],
      [b, '1'],
      [a, '1'],
    ];
    for (const [instance, id] of writes) await rename(instance, id, `renamed by ${instance === a ? 'a' : 'b'}`);

    const seenOnA = await take(onA, 5);
    const seenOnB = await take(onB, 5);
    const expected = writes.map(([instance, id]) => ({ entityId: id, instance: instance === a ? 'instance-a' : 'instance-b', repairedAt: null }));
    expect(seenOnA).toMatchObject(expected);
    expect(seenOnB.map((e) => e.id)).toEqual(seenOnA.map((e) => e.id));
    const ids = seenOnA.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));

    // A goes away; B fails two more writes while A is down.
    await onA.dispose();
    a.service.child.kill('SIGTERM');
    expect((await a.service.exited).code).toBe(0);
    await rename(b, '2', 'while a was down');
    await rename(b, '3', 'while a was down');

    // A new A resumes after the last event its subscriber saw, and misses none.
    const a2 = await resources.instance({ ...env, SEED_DEMO_DATA: 'false' }, 'instance-a2');
    const resumed = await subscribe(a2, seenOnA.at(-1)!.id);
    expect(await take(resumed, 2)).toMatchObject([
      { entityId: '2', instance: 'instance-b', repairedAt: null },
      { entityId: '3', instance: 'instance-b', repairedAt: null },
    ]);

    // Redis comes back: the repair workers repair all seven, once each, and every
    // subscriber is told.
    await redis.restart();
    const repairs = await take(resumed, 7);
    expect(repairs.every((e) => e.repairedAt !== null && ['instance-b', 'instance-a2'].includes(e.repairedBy!))).toBe(true);
    expect(new Set(repairs.map((e) => e.failureId)).size).toBe(7);
    const open = await pollUntil('no unrepaired failures', async () => {
      const res = await b.gql('{ unrepairedWriteThroughFailures { id } }');
      return res.data.unrepairedWriteThroughFailures.length === 0 ? res : undefined;
    });
    expect(open.errors).toBeUndefined();
  });
});
