import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { RequestErrorCode } from '../../src/graphql/request-errors';
import { watchFeed, type FeedWatch } from '../helpers/feed-watch';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

// The explorers in a real browser with no internet: Debian's Chromium, driven by
// playwright-core, every request to anything but this machine refused. GET /graphql
// opens Apollo's landing page, whose Sandbox cannot load from Apollo's CDN, so it
// falls back to the bundled GraphiQL, which runs a query, a mutation and a
// subscription against the real server, MySQL and a private redis-server that the
// test pauses to make a cache write fail (as monitor.browser.test.ts does).

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`explorer.browser.test.ts: the browser tests are skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it).`);
}
const ARTIFACTS = resolve(__dirname, '../artifacts');

let redis: PrivateRedis | undefined;
let s: TestServer;
let production: TestServer | undefined;
let base: string;
/** The token main.ts makes up in development, and the header it has the explorers pre-fill. */
let developmentToken: string;
let feed: FeedWatch;

beforeAll(async () => {
  redis = await startPrivateRedis();
  // As main.ts does in development without JWT_SECRET: a secret made up for the run,
  // an admin token signed with it, and its header for the explorers.
  const jwtSecret = makeUpSecret();
  developmentToken = await issueToken(jwtSecret, ['read', 'write', 'admin'], { subject: 'developer', expiresIn: '12h' });
  s = await startTestServer({
    redisUrl: redis.url,
    commandTimeoutMs: 100,
    settings: { writeRetries: 1, writeRetryDelayMs: 5 },
    repairs: false, // nothing repairs the failure the subscription shows
    jwtSecret,
    explorer: { enabled: true, headers: { Authorization: `Bearer ${developmentToken}` } },
  });
  base = s.url.replace(/\/graphql$/, '');
  feed = watchFeed(s.core.feed);
});

afterAll(async () => {
  const results = await Promise.allSettled([s?.close(), production?.close()]);
  results.push(...(await Promise.allSettled([redis?.kill()])));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

/** An update whose cache write fails: Redis is paused (SIGSTOP) for the length of it. */
async function updateWithRedisPaused(id: string, name: string): Promise<void> {
  redis!.pause();
  try {
    const res = await s.gql(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version } }`, { id, input: { name } });
    expect(res.errors).toBeUndefined();
  } finally {
    redis!.resume();
  }
}

const htmlAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('the explorer over HTTP', () => {
  it('serves /graphiql and its files from its own origin, no-store, under a same-origin Content-Security-Policy', async () => {
    const page = await fetch(`${base}/graphiql`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toMatch(/style-src 'self' 'nonce-[A-Za-z0-9+/=]+';/);
    expect(csp).not.toContain('unsafe');
    expect(csp).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host}`);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    // The pre-filled header, in a data block (never a URL); a fresh nonce per page.
    expect(html).toContain(`"headers":{"Authorization":"Bearer ${developmentToken}"}`);
    const again = (await fetch(`${base}/graphiql`)).headers.get('content-security-policy');
    expect(again).not.toBe(csp);

    for (const [path, type, text] of [
      ['/graphiql/graphiql.js', /^text\/javascript/, 'createFetcher'],
      ['/graphiql/graphiql.css', /^text\/css/, '.graphiql-container'],
      ['/graphiql/react.js', /^text\/javascript/, 'react.production.min.js'],
      ['/graphiql/react-dom.js', /^text\/javascript/, 'react-dom.production.min.js'],
      ['/graphiql/explorer.js', /^text\/javascript/, 'graphqlWs.createClient'],
      ['/graphiql/explorer.css', /^text\/css/, '#graphiql'],
      ['/graphiql/landing.js', /^text\/javascript/, 'location.replace'],
    ] as const) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(await res.text(), path).toContain(text);
    }
  });

  it('opens Apollo Sandbox at GET /graphql from a browser, with the header pre-filled and a way to GraphiQL', async () => {
    const res = await fetch(s.url, { headers: htmlAccept });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('https://embeddable-sandbox.cdn.apollographql.com/');
    expect(html).toContain(`"sharedHeaders":{"Authorization":"Bearer ${developmentToken}"}`);
    // Our script, first after Apollo's CSP (which allows 'self'), and a link for whoever reads the page.
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="script-src 'self' [^"]*" \/>\s*<script src="\/graphiql\/landing\.js" data-fallback="\/graphiql"><\/script>/);
    expect(html).toContain('<a id="explorer-fallback" href="/graphiql">the bundled GraphiQL</a>');
    // Other clients are answered as before.
    const json = await fetch(`${s.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('is off in production unless enabled: /graphiql answers the JSON 404 and GET /graphql no page', async () => {
    production = await startTestServer({ production: true });
    const productionBase = production.url.replace(/\/graphql$/, '');
    for (const path of ['/graphiql', '/graphiql/graphiql.js', '/graphiql/landing.js']) {
      const res = await fetch(productionBase + path, { headers: htmlAccept });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, path).toBe(RequestErrorCode.NoSuchRoute);
    }
    const landing = await fetch(production.url, { headers: htmlAccept });
    expect(landing.headers.get('content-type')).not.toMatch(/text\/html/);
    expect(await landing.text()).not.toContain('Sandbox');
  });
});

describe.skipIf(!haveChromium)('the explorer', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

  interface Tab {
    page: Page;
    context: BrowserContext;
    /** Every URL the page asked for, refused ones included. */
    urls: string[];
    sockets: string[];
    console: string[];
  }

  /**
   * A fresh browser profile with no internet: every request to another host is refused
   * as if offline, or (`hang`) left unanswered, as a firewall that drops packets does.
   */
  async function openOfflineTab(options: { hang?: boolean } = {}): Promise<Tab> {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    await context.route('**/*', (route) => {
      if (isLoopback(route.request().url())) return route.continue();
      if (!options.hang) return route.abort('internetdisconnected');
      // Never answered: the request stays pending until the context closes.
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const urls: string[] = [];
    const sockets: string[] = [];
    const logged: string[] = [];
    page.on('request', (request) => void urls.push(request.url()));
    page.on('websocket', (socket) => void sockets.push(socket.url()));
    page.on('console', (message) => void logged.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => void logged.push(`pageerror: ${error.message}`));
    return { page, context, urls, sockets, console: logged };
  }

  /** What one of GraphiQL's CodeMirror editors (query, variables, headers, response) holds. */
  const editorValue = (page: Page, selector: string): Promise<string | null> =>
    page.evaluate((sel) => {
      const element = (globalThis as any).document.querySelector(`${sel} .CodeMirror`);
      return (element?.CodeMirror?.getValue() as string | undefined) ?? null;
    }, selector);

  /** Polls what `selector`'s editor holds until `check` likes it; on the deadline, says what it held. */
  async function untilEditor(page: Page, selector: string, what: string, check: (value: string) => boolean): Promise<string> {
    let last: string | null = null;
    try {
      await pollUntil(what, async () => {
        last = await editorValue(page, selector);
        return last !== null && check(last);
      }, 15_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${selector} holds: ${last}`);
    }
    return last!;
  }

  const parsed = (text: string): any => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };

  /** Types `text` into GraphiQL's query editor, over what is there. */
  async function typeQuery(page: Page, text: string): Promise<void> {
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(text);
    await untilEditor(page, '.graphiql-query-editor', 'the query editor to hold what was typed', (value) => value === text);
    // GraphiQL reads the operation's name from the editor a little after each change
    // (debounced), and Run sends the name it has: wait until it has the new one.
    const name = /^(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1] ?? null;
    await pollUntil(`GraphiQL to take the typed operation (${name})`, () =>
      page.evaluate((expected) => (globalThis as any).document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror?.operationName === expected, name),
    );
  }

  /** Clicks Run and waits for the response editor to show what `check` wants. */
  async function run(page: Page, check: (response: any) => boolean, what: string): Promise<any> {
    await page.locator('.graphiql-execute-button').click();
    return parsed(await untilEditor(page, '.result-window', what, (value) => Boolean(parsed(value)) && check(parsed(value))));
  }

  it('falls back to the bundled GraphiQL when Apollo Sandbox cannot load, and runs a query, a mutation and a subscription', async () => {
    const { page, context, urls, sockets } = await openOfflineTab();
    await page.goto(s.url);
    await page.waitForURL(`${base}/graphiql`);
    await page.locator('.graphiql-container').waitFor();
    // Sandbox was tried, and refused: that is what sent the page here.
    expect(urls.some((url) => url.startsWith('https://embeddable-sandbox.cdn.apollographql.com/'))).toBe(true);
    // The development token's header is there, as main.ts passes it.
    await untilEditor(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', 'the headers editor', (value) => value.includes(`"Authorization": "Bearer ${developmentToken}"`));
    // The schema came (introspection with that header): the docs know the Query type.
    await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
    await page.locator('.graphiql-doc-explorer', { hasText: 'Query' }).waitFor();

    // A mutation (it needs the write scope, from the pre-filled header)…
    const email = `explorer-${Date.now()}@example.com`;
    await typeQuery(page, `mutation Create {\n  createUser(input: { name: "Ada", email: "${email}" }) {\n    id\n    name\n    version\n  }\n}`);
    const created = await run(page, (r) => Boolean(r.data?.createUser?.id), 'the mutation to answer');
    expect(created.data.createUser).toMatchObject({ name: 'Ada', version: 1 });
    const id: string = created.data.createUser.id;

    // …a query that reads it back…
    await typeQuery(page, `query Read {\n  user(id: "${id}") {\n    id\n    name\n    email\n  }\n}`);
    const read = await run(page, (r) => r.data?.user?.id === id, 'the query to answer');
    expect(read).toEqual({ data: { user: { id, name: 'Ada', email } } });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-graphiql-query.png') });

    // …and the writeThroughFailures subscription (admin scope: the header went over the
    // socket as its connection parameters), which shows a failed cache write as it happens.
    const before = feed.open;
    await typeQuery(page, `subscription Failures {\n  writeThroughFailures(entity: "user") {\n    entity\n    entityId\n    operation\n    version\n  }\n}`);
    await page.locator('.graphiql-execute-button').click();
    await feed.untilOpen(before + 1);
    await updateWithRedisPaused(id, 'Lovelace');
    const event = await untilEditor(page, '.result-window', 'the failure event', (value) => value.includes(`"entityId": "${id}"`));
    expect(JSON.parse(event)).toEqual({ data: { writeThroughFailures: { entity: 'user', entityId: id, operation: 'update', version: 2 } } });
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-graphiql-subscription.png') });
    // Stop ends the subscription on the server.
    await page.locator('.graphiql-execute-button').click();
    await feed.untilOpen(before);

    expect(sockets).toEqual([`${base.replace(/^http/, 'ws')}/graphql`]);
    // The token went into headers and connection parameters only.
    expect(urls.filter((url) => url.includes(developmentToken))).toEqual([]);
    await context.close();
  });

  it("falls back to GraphiQL too when Apollo's CDN never answers", async () => {
    const { page, context, urls } = await openOfflineTab({ hang: true });
    const started = Date.now();
    await page.goto(s.url, { waitUntil: 'commit' });
    // Sandbox's script is still on its way when the page gives up on it (after 8 s).
    await page.waitForURL(`${base}/graphiql`, { timeout: 20_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(7_500);
    await page.locator('.graphiql-container').waitFor();
    expect(urls.some((url) => url.startsWith('https://embeddable-sandbox.cdn.apollographql.com/'))).toBe(true);
    await context.close();
  });

  it('serves /graphiql with no request to any other origin, and the header pre-filled', async () => {
    const { page, context, urls, sockets, console: logged } = await openOfflineTab();
    const query = '{ users(ids: ["1"]) { id } }';
    await page.goto(`${base}/graphiql?query=${encodeURIComponent(query)}`);
    await page.locator('.graphiql-container').waitFor();
    // `?query=` opens it with that query; Run runs it.
    await untilEditor(page, '.graphiql-query-editor', 'the query from the address', (value) => value === query);
    await run(page, (r) => Array.isArray(r.data?.users), 'the query from the address to answer');
    expect(await editorValue(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)')).toBe(JSON.stringify({ Authorization: `Bearer ${developmentToken}` }, null, 2));
    // A dialog adds a <style> (with the page's nonce): the CSP lets it.
    await page.locator('button[aria-label="Open settings dialog"]').click();
    await page.locator('.graphiql-dialog').waitFor();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-graphiql-settings.png') });
    await page.keyboard.press('Escape');

    expect(urls.length).toBeGreaterThan(5);
    expect(urls.filter((url) => new URL(url).origin !== base)).toEqual([]);
    expect(sockets).toEqual([]); // none until a subscription runs
    // No CSP refusal, no error on the page.
    expect(logged.filter((line) => /^(error|pageerror)/.test(line) || /Content Security Policy/i.test(line))).toEqual([]);
    await context.close();
  });
});
