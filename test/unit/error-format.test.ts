import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConflictError, DatabaseUnavailableError, NotFoundError } from '../../src/errors';
import { createErrorHandling, type ErrorLogger } from '../../src/graphql/errors';

const logged: unknown[] = [];
const logger = { error: (obj: object) => logged.push(obj) };
const formatted = { message: 'whatever', path: ['user'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at …'] } };
const resolverError = (cause: Error) => new GraphQLError(cause.message, { originalError: cause, path: ['user'] });

describe('formatError', () => {
  const format = createErrorHandling({ production: true, logger }).formatError;

  it.each([
    [new NotFoundError('user', 4), 'NOT_FOUND', 'user 4 does not exist'],
    [new ConflictError('stale', { expectedVersion: 1, actualVersion: 2 }), 'CONFLICT', 'stale'],
    [new DatabaseUnavailableError(new Error('connect ECONNREFUSED 10.0.0.5:3306')), 'SERVICE_UNAVAILABLE', 'the database is unavailable; try again shortly'],
  ])('gives %s its code and drops the stack', (error, code, message) => {
    const out = format(formatted, resolverError(error));
    expect(out).toMatchObject({ message, path: ['user'], extensions: { code } });
    expect(JSON.stringify(out)).not.toMatch(/stacktrace|ECONNREFUSED|10\.0\.0\.5/);
  });

  it('masks an unexpected error in production and logs it in full', () => {
    const error = new Error("ER_PARSE_ERROR near 'SELECT * FROM users' at mysql://root:pw@db");
    const out = format(formatted, resolverError(error));
    expect(out).toEqual({ message: 'Internal server error', path: ['user'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toContainEqual(expect.objectContaining({ err: error }));
  });

  it('shows an unexpected error in development, to help whoever is debugging', () => {
    const dev = createErrorHandling({ production: false, logger }).formatError;
    expect(dev(formatted, resolverError(new Error('boom')))).toBe(formatted);
  });

  it.each([
    ['provided sha does not match query', 'PERSISTED_QUERY_HASH_MISMATCH'],
    ['Unsupported persisted query version', 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED'],
    ['some refusal Apollo may add later', 'BAD_REQUEST'],
  ])('codes a 4xx Apollo left without a code ("%s" → %s), and does not log it as ours', (message, code) => {
    const before = logged.length;
    const apollo = new GraphQLError(message, { extensions: { http: { status: 400 } } });
    expect(format({ message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, apollo)).toEqual({ message, extensions: { code } });
    expect(logged.length).toBe(before);
  });

  it('leaves errors that already carry a code alone', () => {
    const parse = { message: 'Syntax Error', extensions: { code: 'GRAPHQL_PARSE_FAILED' } };
    expect(format(parse, new GraphQLError('Syntax Error'))).toBe(parse);
  });
});

describe('unexpected errors', () => {
  /** What Apollo does with a request's errors: hands them to the plugins, then formats each. */
  async function encounter(handling: ReturnType<typeof createErrorHandling>, requestLogger: ErrorLogger, errors: GraphQLError[]) {
    const listener = await handling.plugin.requestDidStart!({} as never);
    await listener!.didEncounterErrors!({ errors, contextValue: { logger: requestLogger } } as never);
    return errors.map((error) => handling.formatError({ message: error.message, path: ['user'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, error));
  }

  it('are logged once, on the request’s own logger, when Apollo hands them to the plugins first', async () => {
    const server: unknown[] = [];
    const request: unknown[] = [];
    const handling = createErrorHandling({ production: true, logger: { error: (obj: object) => server.push(obj) } });
    const boom = new Error('boom');
    await encounter(handling, { error: (obj: object) => request.push(obj) }, [resolverError(boom), resolverError(new NotFoundError('user', 4))]);
    expect(request).toEqual([expect.objectContaining({ err: boom, path: ['user'] })]);
    expect(server).toEqual([]);
  });

  it('are logged by the formatter when no plugin saw them (over a WebSocket)', () => {
    const server: unknown[] = [];
    const handling = createErrorHandling({ production: true, logger: { error: (obj: object) => server.push(obj) } });
    const boom = new Error('boom');
    handling.formatError(formatted, resolverError(boom));
    expect(server).toEqual([expect.objectContaining({ err: boom })]);
  });

  it('are logged once when the context failed, though Apollo formats them wrapped in an error of its own', () => {
    const server: unknown[] = [];
    const request: unknown[] = [];
    const handling = createErrorHandling({ production: true, logger: { error: (obj: object) => server.push(obj) } });
    const boom = new Error('token service down');
    handling.report(boom, { error: (obj: object) => request.push(obj) });
    handling.formatError(formatted, new GraphQLError(`Context creation failed: ${boom.message}`, { originalError: boom }));
    expect(request).toEqual([expect.objectContaining({ err: boom })]);
    expect(server).toEqual([]);
  });
});
