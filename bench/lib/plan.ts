/** The load plan shared by the HTTP scenarios; each can be changed from the environment for a quicker or longer run. */
export const LOAD_PLAN = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
  rounds: Number(process.env.BENCH_ROUNDS ?? 4),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 2),
};

export const describePlan = (plan: typeof LOAD_PLAN = LOAD_PLAN): string =>
  `autocannon, ${plan.connections} connections, ${plan.rounds} interleaved rounds of ${plan.seconds} s per variant after a ${plan.warmupSeconds} s warm-up run; median of the rounds`;
