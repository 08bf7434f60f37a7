import type { TypedDocumentString } from './gql/graphql';

/**
 * A small GraphQL-over-HTTP client that speaks Apollo's automatic persisted queries
 * (APQ). It sends `String(document)` — the exact text codegen wrote into gql/graphql.ts,
 * byte for byte — so its sha256 is the id `npm run persisted-queries` lists in the
 * safelist. No cache: every call goes to the server.
 *
 * APQ: the hash alone first; on PERSISTED_QUERY_NOT_FOUND the same request again with
 * the text, which registers it. Where the browser has no WebCrypto (a page served over
 * plain http from a host other than localhost), the text is sent every time.
 */

export interface GraphQLErrorItem {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

/** What the server answered with errors (or not at all): `code` is the first error's code. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly errors: GraphQLErrorItem[] = [],
  ) {
    super(message);
  }
}

/** One round trip, for the page's request log: what was sent and what came back. */
export interface Exchange {
  operationName: string;
  /** The sha256 of the text (the id in persisted-queries.json), if WebCrypto is there. */
  hash: string | undefined;
  sent: 'hash' | 'hash + text' | 'text';
  outcome: string;
}

export interface ClientOptions {
  url: string;
  /** Read at each request; sent as `Authorization: Bearer …` when there is one. */
  token: () => string | undefined;
  onExchange?: (exchange: Exchange) => void;
}

interface Response<T> {
  data?: T | null;
  errors?: GraphQLErrorItem[];
}

export function createClient({ url, token, onExchange }: ClientOptions) {
  const hashes = new Map<string, Promise<string | undefined>>();
  let apq = true; // false once the server says it does not support APQ

  async function post<T>(operationName: string, hash: string | undefined, sent: Exchange['sent'], body: object): Promise<Response<T>> {
    const bearer = token();
    let response: globalThis.Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ operationName, ...body }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      onExchange?.({ operationName, hash, sent, outcome: 'no answer' });
      throw new GraphQLRequestError(`The API at ${url} does not answer (is it running, and does its CORS allow this page?).`, undefined);
    }
    const result = (await response.json().catch(() => ({}))) as Response<T>;
    const code = result.errors?.[0]?.extensions?.code;
    onExchange?.({ operationName, hash, sent, outcome: code ?? (result.data ? 'ok' : `HTTP ${response.status}`) });
    return result;
  }

  return {
    async request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables): Promise<TResult> {
      const query = String(document);
      const operationName = operationNameOf(query);
      if (!hashes.has(query)) hashes.set(query, sha256Hex(query));
      const hash = apq ? await hashes.get(query) : undefined;
      let result: Response<TResult> | undefined;
      if (hash !== undefined) {
        const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
        result = await post<TResult>(operationName, hash, 'hash', { variables, extensions });
        const code = result.errors?.[0]?.extensions?.code;
        if (code === 'PERSISTED_QUERY_NOT_FOUND') result = await post<TResult>(operationName, hash, 'hash + text', { query, variables, extensions });
        else if (code === 'PERSISTED_QUERY_NOT_SUPPORTED') apq = false;
      }
      if (!apq || result === undefined) result = await post<TResult>(operationName, hash, 'text', { query, variables });
      if (result.errors?.length) {
        const [first] = result.errors;
        throw new GraphQLRequestError(first!.message, first!.extensions?.code, result.errors);
      }
      if (!result.data) throw new GraphQLRequestError(`${operationName}: the API answered without data.`, undefined);
      return result.data;
    },
  };
}

export type Client = ReturnType<typeof createClient>;

/** The hex sha256 of the text's UTF-8 bytes, as the server computes it; undefined without WebCrypto. */
async function sha256Hex(text: string): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function operationNameOf(query: string): string {
  const name = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query)?.[1];
  if (!name) throw new Error('every operation of this client is named');
  return name;
}
