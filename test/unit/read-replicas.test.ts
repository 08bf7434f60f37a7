import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client';
import { ReadReplicas, replicaName, type ReadReplica } from '../../src/db/read-replicas';

/** ReadReplicas only hands the handles out; what they connect to does not matter here. */
const replica = (name: string): ReadReplica => ({ name, db: {} as Database });

describe('ReadReplicas: which replica reads next', () => {
  it('takes the replicas in turn', () => {
    const [a, b, c] = [replica('a'), replica('b'), replica('c')];
    const replicas = new ReadReplicas([a, b, c]);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => replicas.next()!.name)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('passes over a replica that failed until its rest is over', () => {
    let now = 1_000;
    const [a, b] = [replica('a'), replica('b')];
    const replicas = new ReadReplicas([a, b], { restMs: 5_000, now: () => now });
    replicas.failed(a);
    expect([1, 2, 3].map(() => replicas.next()!.name)).toEqual(['b', 'b', 'b']);
    now += 5_000;
    expect([1, 2].map(() => replicas.next()!.name).sort()).toEqual(['a', 'b']);
  });

  it('gives none while every replica rests, so the caller reads the primary', () => {
    let now = 0;
    const a = replica('a');
    const replicas = new ReadReplicas([a], { restMs: 100, now: () => now });
    replicas.failed(a);
    expect(replicas.next()).toBeUndefined();
    now = 100;
    expect(replicas.next()).toBe(a);
  });
});

describe('replicaName', () => {
  it('names host, port and database, never the credentials', () => {
    expect(replicaName('mysql://reader:hunter2@db-replica-1:3307/throughline')).toBe('db-replica-1:3307/throughline');
    expect(replicaName('mysql://reader@db-replica-2/throughline')).toBe('db-replica-2:3306/throughline');
  });
});
