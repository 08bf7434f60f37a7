/**
 * The little the core needs from a logger; pino's Logger satisfies it, and tests
 * can pass a silent one.
 */
export interface CoreLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Whom a call is made for, as far as its log lines go. A request passes its own
 * logger (one that stamps the request's id on each line), and every line the call
 * writes, however deep, goes there; without one, the core's own logger. Passed, not
 * found in an AsyncLocalStorage: on Node 20 one turns on promise hooks for the whole
 * process, which cost a cached read a fifth of its speed (bench/findings.md).
 */
export interface CallScope {
  logger?: CoreLogger | undefined;
}
