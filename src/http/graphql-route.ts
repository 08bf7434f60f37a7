import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import bodyParser from 'body-parser';
import { sendJson, searchOf, type Handler } from './respond';
import { admitted, safelistRefusal, type Safelist } from './safelist';

export interface GraphQLRouteOptions<C extends BaseContext> {
  maxBodyBytes: number;
  /** Only these operations run (the safelist mode). */
  safelist?: Safelist | undefined;
  context(req: IncomingMessage): Promise<C>;
  /** What to answer when the body cannot be read (json-errors.ts). */
  answerError(err: unknown, res: ServerResponse): void;
}

/**
 * /graphql over HTTP, straight from Node's request to Apollo's
 * executeHTTPGraphQLRequest, as Apollo's own standalone server does: body-parser reads
 * a JSON body (the limit, the charset, compressed bodies), and nothing else stands in
 * between, no router, no per-request middleware chain.
 */
export function graphqlRoute<C extends BaseContext>(apollo: ApolloServer<C>, options: GraphQLRouteOptions<C>): Handler {
  const readJson = bodyParser.json({ limit: options.maxBodyBytes });
  return (req, res) =>
    readJson(req, res, (err?: unknown) => {
      if (err) return options.answerError(err, res);
      execute(apollo, options, req, res).catch((error: unknown) => options.answerError(error, res));
    });
}

async function execute<C extends BaseContext>(apollo: ApolloServer<C>, options: GraphQLRouteOptions<C>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method!.toUpperCase();
  let search = searchOf(req.url);
  let body = (req as { body?: unknown }).body;
  if (options.safelist) {
    const params = method === 'GET' ? paramsOf(search) : (body as { query?: unknown } | undefined);
    const text = admitted(options.safelist, params);
    if (text === undefined) return sendJson(res, 400, safelistRefusal());
    // A listed hash sent alone runs the manifest's text.
    if (typeof params?.query !== 'string') {
      if (method === 'GET') search = withQuery(search, text);
      else body = { ...(body as object), query: text };
    }
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search, body },
    context: () => options.context(req),
  });
  await write(res, response);
}

async function write(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function paramsOf(search: string): { query?: unknown; extensions?: unknown } {
  const params = new URLSearchParams(search);
  return { query: params.get('query') ?? undefined, extensions: params.get('extensions') ?? undefined };
}

function withQuery(search: string, query: string): string {
  const params = new URLSearchParams(search);
  params.set('query', query);
  return `?${params.toString()}`;
}
