import type { FollowerStatus } from '../changes/change-follower';
import type { Core } from '../core';
import type { ConsistencySnapshot } from '../inspector/consistency-figures';
import type { CacheStats, StatsSnapshot } from './cache-stats';

export interface StatusReport extends StatsSnapshot {
  instance: string;
  /** Failed cache writes not yet repaired, on all instances. */
  backlog: number;
  /** The circuit in front of Redis: closed, halfOpen, open; 'none' without one. */
  circuit: string;
  /** 'ok', or 'unavailable: <why>'. */
  redis: string;
  mysql: string;
  lastEventId: string;
  /** The change follower, as this instance sees it; null without one (CHANGE_FOLLOWER=off). */
  changeFollower: ChangeFollowerReport | null;
  /** The consistency inspector's figures; null without one (INSPECTOR_SAMPLE_RATE=0). */
  consistency: ConsistencySnapshot | null;
}

/** `cacheStatus.changeFollower` and the /monitor page's follower card. */
export interface ChangeFollowerReport {
  state: string;
  /** Why it is off, each with the setting to turn on. */
  problems: string[];
  lastError: string | null;
  lagSeconds: number | null;
  appliedApi: number;
  appliedOutOfBand: number;
  gtid: string | null;
  binlogFile: string | null;
  binlogPosition: number | null;
}

export function followerReport(status: FollowerStatus): ChangeFollowerReport {
  return {
    state: status.state,
    problems: status.problems,
    lastError: status.lastError,
    lagSeconds: status.lagSeconds,
    appliedApi: status.applied.api,
    appliedOutOfBand: status.applied.outOfBand,
    gtid: status.checkpoint?.gtid ?? null,
    binlogFile: status.checkpoint?.file ?? null,
    binlogPosition: status.checkpoint?.position ?? null,
  };
}

/**
 * What /readyz adds for the change follower: nothing without one; 'ok'; or, while it is
 * off (the binlog cannot be followed) or retrying after a failure, 'degraded: …'. Never
 * a reason to take the instance out of service: reads and writes are as correct without
 * it (only rows changed behind the API wait for their TTL).
 */
export function followerReadiness(status: FollowerStatus | undefined): Record<string, string> {
  if (!status) return {};
  if (status.state === 'off') return { changeFollower: `degraded: off: ${status.problems.join('; ')}` };
  if (status.state === 'retrying') return { changeFollower: `degraded: retrying: ${status.lastError ?? 'a failure'}` };
  return { changeFollower: 'ok' };
}

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

/** How long a readiness check may take: a probe must hear back, even from a MySQL that hangs. */
export const READINESS_DEADLINE_MS = 1_000;

/**
 * Runs every check at once; each reports 'ok' or why it failed. A check that has not
 * answered by the deadline counts as failed (the probe answers 503 in about a second,
 * instead of when a hung server's connection finally gives up).
 */
export async function checkReadiness(checks: ReadinessChecks, deadlineMs = READINESS_DEADLINE_MS): Promise<Record<string, string>> {
  const names = Object.keys(checks);
  const results = await Promise.allSettled(names.map((name) => withDeadline(checks[name]!(), deadlineMs)));
  return Object.fromEntries(
    results.map((r, i) => [names[i], r.status === 'fulfilled' ? 'ok' : `unavailable: ${(r.reason as Error)?.message ?? r.reason}`]),
  );
}

function withDeadline<T>(check: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}

/** The numbers of `cacheStatus` and the /monitor page, gathered when asked. */
export function statusReporter(deps: { core: Core; stats: CacheStats; readiness: ReadinessChecks; instance: string }) {
  return async (): Promise<StatusReport> => {
    const [ready, backlog, lastEventId] = await Promise.all([
      checkReadiness(deps.readiness),
      deps.core.failureLog.countUnrepaired().catch(() => -1),
      deps.core.failureLog.latestEventId().catch(() => 0),
    ]);
    return {
      instance: deps.instance,
      backlog,
      circuit: deps.core.circuit?.state ?? 'none',
      redis: ready.redis ?? 'unknown',
      mysql: ready.mysql ?? 'unknown',
      lastEventId: String(lastEventId),
      changeFollower: deps.core.follower ? followerReport(deps.core.follower.status()) : null,
      consistency: deps.core.inspector?.figures.snapshot() ?? null,
      ...deps.stats.snapshot(),
    };
  };
}
