/** The operations the scenarios send, as clients send them: one document, the ids in variables. */
export const QUERIES = {
  user: 'query User($id: ID!) { user(id: $id) { id name email version } }',
  users: 'query Users($ids: [ID!]!) { users(ids: $ids) { id name email version } }',
  products: 'query Products($ids: [ID!]!) { products(ids: $ids) { id name stock version } }',
  recentOrders:
    'query Recent($limit: Int!) { recentOrders(limit: $limit) { id quantity totalCents user { id name email } product { id name stock } } }',
  userOrders:
    'query UserOrders($id: ID!, $first: Int!) { user(id: $id) { id name orders(first: $first) { edges { cursor node { id quantity product { id name } } } pageInfo { hasNextPage endCursor } } } }',
  updateUser: 'mutation Update($id: ID!, $name: String!) { updateUser(id: $id, input: { name: $name }) { id name version } }',
} as const;

export type Variables = Record<string, unknown>;

export function body(query: string, variables: Variables): string {
  return JSON.stringify({ query, variables });
}

export function headers(token?: string): Record<string, string> {
  return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

/** One request; fails on any GraphQL error, so that a scenario never measures error responses. */
export async function gql<T = any>(url: string, query: string, variables: Variables = {}, token?: string): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: headers(token), body: body(query, variables) });
  const json = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || json.errors) throw new Error(`${url}: HTTP ${response.status} ${JSON.stringify(json.errors ?? json)}`);
  return json.data!;
}

/** `count` ids starting at `first`, wrapping around within 1..`of`. */
export function idWindow(first: number, count: number, of: number): string[] {
  return Array.from({ length: count }, (_, i) => String(((first - 1 + i) % of) + 1));
}
