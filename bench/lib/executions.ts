import { readMetrics, type BenchProcess, type Executor } from './processes';

export type Executions = Record<Executor, number>;

/**
 * How many operations a process has executed on each executor so far:
 * `throughline_graphql_executions_total{executor}` from its GET /metrics. A process
 * on graphql-js counts nothing there (Apollo's own execute runs, not the compiled
 * executor), so for it both stay 0.
 */
export async function executions(p: BenchProcess): Promise<Executions> {
  const text = await readMetrics(p);
  const count = (executor: Executor) => {
    const match = new RegExp(`^throughline_graphql_executions_total\\{executor="${executor}"\\} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  };
  return { jit: count('jit'), standard: count('standard') };
}

export const minusExecutions = (after: Executions, before: Executions): Executions => ({
  jit: after.jit - before.jit,
  standard: after.standard - before.standard,
});
