/**
 * Headless Chromium for the end-to-end tests: Debian's `chromium` (/usr/bin/chromium) driven by
 * `playwright-core`, which never downloads a browser of its own. Each page gets a fresh context
 * (its own sessionStorage and cookies) that records what a test must be able to say never
 * happened: console errors, uncaught page errors, and requests to anything but the server's
 * origin ("no third-party network requests"). Those requests are also aborted, so a page under
 * test never reaches past 127.0.0.1 even when it tries.
 *
 * It lives outside e2e/ because `node --test e2e/` would run every test-named file there.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** Debian's Chromium: the only browser these tests use. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go; CI keeps this folder as an artifact. */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../e2e/artifacts');

/** How long one Playwright action or wait may take before the test fails instead of hanging. */
const ACTION_TIMEOUT_MS = 10000;
const NAVIGATION_TIMEOUT_MS = 15000;

/** A desktop window; phone-width tests pass their own. */
export const DESKTOP = { width: 1280, height: 800 };
/** A small phone. */
export const PHONE = { width: 375, height: 740 };

/** Starts headless Chromium; close it with `browser.close()`. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
}

/** Whether `url` stays on `origin` (ws:// to the same host counts; data:, blob:, about: are local). */
function firstParty(url, origin) {
  const u = new URL(url);
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return true;
  const o = new URL(origin);
  const scheme = o.protocol === 'https:' ? ['https:', 'wss:'] : ['http:', 'ws:'];
  return scheme.includes(u.protocol) && u.host === o.host;
}

/**
 * A page in a fresh context, watched for problems.
 * @param {import('playwright-core').Browser} browser
 * @param {{origin: string, viewport?: {width: number, height: number}}} options the server's
 *   origin (`TestServer.origin`): every other origin counts as third party
 * @returns {Promise<{page: import('playwright-core').Page, seen: {consoleErrors: {text: string,
 *   url: string}[], pageErrors: string[], thirdPartyRequests: string[]}}>}
 */
export async function newPage(browser, { origin, viewport = DESKTOP }) {
  assert.ok(origin, 'newPage needs the server origin');
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const seen = { consoleErrors: [], pageErrors: [], thirdPartyRequests: [] };
  context.on('request', (request) => {
    if (!firstParty(request.url(), origin)) seen.thirdPartyRequests.push(`${request.method()} ${request.url()}`);
  });
  await context.route(
    (url) => !firstParty(url.href, origin),
    (route) => route.abort('blockedbyclient'),
  );
  watched.set(context, { origin, seen });
  return { page: await watchedPage(context), seen };
}

/** context → `{origin, seen}`: what its pages report into. */
const watched = new WeakMap();

/** A new page of a context made by `newPage`, reporting into the context's `seen`. */
async function watchedPage(context) {
  const { origin, seen } = watched.get(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push({ text: message.text(), url: message.location().url });
  });
  page.on('pageerror', (error) => seen.pageErrors.push(String(error.stack ?? error)));
  page.on('websocket', (socket) => {
    if (!firstParty(socket.url(), origin)) seen.thirdPartyRequests.push(`WebSocket ${socket.url()}`);
  });
  // Closing the last page alone would leave its context (and its storage) behind.
  page.once('close', () => {
    if (context.pages().length === 0) context.close().catch(() => {});
  });
  return page;
}

/**
 * Another tab in the context of `page` (a page from `newPage`): same storage (localStorage,
 * cookies), watched into the same `seen`. The context lives until its last page closes.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<import('playwright-core').Page>}
 */
export function newTab(page) {
  assert.ok(watched.has(page.context()), 'newTab needs a page made by newPage');
  return watchedPage(page.context());
}

/**
 * Fails unless the page made no third-party request, threw nothing, and logged no console
 * error other than those `allowConsoleError` expects (a 401 answer is logged by Chromium as a
 * failed resource load even when the page handles it).
 */
export function assertClean(seen, { allowConsoleError = () => false } = {}) {
  assert.deepEqual(seen.thirdPartyRequests, [], 'no third-party network requests');
  assert.deepEqual(seen.pageErrors, [], 'no uncaught page errors');
  assert.deepEqual(
    seen.consoleErrors.filter((e) => !allowConsoleError(e)),
    [],
    'no unexpected console errors',
  );
}

/**
 * Saves a PNG of the page as `e2e/artifacts/<name>.png`; returns its path. Full page by
 * default; `fullPage: false` keeps to the viewport, which is what a phone shows (a full-page
 * shot stretches the viewport, and with it anything fixed to it).
 */
export async function screenshot(page, name, { fullPage = true } = {}) {
  assert.match(name, /^[\w.-]+$/, 'a screenshot name is a plain file name');
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage, animations: 'disabled' });
  return file;
}
