import { GraphQLError } from 'graphql';

/**
 * The codes of requests refused before anything ran: the caller's mistake, answered
 * with a 4xx, never logged as ours. Apollo's own (GRAPHQL_PARSE_FAILED,
 * GRAPHQL_VALIDATION_FAILED, OPERATION_RESOLUTION_FAILURE, PERSISTED_QUERY_NOT_FOUND,
 * BAD_REQUEST, …) keep their names; these name what Apollo leaves without a code, and
 * what never reaches Apollo.
 */
export const RequestErrorCode = {
  /** The body is not JSON (or not in a charset or encoding the service reads). */
  InvalidBody: 'INVALID_REQUEST_BODY',
  /** The body, or a graphql-ws subscribe message, is over MAX_BODY_BYTES. */
  TooLarge: 'PAYLOAD_TOO_LARGE',
  /** A request a browser could have sent from another site without asking first. */
  CsrfPrevented: 'CSRF_PREVENTED',
  /** A subscription sent over HTTP: they are served over graphql-ws on the same path. */
  SubscriptionOverHttp: 'SUBSCRIPTION_NEEDS_WEBSOCKET',
  /** An APQ hash that is not the sha256 of the query sent with it. */
  PersistedQueryHashMismatch: 'PERSISTED_QUERY_HASH_MISMATCH',
  /** An APQ `persistedQuery.version` other than 1. */
  PersistedQueryVersion: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
  /** A path the service does not serve. */
  NoSuchRoute: 'ROUTE_NOT_FOUND',
} as const;
export type RequestErrorCode = (typeof RequestErrorCode)[keyof typeof RequestErrorCode];

/** A refusal Apollo answers with `status` and this code, from a plugin or a hook. */
export function requestError(message: string, code: RequestErrorCode, status = 400): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

/**
 * Apollo refuses a few requests with a 4xx but no code, which its formatter then
 * fills in as INTERNAL_SERVER_ERROR: these are matched by Apollo's messages
 * (requestPipeline.ts), anything else of the kind is a BAD_REQUEST.
 */
const APOLLO_UNCODED: Record<string, RequestErrorCode> = {
  'provided sha does not match query': RequestErrorCode.PersistedQueryHashMismatch,
  'Unsupported persisted query version': RequestErrorCode.PersistedQueryVersion,
};

/** The code for an error Apollo answered with a 4xx and no code; undefined if it is not one. */
export function codeForUncodedRefusal(error: unknown): string | undefined {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return undefined;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return APOLLO_UNCODED[error.message] ?? 'BAD_REQUEST';
}
