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
