import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sameHostSockets } from './monitor-route';
import { send, type Handler } from './respond';

/**
 * The explorers: Apollo Sandbox at GET /graphql from a browser (graphql/landing-page.ts),
 * and the bundled GraphiQL at /graphiql, which Sandbox falls back to when it cannot load.
 */
export interface ExplorerSettings {
  /** Both on (GRAPHQL_EXPLORER; by default on except in production), or both off. */
  enabled: boolean;
  /**
   * Pre-filled in both: Sandbox's shared headers, GraphiQL's Headers tab. Shown to
   * whoever opens the page: main.ts gives the token it made up in development, no more.
   */
  headers?: Record<string, string> | undefined;
}

/** Where the bundled GraphiQL is, and its page's files. */
export const GRAPHIQL_PATH = '/graphiql';
/** The script graphql/landing-page.ts adds to Apollo's landing page. */
export const LANDING_SCRIPT_PATH = `${GRAPHIQL_PATH}/landing.js`;

/** Next to this module from src/ (tsx, vitest); in src/ still from dist/, which tsc fills with .js only. */
const ASSET_DIRS = [join(__dirname, 'explorer'), resolve(__dirname, '../../src/http/explorer')];

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * GET /graphiql: GraphiQL 3's browser build (React 18's UMD builds under it) from
 * node_modules, a page script of ours (http/explorer/explorer.js) and the script of
 * Apollo's landing page, all from this origin: the explorer works with no internet.
 * The page is rendered per response, for the headers to pre-fill and a style nonce.
 */
export function explorerRoutes(settings: Pick<ExplorerSettings, 'headers'> = {}): Record<string, Handler> {
  const dir = ASSET_DIRS.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (!dir) throw new Error(`the /graphiql page's files were not found in ${ASSET_DIRS.join(' or ')}`);
  const graphiqlDir = packageDir('graphiql');
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const assets: Record<string, Asset> = {
    // The build ends pointing at a source map it does not ship under that name.
    [`${GRAPHIQL_PATH}/graphiql.js`]: { type: js, body: withoutSourceMap(readFileSync(join(graphiqlDir, 'graphiql.min.js'))) },
    [`${GRAPHIQL_PATH}/graphiql.css`]: { type: css, body: readFileSync(join(graphiqlDir, 'graphiql.min.css')) },
    [`${GRAPHIQL_PATH}/react.js`]: { type: js, body: readFileSync(join(packageDir('react'), 'umd', 'react.production.min.js')) },
    [`${GRAPHIQL_PATH}/react-dom.js`]: { type: js, body: readFileSync(join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js')) },
    [`${GRAPHIQL_PATH}/explorer.js`]: { type: js, body: readFileSync(join(dir, 'explorer.js')) },
    [`${GRAPHIQL_PATH}/explorer.css`]: { type: css, body: readFileSync(join(dir, 'explorer.css')) },
    [LANDING_SCRIPT_PATH]: { type: js, body: readFileSync(join(dir, 'landing.js')) },
  };
  const template = readFileSync(join(dir, 'index.html'), 'utf8');
  if (!template.includes('{{CONFIG}}')) throw new Error(`${join(dir, 'index.html')} has no {{CONFIG}} for the page's settings`);

  const headersOf = (type: string, csp: string): Record<string, string> => ({
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': csp,
  });
  const page: Handler = (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    // A data block, never run: `<` escaped, so nothing in it can end the element.
    const pageConfig = JSON.stringify({ headers: settings.headers ?? null, nonce }).replace(/</g, '\\u003c');
    const html = template.replace('{{CONFIG}}', () => pageConfig);
    send(res, 200, headersOf('text/html; charset=utf-8', contentSecurityPolicy(req.headers.host, nonce)), html);
  };
  const file =
    (asset: Asset): Handler =>
    (req, res) =>
      send(res, 200, headersOf(asset.type, contentSecurityPolicy(req.headers.host)), asset.body);
  return {
    [GRAPHIQL_PATH]: page,
    [`${GRAPHIQL_PATH}/`]: page,
    ...Object.fromEntries(Object.entries(assets).map(([path, asset]) => [path, file(asset)])),
  };
}

/**
 * Only this origin, as /monitor's, with what GraphiQL needs besides:
 * - `style-src 'nonce-…'`: its dialogs add a <style> element (react-remove-scroll),
 *   given the page's nonce (explorer.js); no 'unsafe-inline'. Its other inline styles
 *   are set through the DOM (element.style), which CSP does not restrict.
 * - `font-src data:`: graphiql.css carries its fonts (Roboto, Fira Code) as data: URLs;
 *   `img-src data:`: its icons in the CSS are data: SVGs.
 * No 'unsafe-eval': neither GraphiQL's build nor React's evaluates strings.
 */
function contentSecurityPolicy(host: string | undefined, nonce?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${nonce ? ` 'nonce-${nonce}'` : ''}`,
    "img-src 'self' data:",
    'font-src data:',
    `connect-src 'self'${sameHostSockets(host)}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A package's folder; these packages' "exports" do not list their browser builds. */
function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

function withoutSourceMap(body: Buffer): Buffer {
  return Buffer.from(body.toString('utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
}
