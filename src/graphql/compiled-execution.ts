import type { GatewayInterface, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { execute, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationTypeNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import type { ExecutorSettings } from '../config';

export type ExecutorUsed = 'jit' | 'standard';

export interface ExecutionObserver {
  /** Which executor answered an operation. */
  executed(executor: ExecutorUsed): void;
  /** How many compiled operations are kept now. */
  compiled(count: number): void;
}

export interface ExecutionLogger {
  warn(obj: object, msg: string): void;
}

/** One validated operation of one document, as Apollo hands it to a gateway. */
export interface Operation {
  /** Apollo's hash of the query text: the same text always has the same hash. */
  queryHash: string;
  document: DocumentNode;
  operationName: string | undefined;
  /** Undefined when no operation of the document matches `operationName`. */
  kind: OperationTypeNode | undefined;
  variables: Record<string, unknown> | undefined;
  context: unknown;
}

/** graphql-jit could not compile it: it runs on graphql-js for as long as it is cached. */
const REJECTED = Symbol('rejected');
type Compiled = CompiledQuery | typeof REJECTED;

/**
 * Runs each operation with a graphql-jit compiled function, or with graphql-js.
 *
 * graphql-js walks the document for every request: for `users(ids: 100)` that is
 * most of the CPU a warm read costs. graphql-jit turns an operation into one
 * function once, and every later request runs that function. Compiling costs far
 * more than one execution, so an operation is compiled only when it comes back
 * (`compileAfter`), and at most `cacheSize` compiled operations are kept: a flood of
 * distinct operations runs on graphql-js and neither grows memory nor burns CPU.
 */
export function createCompiledExecutor(
  schema: GraphQLSchema,
  settings: Pick<ExecutorSettings, 'cacheSize' | 'compileAfter'>,
  deps: { observer: ExecutionObserver; logger: ExecutionLogger; compile?: typeof compileQuery },
) {
  const compileOperation = deps.compile ?? compileQuery;
  const compiled = new LRUCache<string, Compiled>({ max: settings.cacheSize });
  // Operations seen but not compiled yet, with their runs so far. Bounded too, but
  // roomier (an entry is a hash and a count), so that a flood of one-offs does not
  // make the service forget an operation that is about to come back.
  const runs = new LRUCache<string, number>({ max: settings.cacheSize * 10 });

  function compiledFor(op: Operation): Compiled | undefined {
    // Subscriptions are graphql-ws's, on graphql-js. A document whose operationName
    // matches nothing (or that holds several operations and names none) has nothing to
    // compile: graphql-js answers it with the error Apollo turns into a 400
    // OPERATION_RESOLUTION_FAILURE.
    if (op.kind === undefined || op.kind === 'subscription') return REJECTED;
    // A document may hold several operations: the name picks one, so it is part of the key.
    const key = `${op.queryHash}:${op.operationName ?? ''}`;
    const hit = compiled.get(key);
    if (hit !== undefined) return hit;
    const seen = runs.get(key) ?? 0;
    if (seen < settings.compileAfter) {
      runs.set(key, seen + 1);
      return undefined;
    }
    runs.delete(key);
    const entry = compile(op);
    compiled.set(key, entry);
    deps.observer.compiled(compiled.size);
    return entry;
  }

  function compile(op: Operation): Compiled {
    try {
      const result = compileOperation(schema, op.document, op.operationName, { disablingCapturingStackErrors: true });
      if (isCompiledQuery(result)) return result;
      deps.logger.warn({ errors: result.errors?.map((e) => e.message), operationName: op.operationName }, 'graphql-jit cannot compile this operation; it runs on graphql-js');
    } catch (err) {
      deps.logger.warn({ err, operationName: op.operationName }, 'graphql-jit failed to compile this operation; it runs on graphql-js');
    }
    return REJECTED;
  }

  async function run(op: Operation): Promise<ExecutionResult> {
    const query = compiledFor(op);
    if (query !== undefined && query !== REJECTED) {
      const result = await query.query(undefined, op.context, op.variables);
      // No data means graphql-jit refused the variables before running anything.
      // graphql-js's errors for them point at the variable's definition, which is how
      // Apollo knows to answer 400 BAD_USER_INPUT; so those run again there, harmlessly.
      if (result.data !== undefined) {
        deps.observer.executed('jit');
        return result.errors ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
      }
    }
    deps.observer.executed('standard');
    return execute({ schema, document: op.document, operationName: op.operationName, variableValues: op.variables, contextValue: op.context });
  }

  return { run, size: () => compiled.size };
}

/**
 * graphql-jit's errors pass `instanceof GraphQLError` but leave `extensions`
 * undefined when the original error has none, where graphql-js always gives an
 * object; Apollo reads `extensions.code` and would fail on them. So each becomes the
 * error graphql-js would have made: same message, path, locations and original error.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const converted = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined });
  // graphql-jit has the locations but not the AST nodes graphql-js computes them from.
  Object.defineProperty(converted, 'locations', { value: error.locations, enumerable: error.locations !== undefined, writable: true });
  return converted;
}

export type CompiledExecutor = ReturnType<typeof createCompiledExecutor>;

/**
 * Apollo Server 5 has no executor option, but a gateway may bring its own executor:
 * this gateway serves a fixed schema and runs every operation, after Apollo has
 * parsed and validated it (query limits included), through `executor`.
 */
export function executionGateway(schema: GraphQLSchema, executor: CompiledExecutor): GatewayInterface {
  let announce: ((schemaContext: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }) => void) | undefined;
  return {
    onSchemaLoadOrUpdate(callback) {
      announce = callback;
      return () => void (announce = undefined);
    },
    async load() {
      // Apollo takes the schema from this announcement; the SDL is only for schema reporting, which is off.
      announce?.({ apiSchema: schema, coreSupergraphSdl: '' });
      return {
        executor: (request: GatewayGraphQLRequestContext) =>
          executor.run({
            queryHash: request.queryHash,
            document: request.document,
            operationName: request.request.operationName,
            // Apollo leaves `operation` undefined when the name picks no operation.
            kind: request.operation?.operation,
            variables: request.request.variables,
            context: request.context,
          }),
      };
    },
    async stop() {},
  };
}
