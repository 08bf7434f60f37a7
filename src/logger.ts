import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout, one object per line. Anything that might carry a
 * credential is redacted before it is written.
 */
export function createLogger(options: { level: string; instanceId: string }): Logger {
  return pino({
    level: options.level,
    base: { instance: options.instanceId },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', 'config.mysql.url', 'config.redis.url'],
      censor: '[redacted]',
    },
  });
}
