import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { send, type Handler } from './respond';

/**
 * Where the page's files are: next to this module when it runs from src/ (tsx,
 * vitest), and in src/ still when it runs from dist/, which tsc fills with .js only.
 */
const ASSET_DIRS = [join(__dirname, 'monitor'), resolve(__dirname, '../../src/http/monitor')];

interface Asset {
  type: string;
  body: Buffer;
}

/** A Host header that can go into the CSP as it is, or nothing (then 'self' alone). */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * GET /monitor: a live page for whoever runs the service — failed cache writes as
 * they happen (the writeThroughFailures subscription over graphql-ws), the backlog,
 * hit ratio and write-through latency (cacheStatus, polled), Redis and MySQL.
 *
 * The page and its script hold nothing secret: every number comes from the admin-only
 * GraphQL API, called by the page with a token the operator gives it (sign-in form, or
 * `#token=…`, which as a URL fragment never reaches the server or its logs). No CDN:
 * graphql-ws's browser build is served from node_modules.
 */
export function monitorRoutes(): Record<string, Handler> {
  const dir = ASSET_DIRS.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (!dir) throw new Error(`the /monitor page's files were not found in ${ASSET_DIRS.join(' or ')}`);
  // graphql-ws's "exports" do not list umd/, so resolve the package and look inside.
  const graphqlWsDir = dirname(require.resolve('graphql-ws/package.json'));
  const js = 'text/javascript; charset=utf-8';
  const assets: Record<string, Asset> = {
    '/monitor': { type: 'text/html; charset=utf-8', body: readFileSync(join(dir, 'index.html')) },
    '/monitor/monitor.js': { type: js, body: readFileSync(join(dir, 'monitor.js')) },
    '/monitor/monitor.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'monitor.css')) },
    // The page's GraphQL operations, exactly as it sends them; the persisted query
    // manifest (scripts/generate-persisted-queries.ts) is made from this same file.
    '/monitor/operations.json': { type: 'application/json; charset=utf-8', body: readFileSync(join(dir, 'operations.json')) },
    '/monitor/graphql-ws.js': { type: js, body: readFileSync(join(graphqlWsDir, 'umd', 'graphql-ws.min.js')) },
  };

  const page =
    (asset: Asset): Handler =>
    (req, res) =>
      send(
        res,
        200,
        {
          'Content-Type': asset.type,
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Content-Security-Policy': contentSecurityPolicy(req.headers.host),
        },
        asset.body,
      );
  return Object.fromEntries(Object.entries(assets).map(([path, asset]) => [path, page(asset)]));
}

/** Only this origin, for everything; the WebSocket to the same host and port. */
function contentSecurityPolicy(host: string | undefined): string {
  const sockets = sameHostSockets(host);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The CSP sources for WebSockets to the page's own host and port (' ws://… wss://…'),
 * which 'self' does not cover in every browser; '' for a Host that cannot go into a CSP.
 */
export function sameHostSockets(host: string | undefined): string {
  return host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
}
