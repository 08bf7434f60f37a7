import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { pollUntil } from './poll';

const FAILURE_FIELDS = 'id failureId entity entityId operation version error occurredAt instance repairedAt repairedBy';
const SUBSCRIPTION = `subscription($entity: String, $after: ID) {
  writeThroughFailures(entity: $entity, after: $after) { ${FAILURE_FIELDS} }
}`;

export interface FailureEvent {
  id: string;
  failureId: string;
  entity: string;
  entityId: string;
  operation: string;
  version: number;
  error: string;
  occurredAt: string;
  instance: string;
  repairedAt: string | null;
  repairedBy: string | null;
  /** When the client received it (Date.now()). */
  receivedAt: number;
}

export interface Subscriber {
  /** Every event received so far, in order. */
  events: FailureEvent[];
  /** The next event not yet taken (it may have arrived already), or fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<FailureEvent>;
  /** The close event of the client's socket, or fails after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  /** What the subscription ended with, if it has: GraphQL errors or a close event. */
  readonly error: unknown;
  dispose(): Promise<void>;
}

/**
 * A real graphql-ws client over a real WebSocket, subscribed to `writeThroughFailures`.
 * The caller disposes it (tests register `dispose` with their cleanup).
 */
export function subscribeToFailures(wsUrl: string, variables: { entity?: string; after?: string } = {}, options: { token?: string } = {}): Subscriber {
  const events: FailureEvent[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  let error: unknown;
  let taken = 0;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
    // A closed socket ends the subscription with an error instead of reconnecting.
    retryAttempts: 0,
    on: { closed: (event) => void closes.push(event as { code: number; reason: string }) },
  });
  const unsubscribe = client.subscribe<{ writeThroughFailures: Omit<FailureEvent, 'receivedAt'> }>(
    { query: SUBSCRIPTION, variables },
    {
      next: (result) => {
        if (result.errors) error = result.errors;
        else events.push({ ...result.data!.writeThroughFailures, receivedAt: Date.now() });
      },
      error: (err) => void (error = err),
      complete: () => {},
    },
  );
  let disposed: Promise<void> | undefined;
  const self: Subscriber = {
    events,
    get error() {
      return error;
    },
    async next(timeoutMs = 5_000) {
      // An error ends the subscription: report it at once rather than at the deadline.
      const outcome = await pollUntil(
        `event #${taken + 1} (received so far: ${JSON.stringify(events.map((e) => e.id))})`,
        (): { event: FailureEvent } | { error: unknown } | undefined => {
          const event = events[taken];
          return event ? { event } : error ? { error } : undefined;
        },
        timeoutMs,
      );
      if (!('event' in outcome)) throw new Error(`the subscription failed: ${JSON.stringify(outcome.error)}`);
      taken++;
      return outcome.event;
    },
    closed: (timeoutMs = 5_000) => pollUntil('the socket to close', () => closes[0], timeoutMs),
    dispose: () =>
      (disposed ??= (async () => {
        unsubscribe();
        await client.dispose();
      })()),
  };
  return self;
}
