import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserDocument, type UserQuery } from '../../examples/web/src/gql/graphql';
import { ServiceResources } from '../helpers/service-process';

// The example web client (examples/web) in a real browser: Debian's Chromium, driven
// by playwright-core (no browser of Playwright's own is downloaded). The page is built
// with Vite's JS API, served from a static server of the test's own on another port (so
// another origin: CORS must let it in), and pointed at real service processes — one in
// development, and one with the production safelist on, running only the operations
// of the committed persisted-queries.json.

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`example-client.browser.test.ts: the browser tests are skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it).`);
}
const ROOT = resolve(__dirname, '../..');
const EXAMPLE = resolve(ROOT, 'examples/web');
const MANIFEST = resolve(ROOT, 'persisted-queries.json');
const ARTIFACTS = resolve(__dirname, '../artifacts');
const DEMO_USERS = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'];

interface StaticSite {
  url: string;
  close(): Promise<void>;
}

/** Serves the files under `dir` on 127.0.0.1 (an ephemeral port): GET only, nothing outside `dir`. */
async function serveStatic(dir: string): Promise<StaticSite> {
  const types: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
  };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://site').pathname);
    const file = resolve(dir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (req.method !== 'GET' || !file.startsWith(dir + sep)) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ready);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

/** One GraphQL POST as the page sent it. */
interface SentOperation {
  operationName: string;
  query?: string;
  extensions?: { persistedQuery?: { sha256Hash: string } };
}

describe.skipIf(!haveChromium)('the example web client in Chromium', () => {
  const resources = new ServiceResources();
  let outDir: string | undefined;
  let site: StaticSite | undefined;
  let dev: { url: string };
  let safelisted: { url: string };
  let browser: Browser | undefined;
  let writeToken: string;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'tl-example-web-'));
    site = await serveStatic(outDir);
    writeToken = await resources.token(['read', 'write']);
    [dev, safelisted] = await Promise.all([
      // Development: CORS lets any localhost origin in when CORS_ORIGINS is unset.
      resources.serve(),
      // As production would run it: only the manifest's operations, only the page's origin.
      resources.serve({ PERSISTED_QUERIES_ONLY: 'true', PERSISTED_QUERIES_MANIFEST: MANIFEST, CORS_ORIGINS: site.url }),
    ]);
    // Built pointing at the development service: with no ?api=, that is what the page calls.
    await build({
      configFile: resolve(EXAMPLE, 'vite.config.mts'),
      mode: 'production',
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
      define: { 'import.meta.env.VITE_API_URL': JSON.stringify(dev.url) },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    // Each step even if an earlier one fails; the first failure is reported.
    const results = await Promise.allSettled([browser?.close(), site?.close(), resources.cleanUp()]);
    results.push(...(await Promise.allSettled([outDir ? rm(outDir, { recursive: true, force: true }) : undefined])));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  });

  /**
   * Opens the page (on `api`, or its built-in default), checks the demo users, pastes
   * the write token, renames user 2, and waits for the read-back. Returns what the page
   * sent, for the caller to check, with the page still open.
   */
  async function renameUserTwo(api: string | undefined, newName: string) {
    const context = await browser!.newContext({ viewport: { width: 1180, height: 600 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const apiUrl = api ?? dev.url;
    const sent: SentOperation[] = [];
    const urls: string[] = [];
    const logged: string[] = [];
    let navigations = 0;
    page.on('request', (request) => {
      urls.push(request.url());
      if (request.method() === 'POST' && request.url() === apiUrl) sent.push(request.postDataJSON() as SentOperation);
    });
    page.on('framenavigated', (frame) => void (frame === page.mainFrame() && navigations++));
    page.on('console', (message) => void logged.push(message.text()));
    page.on('pageerror', (error) => void logged.push(`pageerror: ${error.message}`));

    await page.goto(api ? `${site!.url}/?api=${encodeURIComponent(api)}` : `${site!.url}/`);
    await page.locator('#app[data-state="ready"], #app[data-state="error"]').waitFor();
    expect(await page.locator('#banner').isHidden(), (await page.locator('#banner').textContent()) ?? '').toBe(true);
    expect(await page.locator('#api-url').textContent()).toBe(apiUrl);
    expect(await page.locator('#users tbody td.name').allTextContents()).toEqual(DEMO_USERS);
    const row = page.locator('#users tbody tr[data-id="2"]');
    expect(await row.locator('td.version').textContent()).toBe('1');

    await page.locator('#token').fill(writeToken);
    await row.locator('button.edit').click();
    await page.locator('#edit-name').fill(newName);
    await page.locator('#save').click();
    await page.locator('#app[data-state="saved"], #app[data-state="error"]').waitFor();
    expect(await page.locator('#banner').isHidden(), (await page.locator('#banner').textContent()) ?? '').toBe(true);

    // The new name and version, shown without a reload, from the fresh User query.
    await page.locator('#readback[data-id="2"][data-version="2"]').waitFor();
    expect(await page.locator('#readback-name').textContent()).toBe(newName);
    expect(await page.locator('#readback-version').textContent()).toBe('2');
    expect(await row.locator('td.name').textContent()).toBe(newName);
    expect(await row.locator('td.version').textContent()).toBe('2');
    expect(navigations).toBe(1); // the first load, and no other
    const names = sent.map((s) => s.operationName);
    expect(names.lastIndexOf('User')).toBeGreaterThan(names.lastIndexOf('RenameUser')); // read after the write

    // The token went into the Authorization header only: no URL has it, nothing logged it.
    expect(urls.filter((url) => url.includes(writeToken))).toEqual([]);
    expect(logged.filter((line) => line.includes(writeToken) || line.startsWith('pageerror'))).toEqual([]);
    return { page, context, sent };
  }

  /** The page's request log: [operation, what was sent, outcome] per round trip. */
  const requestLog = (page: Page) =>
    page.locator('#log li').evaluateAll((items) => items.map((li) => ['operation', 'sent', 'outcome'].map((key) => li.getAttribute(`data-${key}`))));

  /** What the service itself says about user 2 now (by the example's own User query: the safelist lists it). */
  async function userTwo(url: string): Promise<{ name: string; version: number }> {
    const body = JSON.stringify({ query: String(UserDocument), variables: { id: '2' } });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const { user } = ((await res.json()) as { data: UserQuery }).data;
    return { name: user!.name, version: user!.version };
  }

  it('lists the demo users, renames one, and shows the new name and version from a fresh query, with no reload', async () => {
    const { page, context, sent } = await renameUserTwo(undefined, 'Grace Brewster Hopper');
    try {
      expect(await userTwo(dev.url)).toEqual({ name: 'Grace Brewster Hopper', version: 2 });

      // APQ: the hash alone first; the service (a new key prefix) did not know it, so
      // the text followed, with the same hash.
      expect((await requestLog(page)).slice(0, 2)).toEqual([
        ['Users', 'hash', 'PERSISTED_QUERY_NOT_FOUND'],
        ['Users', 'hash + text', 'ok'],
      ]);
      expect(sent[0]!.query).toBeUndefined();
      // Each hash the page sent is its operation's id in the committed manifest, and
      // each text it sent is that operation's body: what the safelist needs.
      const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as { operations: { id: string; name: string; body: string }[] };
      const listed = new Map(manifest.operations.map((o) => [o.name, o]));
      for (const { operationName, query, extensions } of sent) {
        expect(extensions?.persistedQuery?.sha256Hash, operationName).toBe(listed.get(operationName)?.id);
        if (query !== undefined) expect(query, operationName).toBe(listed.get(operationName)?.body);
      }

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'example-client.png'), fullPage: true });

      // Registered now: the list again costs one request, the hash alone.
      const before = sent.length;
      await page.locator('#reload').click();
      await page.locator('#log li[data-operation="Users"][data-sent="hash"][data-outcome="ok"]').waitFor();
      expect(sent.slice(before).map((s) => [s.operationName, s.query === undefined])).toEqual([['Users', true]]);
      expect(await page.locator('#users tbody tr[data-id="2"] td.name').textContent()).toBe('Grace Brewster Hopper');
    } finally {
      await context.close();
    }
  });

  it('works under the safelist (PERSISTED_QUERIES_ONLY=true with the committed manifest): hashes alone, from another origin', async () => {
    // The safelist is on: an operation the manifest does not list is refused.
    const refused = await fetch(safelisted.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query { users(ids: ["1"]) { id name } }' }),
    });
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');

    const { page, context, sent } = await renameUserTwo(safelisted.url, 'Amazing Grace');
    try {
      expect(await userTwo(safelisted.url)).toEqual({ name: 'Amazing Grace', version: 2 });
      // Every operation went as its hash alone, and the service found each in the manifest.
      expect(sent.map((s) => s.operationName)).toEqual(['Users', 'RenameUser', 'User']);
      expect(sent.filter((s) => s.query !== undefined)).toEqual([]);
      expect(await requestLog(page)).toEqual([
        ['Users', 'hash', 'ok'],
        ['RenameUser', 'hash', 'ok'],
        ['User', 'hash', 'ok'],
      ]);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'example-client-safelist.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
