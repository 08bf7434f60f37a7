import { RequestErrorCode } from '../../src/graphql/request-errors';

/**
 * Every code a client may see for a request that is wrong or not allowed: the
 * contract's, Apollo's for requests it refuses before they run, and the service's own
 * (src/graphql/request-errors.ts). Never INTERNAL_SERVER_ERROR, which is for our faults.
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<string>([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  ...Object.values(RequestErrorCode),
]);
