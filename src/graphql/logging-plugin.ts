import type { ApolloServerPlugin } from '@apollo/server';

export interface RequestLogger {
  debug(obj: object, msg: string): void;
  /** pino's: whether a line at this level would be written. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * One structured line per GraphQL operation, at debug level, on the request's own
 * logger (so it carries the request's id): its name, how long it took, and the codes
 * of any errors (unexpected errors are logged in full by graphql/errors.ts).
 */
export function requestLoggingPlugin(logger: RequestLogger): ApolloServerPlugin<{ logger: RequestLogger }> {
  // Below debug (production's warn), the line would be dropped: then the plugin does
  // nothing at all per request, not even read the clock. `logger` is the one every
  // request's logger is a child of, at the same level.
  if (logger.isLevelEnabled && !logger.isLevelEnabled('debug')) return {};
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, response, errors, contextValue }) {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const codes = errors?.map((e) => e.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
          contextValue.logger.debug(
            { operation: operationName ?? null, ms: Math.round(ms * 100) / 100, status: response.http.status ?? 200, ...(codes ? { errors: codes } : {}) },
            'graphql request',
          );
        },
      };
    },
  };
}
