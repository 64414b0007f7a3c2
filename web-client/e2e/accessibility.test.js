/**
 * The pages with the keyboard alone, and their mechanical WCAG AA checks (every control named,
 * text contrast), in light and dark colour schemes and at phone width: a customer opens the
 * widget, fills the pre-engagement form and writes without touching the mouse; the agent signs
 * in, goes Available, accepts the offer and replies by keyboard; Escape closes the widget and
 * gives focus back to its launcher. The login page, the widget (form and chat), the agent
 * desktop and the supervisor view are audited.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { audit, focusedElement, tabTo } from '../e2e-support/a11y.js';
import { assertClean, launchBrowser, newPage, PHONE, screenshot } from '../e2e-support/browser.js';
import { skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;
const PASSWORD = 'switchboard-demo';

/** Audits the page in both colour schemes; fails naming every problem found. */
async function assertAccessible(page, what) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    const { unnamed, lowContrast } = await audit(page);
    assert.deepEqual(unnamed, [], `${what} (${colorScheme}): every control has an accessible name`);
    assert.deepEqual(lowContrast, [], `${what} (${colorScheme}): text contrast meets WCAG AA`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

describe('accessibility: keyboard only, names and contrast', { skip, timeout: 180000 }, () => {
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

  test('a customer and an agent chat using the keyboard alone', async () => {
    const origin = server.origin;
    const customer = await newPage(browser, { origin });
    const agent = await newPage(browser, { origin });
    const supervisor = await newPage(browser, { origin });
    const c = customer.page;
    const a = agent.page;
    const s = supervisor.page;

    // The agent signs in with the keyboard: the username field has focus first.
    await a.goto(`${origin}/login?next=/desktop`);
    await assertAccessible(a, 'sign-in page');
    await tabTo(a, /^input:Username/);
    await a.keyboard.type('alice');
    await tabTo(a, /^input:Password/);
    await a.keyboard.type(PASSWORD);
    await a.keyboard.press('Enter');
    await a.waitForURL('**/desktop');
    await a.getByRole('status').filter({ hasText: 'Online' }).waitFor();

    // Available, chosen from the activity list by keyboard, once the worker's activities have
    // arrived (until then the list is not there, and Tab would go on to the next select).
    await a.getByLabel('Activity').waitFor();
    await tabTo(a, /^select:/);
    assert.match(await focusedElement(a), /Activity|Offline/);
    await a.keyboard.type('Available');
    await a.getByLabel('Activity').evaluate((el) => el.value).then((v) => assert.ok(v, 'an activity is chosen'));
    await a.waitForFunction(() => document.querySelector('select')?.selectedOptions[0]?.textContent === 'Available');
    await assertAccessible(a, 'agent desktop, idle');

    // The customer opens the widget from the demo page with Tab and Enter.
    await c.goto(`${origin}/webchat/demo`);
    await tabTo(c, /^button:Chat with us/);
    await c.keyboard.press('Enter');
    // Focus moves into the panel, on the first field.
    await c.waitForFunction(() => {
      const root = document.getElementById('switchboard-webchat')?.shadowRoot;
      return root?.activeElement?.id === 'sb-name';
    });
    await assertAccessible(c, 'webchat form');
    await c.keyboard.type('Kim Keyboard');
    await tabTo(c, /^input:Email/);
    await c.keyboard.type('kim@example.com');
    await tabTo(c, /^textarea:Question/);
    await c.keyboard.type('Can I do this without a mouse?');
    await tabTo(c, /^button:Start chat/);
    await c.keyboard.press('Enter');
    // The chat opens with focus in the composer: Enter sends.
    const composer = c.getByRole('textbox', { name: 'Message', exact: true });
    await composer.waitFor();
    await c.waitForFunction(() => document.getElementById('switchboard-webchat')?.shadowRoot?.activeElement?.id === 'sb-message');
    await c.keyboard.type('Hello from the keyboard');
    await c.keyboard.press('Enter');
    const customerLog = c.getByRole('log', { name: 'Messages' });
    await customerLog.getByText('Hello from the keyboard').waitFor();

    // The agent tabs to the offer's Accept button and presses Enter.
    const accept = a.getByRole('button', { name: 'Accept chat from Kim Keyboard' });
    await accept.waitFor();
    await tabTo(a, /^button:Accept chat from Kim Keyboard/);
    await a.keyboard.press('Enter');
    await a.getByRole('log').getByText('Hello from the keyboard').waitFor();
    // …then to the chat's composer, and sends with Enter.
    await tabTo(a, /^textarea:/);
    await a.keyboard.type('Yes, every control takes the keyboard.');
    await a.keyboard.press('Enter');
    await customerLog.getByText('Yes, every control takes the keyboard.').waitFor();
    await customerLog.getByText(/joined the chat/).waitFor();
    await screenshot(a, 'a11y-01-agent-keyboard');
    await screenshot(c, 'a11y-02-customer-keyboard');
    await assertAccessible(a, 'agent desktop, in a chat');
    await assertAccessible(c, 'webchat chat');

    // Escape closes the widget and gives focus back to the launcher.
    await composer.focus();
    await c.keyboard.press('Escape');
    await c.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.match(await focusedElement(c), /^button:Chat with us/);

    // At phone width, the widget open again.
    await c.setViewportSize(PHONE);
    await c.keyboard.press('Enter');
    await composer.waitFor();
    await assertAccessible(c, 'webchat chat at phone width');

    // The supervisor view, with the chat live on the floor.
    await s.goto(`${origin}/login?next=/desktop`);
    await s.getByLabel('Username').fill('sam');
    await s.getByLabel('Password').fill(PASSWORD);
    await s.getByRole('button', { name: 'Sign in' }).click();
    await s.waitForURL('**/desktop');
    const monitor = s.getByRole('button', { name: /Monitor Kim Keyboard/ });
    await monitor.waitFor();
    await assertAccessible(s, 'supervisor view');
    await tabTo(s, /^button:Monitor Kim Keyboard/);
    await s.keyboard.press('Enter');
    await s.getByRole('log').getByText('Hello from the keyboard').waitFor();
    await assertAccessible(s, 'supervisor view, monitoring');
    await screenshot(s, 'a11y-03-supervisor-keyboard');

    for (const seen of [customer.seen, agent.seen, supervisor.seen]) assertClean(seen);
  });
});
