import type { TestCore } from './core';
import { commandsBetween, type PrivateRedis } from './redis-server';

export interface Cost<T> {
  result: T;
  /** SQL statements MySQL counted on the test's single connection. */
  sql: number;
  /** Redis commands the private server counted, by name (commands run by scripts included). */
  redis: Record<string, number>;
}

/** Runs `work` and returns what it cost, counted by the servers themselves. */
export async function measureCost<T>(redisServer: PrivateRedis, t: TestCore, work: () => Promise<T>): Promise<Cost<T>> {
  const before = await redisServer.commandCounts();
  await t.serverStatements();
  const result = await work();
  const sql = await t.serverStatements();
  return { result, sql, redis: commandsBetween(before, await redisServer.commandCounts()) };
}
