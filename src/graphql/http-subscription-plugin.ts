import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { RequestErrorCode, requestError } from './request-errors';

/**
 * Refuses a subscription sent over HTTP, once Apollo knows which operation runs and
 * before any resolver does. Apollo would execute it as a query and answer with a
 * null error coded INTERNAL_SERVER_ERROR; it is the caller's mistake, and the answer
 * says where subscriptions are served.
 */
export function httpSubscriptionPlugin(): ApolloServerPlugin {
  // One listener for every request: nothing is allocated per request.
  const listener: GraphQLRequestListener<never> = {
    async didResolveOperation({ operation }) {
      if (operation?.operation !== 'subscription') return;
      throw requestError(
        'subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) at this same path, not over HTTP',
        RequestErrorCode.SubscriptionOverHttp,
      );
    },
  };
  return { requestDidStart: async () => listener };
}
