import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout, one object per line; a request's lines carry its id
 * (`reqId`), from the child logger its GraphQL context makes (graphql/context.ts) or
 * from json-errors.ts. Anything that might carry a credential is redacted;
 * tokens are never logged in the first place. `pretty` (development at a terminal)
 * prints them for people instead.
 */
export function createLogger(options: { level: string; instanceId: string; pretty?: boolean }): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { instance: options.instanceId },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.authorization', 'config.mysql.url', 'config.redis.url'],
      censor: '[redacted]',
    },
  };
  if (options.pretty) return pino({ ...settings, transport: { target: 'pino-pretty', options: { colorize: true } } });
  // Synchronous writes, so that nothing is buffered when the process exits. pino's
  // default buffers a line while its write is in flight and flushes it at exit with
  // sonic-boom's flushSync, which retries every error but EAGAIN forever: with stdout
  // a pipe whose reader is gone (`npm start | tee log`, Ctrl-C kills tee first) the
  // process looped on write() = EPIPE and never exited. A synchronous write meets the
  // EPIPE at once, and pino's destination then drops every later line instead.
  return pino(settings, pino.destination({ dest: 1, sync: true }));
}
