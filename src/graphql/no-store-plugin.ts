import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';

/**
 * Every GraphQL answer is `Cache-Control: no-store`, as Apollo's default cache-control
 * plugin would say for a schema without cache hints (ours has none: freshness is the
 * Redis cache's job, never an HTTP cache's). That plugin is replaced rather than kept
 * because it hooks every resolved field (willResolveField), which made Apollo wrap
 * every resolver of every request: a third of the CPU of `users(ids: 100)` (measured
 * by `npm run bench`; see bench/results.md).
 */
const NO_STORE: GraphQLRequestListener<BaseContext> = {
  async willSendResponse({ response }) {
    if (!response.http.headers.has('cache-control')) response.http.headers.set('cache-control', 'no-store');
  },
};

export function noStorePlugins(): ApolloServerPlugin[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    {
      // One listener for every request: nothing is allocated per request.
      requestDidStart: async () => NO_STORE,
    },
  ];
}
