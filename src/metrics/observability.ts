import type { Core } from '../core';
import { CacheStats, fanOut } from './cache-stats';
import { createPrometheusMetrics } from './prometheus';
import { statusReporter, type ReadinessChecks } from './status';

/**
 * Prometheus metrics and the in-memory stats, made before the core (which reports
 * into them) and bound to it afterwards (the backlog and circuit gauges read it).
 */
export function createObservability() {
  let core: Core | undefined;
  const stats = new CacheStats();
  const prometheus = createPrometheusMetrics({
    backlog: async () => (core ? core.failureLog.countUnrepaired() : 0),
    breakerState: () => core?.circuit?.state,
    followerState: () => core?.follower?.status().state,
  });
  return {
    /** For createCore({ metrics }). */
    coreMetrics: fanOut(prometheus.core, stats),
    /** For createCore({ changes: { metrics } }), when there is a change follower. */
    followerMetrics: prometheus.follower,
    /** For startServer({ observability }), once the core exists. */
    bind(boundCore: Core, readiness: ReadinessChecks, instance: string) {
      core = boundCore;
      return {
        registry: prometheus.registry,
        graphql: prometheus.graphql,
        status: statusReporter({ core: boundCore, stats, readiness, instance }),
      };
    },
  };
}
