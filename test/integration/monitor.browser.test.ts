import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeToFailures } from '../helpers/failure-subscriber';
import { watchFeed, type FeedWatch } from '../helpers/feed-watch';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

// The /monitor page in a real browser: Debian's Chromium, driven by playwright-core
// (no browser of Playwright's own is downloaded), against the real server, MySQL and
// a private redis-server that the test pauses to make a cache write fail.

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`monitor.browser.test.ts: the browser tests are skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it).`);
}
const ARTIFACTS = resolve(__dirname, '../artifacts');

let redis: PrivateRedis | undefined;
let s: TestServer;
let base: string;
let adminToken: string;
let feed: FeedWatch;

beforeAll(async () => {
  redis = await startPrivateRedis();
  s = await startTestServer({
    redisUrl: redis.url,
    commandTimeoutMs: 100,
    settings: { writeRetries: 1, writeRetryDelayMs: 5 },
    repairs: false, // the test runs the repair rounds itself
    inspector: { sampleRate: 1, delayMs: 0, recheckMs: 100, maxChecksPerSecond: 1_000, tickMs: 50 },
    inspect: true,
  });
  base = s.url.replace(/\/graphql$/, '');
  adminToken = await s.token(['admin']);
  feed = watchFeed(s.core.feed);
});

afterAll(async () => {
  // Each step even if an earlier one fails; the first failure is reported.
  const results = await Promise.allSettled([s?.close()]);
  results.push(...(await Promise.allSettled([redis?.kill()])));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

let seq = 0;

async function createUser(): Promise<{ id: string; version: number }> {
  const res = await s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id version } }`, {
    input: { name: 'Grace', email: `monitor${++seq}-${Date.now()}@example.com` },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createUser;
}

/** An update whose cache write fails: Redis is paused (SIGSTOP) for the length of it. */
async function updateWithRedisPaused(id: string, name: string): Promise<{ version: number }> {
  redis!.pause();
  try {
    const res = await s.gql(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version } }`, { id, input: { name } });
    expect(res.errors).toBeUndefined();
    return res.data!.updateUser;
  } finally {
    redis!.resume();
  }
}

describe('GET /monitor over HTTP', () => {
  it('serves the page and its files, no-store, under a same-origin Content-Security-Policy', async () => {
    const page = await fetch(`${base}/monitor`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host}`);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere: the page works offline

    for (const [path, type] of [
      ['/monitor/monitor.js', /^text\/javascript/],
      ['/monitor/monitor.css', /^text\/css/],
      ['/monitor/operations.json', /^application\/json/],
      ['/monitor/graphql-ws.js', /^text\/javascript/],
    ] as const) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
    expect(await (await fetch(`${base}/monitor/graphql-ws.js`)).text()).toContain('createClient');
  });
});

describe.skipIf(!haveChromium)('GET /monitor in Chromium', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close(); // closes every context and page with it
  });

  /** A fresh tab (its own sessionStorage) that records every URL it asks for and everything it logs. */
  async function openTab(): Promise<{ page: Page; urls: string[]; sockets: string[]; console: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const urls: string[] = [];
    const sockets: string[] = [];
    const logged: string[] = [];
    page.on('request', (request) => void urls.push(request.url()));
    page.on('websocket', (socket) => void sockets.push(socket.url()));
    page.on('console', (message) => void logged.push(message.text()));
    page.on('pageerror', (error) => void logged.push(`pageerror: ${error.message}`));
    return { page, urls, sockets, console: logged };
  }

  const cell = (row: ReturnType<Page['locator']>, name: string) => row.locator(`td.${name}`).textContent();

  it('shows a failed cache write as it happens, then its repair', async () => {
    const tab = await openTab();
    const { page } = tab;
    const subscriptionsBefore = feed.open;
    await page.goto(`${base}/monitor#token=${adminToken}`);
    await page.locator('#app[data-state="live"]').waitFor();
    await feed.untilOpen(subscriptionsBefore + 1); // the server has the page's subscription
    expect(page.url()).toBe(`${base}/monitor`); // the token is gone from the address bar
    await page.locator('#no-failures').waitFor();
    await page.locator('#redis-dot.ok').waitFor();
    // This server has no change follower (its card is filled in by the same render as Redis's).
    expect(await page.locator('#follower').textContent()).toBe('none');
    expect(await page.locator('#follower-numbers').textContent()).toBe('not configured (CHANGE_FOLLOWER=off)');

    const user = await createUser();
    // The inspector checks the create, and the page shows it at its next poll.
    await page.locator('#consistency-numbers', { hasText: /last hour: [1-9]\d* checked, 0 inconsistent/ }).waitFor();
    expect(await page.locator('#consistency').textContent()).toMatch(/^≥ \d\.\d nines$/);
    // Some reads for the hit-ratio chart: a hit (the create wrote the key through) and a miss.
    const read = await s.gql(`query($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids: [user.id, '987654321'] });
    expect(read.errors).toBeUndefined();
    const updated = await updateWithRedisPaused(user.id, 'Hopper');
    expect(updated.version).toBe(2);

    const row = page.locator(`#failures tbody tr[data-status="failed"]`);
    await row.waitFor();
    expect(await row.count()).toBe(1);
    expect(await cell(row, 'entity')).toBe('user');
    expect(await cell(row, 'entity-id')).toBe(user.id);
    expect(await cell(row, 'operation')).toBe('update');
    expect(await cell(row, 'version')).toBe('2');
    expect(await cell(row, 'instance')).toBe('test-instance');
    expect(await cell(row, 'status')).toBe('failed');
    expect((await cell(row, 'error'))!.trim()).not.toBe('');
    const failureId = await row.getAttribute('data-failure-id');
    // The page asks for the status again once a failure arrives: the backlog shows it.
    await page.locator('#backlog', { hasText: /^1$/ }).waitFor();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-failed.png'), fullPage: true });

    await pollUntil('a repair round to repair the failure', async () => (await s.core.repairWorker.runOnce()).repaired > 0);
    const repaired = page.locator(`#failures tbody tr[data-failure-id="${failureId}"][data-status="repaired"]`);
    await repaired.waitFor();
    expect(await cell(repaired, 'status')).toMatch(/^repaired by test-instance at \d\d:\d\d:\d\d$/);
    await page.locator('#backlog', { hasText: /^0$/ }).waitFor();
    await page.locator('#hit-chart rect.bar').first().waitFor();
    await page.locator('#latency-chart rect.bar').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'monitor.png'), fullPage: true });

    // The token went into headers and connectionParams only: no URL asked for, nothing logged.
    expect(tab.sockets).toEqual([`${base.replace(/^http/, 'ws')}/graphql`]);
    expect([...tab.urls, ...tab.sockets].filter((url) => url.includes(adminToken))).toEqual([]);
    expect(tab.console.filter((line) => line.includes(adminToken) || line.startsWith('pageerror'))).toEqual([]);
  });

  it('without a token, shows a sign-in prompt and receives no events; signing in connects', async () => {
    const { page, urls, sockets } = await openTab();
    const callsBefore = feed.calls;
    await page.goto(`${base}/monitor`);
    await page.locator('#app[data-state="signed-out"]').waitFor();
    await page.locator('#sign-in-form').waitFor({ state: 'visible' });
    expect(await page.locator('#dashboard').isVisible()).toBe(false);

    // A failure happens, and reaches a subscriber of the test's own...
    const watcher = subscribeToFailures(s.url.replace(/^http/, 'ws'), { entity: 'user' }, { token: adminToken });
    try {
      await feed.untilOpen(feed.open + 1);
      const user = await createUser();
      await updateWithRedisPaused(user.id, 'Unseen');
      expect((await watcher.next(5_000)).entityId).toBe(user.id);
    } finally {
      await watcher.dispose();
    }
    // ...but not the signed-out page: it opened no socket and asked the API nothing.
    expect(feed.calls).toBe(callsBefore + 1); // the watcher's alone
    expect(sockets).toEqual([]);
    expect(urls.filter((url) => new URL(url).pathname === '/graphql')).toEqual([]);
    expect(await page.locator('#failures tbody tr').count()).toBe(0);

    // The form signs in, and the page goes live.
    const open = feed.open;
    await page.locator('#token').fill(`Bearer ${adminToken}`);
    await page.locator('#sign-in-form button[type="submit"]').click();
    await page.locator('#app[data-state="live"]').waitFor();
    await feed.untilOpen(open + 1);
    expect(page.url()).toBe(`${base}/monitor`);
    expect(urls.filter((url) => url.includes(adminToken))).toEqual([]);
  });

  it('refuses a token without the admin scope (FORBIDDEN) or a bad one (UNAUTHENTICATED), back to sign-in', async () => {
    const callsBefore = feed.calls;
    const readOnly = await s.token(['read']);
    for (const [token, code] of [
      [readOnly, 'FORBIDDEN'],
      ['not.a.token', 'UNAUTHENTICATED'],
    ] as const) {
      const { page, sockets } = await openTab();
      await page.goto(`${base}/monitor#token=${token}`);
      await page.locator('#banner', { hasText: code }).waitFor();
      await page.locator('#app[data-state="signed-out"]').waitFor();
      await page.locator('#sign-in-form').waitFor({ state: 'visible' });
      expect(await page.evaluate('sessionStorage.length')).toBe(0); // the refused token is forgotten
      expect(sockets).toEqual([]);
      if (code === 'FORBIDDEN') {
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'monitor-sign-in.png') });
      }
    }
    expect(feed.calls).toBe(callsBefore);
  });
});
