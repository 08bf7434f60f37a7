import { getOperationAST, getVariableValues, GraphQLError, type ExecutionArgs, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { ServerOptions, SubscribePayload } from 'graphql-ws';
import type { ErrorFormatter } from './errors';
import type { Limits } from './limits';
import { RequestErrorCode } from './request-errors';

export interface WebSocketOperationDeps {
  schema: GraphQLSchema;
  limits: Pick<Limits, 'parseOverWebSocket' | 'validateOverWebSocket'>;
  /** The formatter HTTP answers go through, so both transports give the same codes. */
  formatError: ErrorFormatter;
  /** The context of one operation, from the connection's `authorization` parameter. */
  contextFor(authorization: unknown): Promise<unknown>;
  /** Over this many bytes, a subscribe message is refused like an HTTP body would be. */
  maxOperationBytes: number;
  /** A refusal before parsing (the safelist), or undefined to go on. */
  refuse?: (payload: SubscribePayload) => GraphQLError | undefined;
}

/**
 * graphql-ws's hooks for every operation sent over the socket. graphql-ws parses and
 * validates on its own, but a document that does not parse throws inside its
 * message handler, which closes the whole socket (4500) and every subscription on
 * it. So `onSubscribe` does each step itself and answers a bad operation with an
 * `error` message for its id, coded as Apollo codes the same mistake over HTTP;
 * the socket and its other operations live on. Results and errors then pass through
 * the same formatter as HTTP's.
 */
export function websocketOperations(deps: WebSocketOperationDeps): Pick<ServerOptions, 'onSubscribe' | 'onNext' | 'onError'> {
  const format = (errors: readonly GraphQLError[]) => errors.map((error) => deps.formatError(withCode(error), error));
  return {
    onSubscribe: async (ctx, _id, payload) => {
      const refusal = deps.refuse?.(payload) ?? tooLarge(payload, deps.maxOperationBytes);
      if (refusal) return [refusal];
      const prepared = prepare(deps, payload);
      if (Array.isArray(prepared)) return prepared;
      return { ...prepared, contextValue: await deps.contextFor(ctx.connectionParams?.authorization) };
    },
    // Most results carry no errors: those are sent as graphql-ws would.
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
    onError: (_ctx, _id, _payload, errors) => format(errors),
  };
}

/** Parses, validates and resolves the operation, with the limits HTTP has; or the errors, coded. */
function prepare(deps: WebSocketOperationDeps, payload: SubscribePayload): Omit<ExecutionArgs, 'contextValue'> | GraphQLError[] {
  let document;
  try {
    document = deps.limits.parseOverWebSocket(payload.query);
  } catch (err) {
    // graphql-js's parser throws nothing but GraphQLErrors (syntax, token limit).
    return [coded(err as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
  }
  const invalid = deps.limits.validateOverWebSocket(deps.schema, document);
  if (invalid.length > 0) return invalid.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
  const operationName = payload.operationName ?? undefined;
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    const message = operationName ? `Unknown operation named "${operationName}".` : 'Must provide operation name if query contains multiple operations.';
    return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  }
  // Coerced here rather than left to execute(), whose refusal would arrive as a
  // result (`next` with errors) instead of an error for the operation, and uncoded.
  const variables = getVariableValues(deps.schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 50 });
  if (variables.errors) return variables.errors.map((error) => coded(error, 'BAD_USER_INPUT'));
  return { schema: deps.schema, document, operationName, variableValues: payload.variables ?? {} };
}

function tooLarge(payload: SubscribePayload, maxBytes: number): GraphQLError | undefined {
  // The socket's own limit (ws maxPayload) is a multiple of this, so an over-limit
  // message is read, and refused for its id, instead of closing the socket (1009).
  const bytes = Buffer.byteLength(payload.query) + Buffer.byteLength(JSON.stringify(payload.variables ?? null)) + Buffer.byteLength(JSON.stringify(payload.extensions ?? null));
  if (bytes <= maxBytes) return undefined;
  return new GraphQLError(`the operation is over ${maxBytes} bytes`, { extensions: { code: RequestErrorCode.TooLarge } });
}

function coded(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

/** What Apollo hands its formatter: the error as JSON, INTERNAL_SERVER_ERROR where it has no code. */
function withCode(error: GraphQLError): GraphQLFormattedError {
  const json = error.toJSON();
  return { ...json, extensions: { ...json.extensions, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' } };
}
