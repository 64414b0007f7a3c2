/**
 * The sign-in page in headless Chromium against the real server started with `--demo`: a wrong
 * password shows an error and stores nothing; alice's demo password stores an agent session in
 * sessionStorage and shows who is signed in; with a session, `?next=` sends the tab on; at phone
 * width the form fits without sideways scrolling. Every step is screenshotted into
 * e2e/artifacts/, and no step may reach another origin or throw.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { assertClean, launchBrowser, newPage, PHONE, screenshot } from '../e2e-support/browser.js';
import { ACCOUNT, skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;

/** The demo logins' password (`switchboard serve --demo`). */
const DEMO_PASSWORD = 'switchboard-demo';
/** Where the page keeps its session. */
const SESSION_KEY = 'switchboard.session';

/** Chromium logs a handled 401 from the sign-in endpoint as a failed resource load. */
const refusedSignIn = (e) => e.url.endsWith('/switchboard/v1/SignIn') && e.text.includes('401');

/** The session the page stored for this tab, parsed, or null. */
async function storedSession(page) {
  const raw = await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY);
  return raw === null ? null : JSON.parse(raw);
}

/** Fills the form and presses the button, as a person would. */
async function signIn(page, username, password) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('sign-in page', { skip, timeout: 120000 }, () => {
  let server;
  let browser;

  before(async () => {
    server = await TestServer.spawn({ args: ['--demo'] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a wrong password shows an error; alice signs in as an agent', async () => {
    const { page, seen } = await newPage(browser, { origin: server.origin });
    await page.goto(`${server.origin}/login`);
    await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor();
    await screenshot(page, 'login-form');

    await signIn(page, 'alice', 'not-the-password');
    const status = page.locator('#status');
    await page.locator('#status', { hasText: 'Wrong username or password.' }).waitFor();
    assert.equal(await status.isVisible(), true);
    assert.equal(await status.innerText(), 'Wrong username or password.');
    assert.equal(await storedSession(page), null, 'a refused sign-in stores nothing');
    assert.equal(await page.locator('#signed-in').isVisible(), false);
    await screenshot(page, 'login-wrong-password');

    await signIn(page, 'alice', DEMO_PASSWORD);
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    const who = await page.locator('#who').innerText();
    assert.match(who, /^Alice Agent \(agent\), until /);
    assert.equal(await page.locator('#signin').isVisible(), false, 'the form is hidden once signed in');
    assert.equal(await status.innerText(), '', 'the earlier error is cleared');
    const session = await storedSession(page);
    assert.equal(session.role, 'agent');
    assert.equal(session.identity, 'alice');
    assert.equal(session.account_sid, ACCOUNT);
    assert.ok(Date.parse(session.expires_at) > Date.now(), `expires_at in the future: ${session.expires_at}`);
    const parts = session.token.split('.');
    assert.equal(parts.length, 3, 'the token is a JWT');
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    assert.equal(claims.grants.identity, 'alice');
    await screenshot(page, 'login-signed-in');

    // With a session in this tab, the page sends it straight on to a same-origin `next`.
    await page.goto(`${server.origin}/login?next=/healthz`);
    await page.waitForURL(`${server.origin}/healthz`);

    assertClean(seen, { allowConsoleError: refusedSignIn });
    await page.close();
  });

  test('at phone width the form fits the screen', async () => {
    const { page, seen } = await newPage(browser, { origin: server.origin, viewport: PHONE });
    await page.goto(`${server.origin}/login`);
    const button = page.getByRole('button', { name: 'Sign in' });
    await button.waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling: page is ${width}px wide`);
    const box = await button.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, `button within the screen: ${JSON.stringify(box)}`);
    await screenshot(page, 'login-phone');

    await signIn(page, 'alice', 'not-the-password');
    await page.locator('#status', { hasText: 'Wrong username or password.' }).waitFor();
    await screenshot(page, 'login-phone-wrong-password');

    assertClean(seen, { allowConsoleError: refusedSignIn });
    await page.close();
  });
});
