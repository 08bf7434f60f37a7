import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLMetrics } from '../metrics/prometheus';

/** Operation names come from clients: only so many distinct ones become label values. */
const MAX_NAMES = 200;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Times every GraphQL operation into a histogram labelled by its name and outcome.
 * A metric label must stay bounded, and names are the client's to choose: a name
 * that is not an identifier, or one past the first MAX_NAMES, is counted as "other".
 */
export function metricsPlugin(metrics: GraphQLMetrics): ApolloServerPlugin {
  const seen = new Set<string>();
  const label = (name: string | null | undefined) => {
    if (!name) return 'anonymous';
    if (!NAME.test(name)) return 'other';
    if (!seen.has(name) && seen.size >= MAX_NAMES) return 'other';
    seen.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, errors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.operation(label(operationName), errors?.length ? 'error' : 'ok', seconds);
        },
      };
    },
  };
}
