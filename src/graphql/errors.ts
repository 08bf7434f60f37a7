import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { ConflictError, InvalidInputError, ThroughlineError } from '../errors';
import { codeForUncodedRefusal } from './request-errors';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/**
 * Gives every error a code in `extensions.code`. The core's errors become their
 * codes; validation failures say which field and why; a request Apollo refused
 * without a code gets one (graphql/request-errors.ts); anything unexpected is logged
 * in full and, in production, reaches the client only as "Internal server error",
 * with no stack, SQL or connection string.
 */
export function createErrorFormatter({ production, logger }: { production: boolean; logger: ErrorLogger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
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
    const code = formatted.extensions?.code;
    if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
      logger.error({ err: original, path: formatted.path }, 'unexpected error while resolving a request');
      if (production) return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, ...(formatted.path ? { path: formatted.path } : {}) };
    }
    return formatted;
  };
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
