import type { ApolloServerPlugin, BaseContext, GraphQLServerContext, LandingPage } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';

export interface SandboxLandingPageOptions {
  /** Headers Sandbox sends with every operation and its introspection (e.g. the development token). */
  headers?: Record<string, string> | undefined;
  /** Where the bundled explorer is (http/explorer-route.ts): the page falls back to it. */
  fallbackPath: string;
  /** The script that decides to fall back, served from this origin (http/explorer/landing.js). */
  fallbackScript: string;
}

/** Apollo's words when its Sandbox script has not loaded (plugin/landingPage/default/getEmbeddedHTML.ts). */
const APOLLO_OFFLINE_TEXT = '<p>Apollo Sandbox cannot be loaded; it appears that you might be offline.</p>';
/** Apollo's page sets its Content-Security-Policy in a <meta> tag, first thing in <head>. */
const APOLLO_CSP_META = /<meta http-equiv="Content-Security-Policy" content="[^"]*" \/>/;

/**
 * GET /graphql from a browser: Apollo's own embedded Sandbox (its local default
 * landing page, rendered by Apollo), plus one script of ours that sends the browser
 * to the bundled GraphiQL when Sandbox cannot load: its script from Apollo's CDN
 * fails or takes too long, or its frame never answers (offline, a firewall).
 * Everything else is Apollo's page as it is; `headers` go in Sandbox's
 * `initialState.sharedHeaders`, which it applies to every operation and to its
 * introspection.
 */
export function sandboxLandingPage(options: SandboxLandingPageOptions): ApolloServerPlugin {
  const sandbox = ApolloServerPluginLandingPageLocalDefault({
    embed: { initialState: options.headers ? { sharedHeaders: options.headers } : {} },
  });
  return {
    async serverWillStart(service: GraphQLServerContext) {
      const listener = await sandbox.serverWillStart!(service);
      const render = listener?.renderLandingPage;
      if (!render) throw new Error("Apollo Server's local landing page plugin rendered no landing page");
      return {
        async renderLandingPage(): Promise<LandingPage> {
          const page = await render();
          const { html } = page;
          return { html: async () => withFallback(typeof html === 'string' ? html : await html(), options) };
        },
      };
    },
  } satisfies ApolloServerPlugin<BaseContext>;
}

/**
 * Apollo's page with our script first (before its render-blocking font stylesheet,
 * so that nothing it loads from elsewhere can hold ours up) and a link in place of
 * Apollo's "you might be offline". The script comes from this origin, which the
 * page's own CSP allows ('self'); nothing inline is added.
 */
export function withFallback(html: string, options: Pick<SandboxLandingPageOptions, 'fallbackPath' | 'fallbackScript'>): string {
  const csp = APOLLO_CSP_META.exec(html);
  if (!csp) throw new Error("Apollo's landing page has no Content-Security-Policy <meta> where expected: the Sandbox fallback cannot be added");
  const at = csp.index + csp[0].length;
  const script = `\n    <script src="${options.fallbackScript}" data-fallback="${options.fallbackPath}"></script>`;
  const link =
    `<p>Apollo Sandbox cannot be loaded; it appears that you might be offline. ` +
    `Opening <a id="explorer-fallback" href="${options.fallbackPath}">the bundled GraphiQL</a>, which works offline…</p>`;
  return (html.slice(0, at) + script + html.slice(at)).replace(APOLLO_OFFLINE_TEXT, link);
}
