/*
 * Throughline: added by src/graphql/landing-page.ts to Apollo's landing page (GET
 * /graphql from a browser), before anything else it loads. Apollo Sandbox lives on
 * Apollo's servers: a script from its CDN, which builds a frame from
 * sandbox.embed.apollographql.com. When either cannot load (offline, a firewall,
 * a proxy that lets nothing out), this sends the browser to the bundled GraphiQL,
 * which the service serves itself (the link the page shows says where). The query
 * string goes along: /graphql?query=… opens GraphiQL with that query.
 */
(function () {
  'use strict';

  const script = document.currentScript;
  const fallback = (script && script.dataset.fallback) || '/graphiql';
  /** How long Sandbox's script may take to arrive. */
  const SCRIPT_MS = 8000;
  /** How long its frame may take to answer once the script has run. */
  const FRAME_MS = 15000;
  const APOLLO = /^https:\/\/([a-z0-9-]+\.)*apollographql\.com$/;

  let gone = false;
  let frameAnswered = false;
  let frameTimer;

  function fallBack() {
    if (gone) return;
    gone = true;
    location.replace(fallback + location.search);
  }

  // A <script> that fails to load fires `error` on itself, which does not bubble:
  // caught here, on its way down.
  window.addEventListener(
    'error',
    (event) => {
      const target = event.target;
      if (target instanceof HTMLScriptElement && /apollographql\.com\//.test(target.src)) fallBack();
    },
    true,
  );

  // The Sandbox frame talks to this page (a handshake) as soon as it has loaded.
  window.addEventListener('message', (event) => {
    if (!APOLLO.test(event.origin)) return;
    frameAnswered = true;
    clearTimeout(frameTimer);
  });

  // Scripts that hang (packets dropped rather than refused) block the page for as long
  // as the network lets them: the timer runs meanwhile.
  const scriptTimer = setTimeout(fallBack, SCRIPT_MS);
  document.addEventListener('DOMContentLoaded', () => {
    clearTimeout(scriptTimer);
    // Apollo's script defines EmbeddedSandbox; by now it has run, or failed.
    if (typeof window.EmbeddedSandbox !== 'function') return fallBack();
    if (!frameAnswered) frameTimer = setTimeout(fallBack, FRAME_MS);
  });
})();
