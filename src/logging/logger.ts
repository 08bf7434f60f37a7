import pino, { type Logger } from 'pino';
import { currentRequestId } from './request-context';

export type { Logger };

/**
 * Structured JSON logs on stdout, one object per line, each carrying the id of the
 * request it was written for. Anything that might carry a credential is redacted;
 * tokens are never logged in the first place. `pretty` (development at a terminal)
 * prints them for people instead.
 */
export function createLogger(options: { level: string; instanceId: string; pretty?: boolean }): Logger {
  return pino({
    level: options.level,
    base: { instance: options.instanceId },
    mixin: () => {
      const reqId = currentRequestId();
      return reqId ? { reqId } : {};
    },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.authorization', 'config.mysql.url', 'config.redis.url'],
      censor: '[redacted]',
    },
    ...(options.pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
