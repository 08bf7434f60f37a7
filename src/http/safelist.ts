import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';

/** sha256 (hex) of an operation's exact text → that text. */
export type Safelist = ReadonlyMap<string, string>;

export const NOT_IN_SAFELIST = 'PERSISTED_QUERY_NOT_IN_SAFELIST';

/**
 * Reads an Apollo persisted query manifest ({ format: 'apollo-persisted-query-manifest',
 * version: 1, operations: [{ id, body, … }] }), checking that each id is its body's hash.
 */
export function loadSafelist(path: string): Safelist {
  let manifest: { format?: unknown; operations?: Array<{ id?: unknown; body?: unknown }> };
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`PERSISTED_QUERIES_MANIFEST: cannot read ${path} (${(err as Error).message})`);
  }
  if (manifest.format !== 'apollo-persisted-query-manifest' || !Array.isArray(manifest.operations)) {
    throw new Error(`PERSISTED_QUERIES_MANIFEST: ${path} is not an Apollo persisted query manifest`);
  }
  const safelist = new Map<string, string>();
  for (const { id, body } of manifest.operations) {
    if (typeof body !== 'string' || id !== sha256(body)) {
      throw new Error(`PERSISTED_QUERIES_MANIFEST: ${path} lists an operation whose id is not the sha256 of its body`);
    }
    safelist.set(id, body);
  }
  return safelist;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * What a request asks to run, by hash: the APQ hash it sends, or its text's hash.
 * Undefined if it names nothing that could be on the list (a batch, no query at all).
 */
function requestedHash(params: { query?: unknown; extensions?: unknown }): string | undefined {
  let extensions = params.extensions;
  if (typeof extensions === 'string') {
    try {
      extensions = JSON.parse(extensions); // GET puts it in the query string
    } catch {
      return undefined;
    }
  }
  const hash = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
  if (typeof hash === 'string') return hash;
  return typeof params.query === 'string' ? sha256(params.query) : undefined;
}

/**
 * Production's safelist: only operations in the manifest run. Checked on the raw
 * request, before Apollo parses anything, so a refused query costs a hash and no
 * more. Gives back the text to run: the request's own, or, for a listed hash sent
 * alone, the manifest's; undefined when the request is refused.
 */
export function admitted(safelist: Safelist, params: { query?: unknown; extensions?: unknown } | undefined): string | undefined {
  const hash = params && !Array.isArray(params) ? requestedHash(params) : undefined;
  return hash === undefined ? undefined : safelist.get(hash);
}

/** The error body of a refusal. */
export function safelistRefusal() {
  return { errors: [refusal()] };
}

/** The same check for a graphql-ws subscribe message, which sends the text. */
export function subscriptionRefusal(safelist: Safelist, query: string): GraphQLError | undefined {
  return safelist.has(sha256(query)) ? undefined : new GraphQLError(refusal().message, { extensions: refusal().extensions });
}

function refusal() {
  return { message: 'this operation is not on the safelist of persisted queries', extensions: { code: NOT_IN_SAFELIST } };
}
