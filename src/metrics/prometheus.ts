import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExecutionObserver } from '../graphql/compiled-execution';
import type { FollowerState } from '../changes/change-follower';
import type { FollowerMetrics } from '../changes/follower-metrics';
import type { CoreMetrics } from '../writethrough/core-metrics';

/** Seconds: from a warm MGET (~0.1 ms) to a command timeout. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Gauges {
  /** Failures recorded and not yet repaired (read from MySQL at scrape time). */
  backlog(): Promise<number>;
  /** 'closed' | 'halfOpen' | 'open', or undefined without a breaker. */
  breakerState(): string | undefined;
  /** The change follower's state, or undefined without one. */
  followerState(): FollowerState | undefined;
}

/** Every state the follower gauge reports (a Record, so that a new FollowerState cannot be missed); none: no follower. */
const FOLLOWER_STATES = Object.keys({
  none: 0,
  starting: 0,
  off: 0,
  standby: 0,
  following: 0,
  resyncing: 0,
  retrying: 0,
  stopped: 0,
} satisfies Record<FollowerState | 'none', 0>);

export interface GraphQLMetrics {
  operation(name: string, outcome: 'ok' | 'error', seconds: number): void;
  /** Which executor ran each operation, and how many compiled ones are kept. */
  execution: ExecutionObserver;
}

/**
 * The service's metrics, on a registry of its own (so tests can build as many as
 * they like), in the Prometheus text format at GET /metrics.
 */
export function createPrometheusMetrics(gauges: Gauges) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'throughline_' });
  const m = {
    lookups: new Counter({ name: 'throughline_cache_lookups_total', help: 'Keys read through the cache, by result: hit, negative_hit (a tombstone or "no such row"), miss, bypassed (suspect, read from MySQL).', labelNames: ['entity', 'result'], registers: [registry] }),
    batch: new Histogram({ name: 'throughline_loader_batch_size', help: 'Ids per loader batch.', labelNames: ['entity'], buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers: [registry] }),
    redis: new Histogram({ name: 'throughline_redis_call_seconds', help: 'Redis round trips (an MGET, or a pipeline of compare-and-sets).', labelNames: ['operation', 'ok'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    mysql: new Histogram({ name: 'throughline_mysql_call_seconds', help: 'MySQL calls: a batch SELECT (replica_select: on a read replica), or a whole write transaction.', labelNames: ['operation', 'ok'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    writes: new Counter({ name: 'throughline_cache_write_attempts_total', help: 'Attempts to write a committed row to the cache, by outcome: set, stale (a newer version was there), late, error.', labelNames: ['entity', 'outcome'], registers: [registry] }),
    writeThrough: new Histogram({ name: 'throughline_write_through_seconds', help: "One attempt at writing a commit's rows to the cache (one pipeline).", buckets: LATENCY_BUCKETS, registers: [registry] }),
    retries: new Counter({ name: 'throughline_cache_write_retries_total', help: 'Cache writes retried after a failed attempt.', labelNames: ['entity'], registers: [registry] }),
    failures: new Counter({ name: 'throughline_write_through_failures_total', help: 'Cache writes that failed after their retries and were recorded for repair.', labelNames: ['entity'], registers: [registry] }),
    fence: new Histogram({ name: 'throughline_fence_wait_seconds', help: "How long a failed cache write's answer waited for every other live instance to read its failure (READ_LEASE_MS), by outcome: passed (they all did), expired (it waited out the lease).", labelNames: ['outcome'], buckets: REQUEST_BUCKETS, registers: [registry] }),
    inspections: new Counter({ name: 'throughline_consistency_checks_total', help: "Keys of settled writes the consistency inspector (INSPECTOR_SAMPLE_RATE) checked against MySQL, by result: consistent, in_flight (wrong at the first check, right at the second), recorded (behind, with the failure already in the log), inconsistent (still wrong at the second check, unknown to the log), and repaired (an inconsistent key set right).", labelNames: ['entity', 'result'], registers: [registry] }),
    inconsistencyAge: new Histogram({ name: 'throughline_consistency_inconsistency_age_seconds', help: 'How long each inconsistency the consistency inspector confirmed had been there at most: from the write that settled (or the read that was served) to the second check that confirmed it.', labelNames: ['entity'], buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 3600], registers: [registry] }),
    repairs: new Counter({ name: 'throughline_repairs_total', help: 'Repair attempts by outcome: repaired, postponed.', labelNames: ['entity', 'outcome'], registers: [registry] }),
    executions: new Counter({ name: 'throughline_graphql_executions_total', help: 'Operations run with GRAPHQL_EXECUTOR=jit, by how: jit (compiled) or standard (on graphql-js: not compiled yet, or not compilable). Nothing is counted with GRAPHQL_EXECUTOR=standard.', labelNames: ['executor'], registers: [registry] }),
    compiled: new Gauge({ name: 'throughline_graphql_compiled_operations', help: 'Compiled operations kept in the executor cache (at most GRAPHQL_JIT_CACHE_SIZE).', registers: [registry] }),
    operations: new Histogram({ name: 'throughline_graphql_operation_seconds', help: 'GraphQL operations by name and outcome.', labelNames: ['operation', 'outcome'], buckets: REQUEST_BUCKETS, registers: [registry] }),
    applied: new Counter({ name: 'throughline_changes_applied_total', help: "Row changes the change follower applied to the cache from the binlog, by entity and source: api (the service's own writes, already written through) or out_of_band (written behind the API).", labelNames: ['entity', 'source'], registers: [registry] }),
    lag: new Gauge({ name: 'throughline_change_follower_lag_seconds', help: "How far behind MySQL's binlog the cache is, as the following instance measures it (0 when caught up).", registers: [registry] }),
    position: new Gauge({ name: 'throughline_change_follower_position', help: 'The binlog offset the change follower has applied up to, in the file of the label.', labelNames: ['file'], registers: [registry] }),
    resyncs: new Counter({ name: 'throughline_change_follower_resyncs_total', help: 'Full re-syncs of the followed tables, after the stored binlog position was purged from the server.', registers: [registry] }),
  };
  new Gauge({
    name: 'throughline_change_follower_state',
    help: "The change follower's state: 1 for the current one, 0 for the others (none: no follower configured; off: the binlog cannot be followed; standby: another instance follows).",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const current = gauges.followerState() ?? 'none';
      for (const state of FOLLOWER_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'throughline_write_through_backlog',
    help: 'Failed cache writes not yet repaired, on all instances.',
    registers: [registry],
    async collect() {
      this.set(await gauges.backlog());
    },
  });
  new Gauge({
    name: 'throughline_redis_circuit_state',
    help: 'The circuit breaker in front of Redis: 0 closed, 1 half-open, 2 open.',
    registers: [registry],
    collect() {
      const state = gauges.breakerState();
      this.set(state === 'open' ? 2 : state === 'halfOpen' ? 1 : 0);
    },
  });

  const core: CoreMetrics = {
    cacheLookups: (entity, result, count) => {
      if (count > 0) m.lookups.inc({ entity, result }, count);
    },
    loaderBatch: (entity, size) => m.batch.observe({ entity }, size),
    redisCall: (operation, seconds, ok) => m.redis.observe({ operation, ok: String(ok) }, seconds),
    mysqlCall: (operation, seconds, ok) => m.mysql.observe({ operation, ok: String(ok) }, seconds),
    cacheWrite: (entity, outcome) => m.writes.inc({ entity, outcome }),
    writeThroughSeconds: (seconds) => m.writeThrough.observe(seconds),
    cacheWriteRetry: (entity) => m.retries.inc({ entity }),
    cacheWriteFailure: (entity) => m.failures.inc({ entity }),
    repair: (entity, outcome) => m.repairs.inc({ entity, outcome }),
    fenceWait: (outcome, seconds) => m.fence.observe({ outcome }, seconds),
    inspection: (entity, result) => m.inspections.inc({ entity, result }),
    inconsistencyAge: (entity, seconds) => m.inconsistencyAge.observe({ entity }, seconds),
  };
  const graphql: GraphQLMetrics = {
    operation: (name, outcome, seconds) => m.operations.observe({ operation: name, outcome }, seconds),
    execution: {
      executed: (executor) => m.executions.inc({ executor }),
      compiled: (count) => m.compiled.set(count),
    },
  };
  let positionFile: string | undefined;
  const follower: FollowerMetrics = {
    changesApplied: (entity, source, count) => {
      if (count > 0) m.applied.inc({ entity, source }, count);
    },
    lagSeconds: (seconds) => m.lag.set(seconds),
    position: (file, position) => {
      // One series: the file the follower is in now.
      if (file !== positionFile) m.position.reset();
      positionFile = file;
      m.position.set({ file }, position);
    },
    resync: () => m.resyncs.inc(),
  };
  return { registry, core, graphql, follower };
}

export type PrometheusMetrics = ReturnType<typeof createPrometheusMetrics>;
