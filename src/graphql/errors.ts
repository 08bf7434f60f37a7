import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { ConflictError, InvalidInputError, ThroughlineError } from '../errors';
import { codeForUncodedRefusal } from './request-errors';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/** Apollo's formatError: the error as JSON, and the error itself. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface ErrorHandling {
  /** Apollo's formatError, and graphql-ws's (graphql/websocket-operations.ts). */
  formatError: ErrorFormatter;
  /** Logs an HTTP request's unexpected errors on its own logger, so each line carries its id. */
  plugin: ApolloServerPlugin<{ logger: ErrorLogger }>;
  /** Logs `error` on `logger` if it is unexpected (for errors no plugin sees: a failed context). */
  report(error: unknown, logger: ErrorLogger): void;
}

/**
 * Gives every error a code in `extensions.code`. The core's errors become their
 * codes; validation failures say which field and why; a request Apollo refused
 * without a code gets one (graphql/request-errors.ts); anything unexpected is logged
 * in full and, in production, reaches the client only as "Internal server error",
 * with no stack, SQL or connection string.
 *
 * Each unexpected error is logged once: by the plugin on the request's logger when
 * Apollo hands the request's errors to plugins, which it does before formatting them;
 * else (over a WebSocket, or Apollo's own failures) by the formatter on `logger`.
 */
export function createErrorHandling({ production, logger }: { production: boolean; logger: ErrorLogger }): ErrorHandling {
  // By the error a resolver or the context threw: Apollo hands the formatter the
  // plugins' GraphQLError, or for a failed context a new one wrapping what it threw.
  const logged = new WeakSet<object>();
  const report = (error: unknown, to: ErrorLogger, code = codeOf(error)) => {
    const thrown: unknown = (error as GraphQLError | null)?.originalError ?? error;
    if (!unexpected(error, code) || (typeof thrown === 'object' && thrown !== null && logged.has(thrown))) return;
    if (typeof thrown === 'object' && thrown !== null) logged.add(thrown);
    to.error({ err: unwrapResolverError(error), path: (error as GraphQLError).path }, 'unexpected error while resolving a request');
  };
  const formatError: ErrorFormatter = (formatted, error) => {
    const original = unwrapResolverError(error);
    if (original instanceof ThroughlineError) {
      return { ...formatted, message: original.message, extensions: { code: original.code, ...details(original) } };
    }
    if (original instanceof ArgumentValidationError) {
      const fields = flatten(original.extensions.validationErrors);
      return {
        ...formatted,
        message: `Invalid input: ${fields.map((f) => f.messages.join(', ')).join('; ')}`,
        extensions: { code: 'BAD_USER_INPUT', fields },
      };
    }
    const refusal = codeForUncodedRefusal(error);
    if (refusal !== undefined) return { ...formatted, extensions: { ...formatted.extensions, code: refusal } };
    // Apollo's code, as formatted: an error it coded is not ours.
    const code = formatted.extensions?.code;
    if (!unexpected(error, code)) return formatted;
    report(error, logger, code);
    if (production) return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, ...(formatted.path ? { path: formatted.path } : {}) };
    return formatted;
  };
  const plugin: ErrorHandling['plugin'] = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) report(error, contextValue.logger);
        },
      };
    },
  };
  return { formatError, plugin, report };
}

/** Not the core's, not a validation failure, not a refusal, and with no code or Apollo's default one: a fault of ours. */
function unexpected(error: unknown, code: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof ThroughlineError || original instanceof ArgumentValidationError) return false;
  if (codeForUncodedRefusal(error) !== undefined) return false;
  return code === undefined || code === 'INTERNAL_SERVER_ERROR';
}

function codeOf(error: unknown): unknown {
  return (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
}

function details(error: ThroughlineError): Record<string, unknown> {
  if (error instanceof ConflictError) return error.details;
  if (error instanceof InvalidInputError && error.field) return { field: error.field };
  return {};
}

/** class-validator nests errors of nested inputs; report each as `input.field`. */
function flatten(errors: ValidationError[], prefix = ''): Array<{ field: string; messages: string[] }> {
  return errors.flatMap((e) => {
    const field = `${prefix}${e.property}`;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], `${field}.`)];
  });
}
