/**
 * The whole contact center in three browser contexts against the real server (`--demo`): a
 * customer on the demo site starts a chat with the widget; the agent (alice) sees the offer,
 * accepts, reads and replies; typing and "seen" show on both sides; attachments go across both
 * ways; the supervisor (sam) watches the floor and monitors the chat live while the customer
 * sees no trace of him, then joins; the agent's network drops and comes back and the messages
 * sent meanwhile appear once each; `<img src=x onerror=…>` renders as text everywhere; the
 * agent ends the chat and completes the task. Every step is screenshotted into e2e/artifacts/.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { assertClean, launchBrowser, newPage, PHONE, screenshot } from '../e2e-support/browser.js';
import { skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;
const PASSWORD = 'switchboard-demo';
const XSS = '<img src=x onerror="window.__xss = 1">';
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** Signs in on /login and lands on the desktop, connected. */
async function signIn(page, origin, username) {
  await page.goto(`${origin}/login?next=/desktop`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/desktop');
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
}

/** The composer of a chat (widget or desktop): exactly "Message", not the "Messages" log. */
const composer = (page) => page.getByRole('textbox', { name: 'Message', exact: true });

/** Nothing on the page ran the payload, and no element was made from it. */
async function assertNoInjection(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'the onerror handler never ran');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no <img> came from message text');
}

/**
 * Cuts and restores an agent's network for its WebSockets: every socket is proxied by
 * Playwright; `drop()` closes them as a lost network would (1006-like: 1011 to the page, the
 * server sees the TCP close) and refuses new ones until `restore()`.
 */
async function cuttableNetwork(context) {
  let down = false;
  const open = new Set();
  await context.routeWebSocket(/\/v1\/ws/, (ws) => {
    if (down) {
      ws.close({ code: 1011, reason: 'network down' });
      return;
    }
    const server = ws.connectToServer();
    open.add({ ws, server });
  });
  return {
    drop() {
      down = true;
      for (const { ws, server } of open) {
        server.close({ code: 1001, reason: 'network down' });
        ws.close({ code: 1011, reason: 'network down' });
      }
      open.clear();
    },
    restore() {
      down = false;
    },
  };
}

describe('agent desktop, supervisor view and webchat widget', { skip, timeout: 180000 }, () => {
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

  test('a chat from the widget to an agent, watched by a supervisor, through a network drop', async () => {
    const origin = server.origin;
    const agent = await newPage(browser, { origin });
    const network = await cuttableNetwork(agent.page.context());
    const supervisor = await newPage(browser, { origin });
    const customer = await newPage(browser, { origin });
    const a = agent.page;
    const s = supervisor.page;
    const c = customer.page;

    // The agent signs in and becomes available; the supervisor watches the floor.
    await signIn(a, origin, 'alice');
    await a.getByLabel('Activity').selectOption({ label: 'Available' });
    await signIn(s, origin, 'sam');
    const aliceRow = s.getByRole('row', { name: /Alice Agent/ });
    await aliceRow.getByText('Available').waitFor();
    await screenshot(a, 'desktop-01-agent-available');

    // The customer opens the demo site and starts a chat from the pre-engagement form.
    await c.goto(`${origin}/webchat/demo`);
    await c.getByRole('button', { name: 'Chat with us' }).click();
    await c.getByLabel('Name').fill('Ana Lima');
    await c.getByLabel('Email').fill('ana@example.com');
    await c.getByLabel('Question').fill(`Where is **my order**? ${XSS}`);
    await screenshot(c, 'desktop-02-customer-form');
    await c.getByRole('button', { name: 'Start chat' }).click();

    // The agent is offered the chat, with a countdown, and accepts it.
    const offer = a.getByRole('listitem', { name: /Offer: web from Ana Lima/ });
    await offer.waitFor();
    await offer.getByText(/\d+ s left/).waitFor();
    await screenshot(a, 'desktop-03-agent-offer');
    await a.getByRole('button', { name: 'Accept chat from Ana Lima' }).click();
    const agentLog = a.getByRole('log');
    await agentLog.getByText('Where is').waitFor();
    assert.equal(await agentLog.locator('strong', { hasText: 'my order' }).count(), 1, 'rich text: bold');
    await agentLog.getByText(XSS).waitFor();
    // The customer's context: channel and pre-engagement data.
    const context = a.getByRole('complementary', { name: 'Customer' });
    await context.getByText('ana@example.com').waitFor();
    await context.getByText('web', { exact: true }).waitFor();

    // The customer sees the agent join, and "Seen" once the agent's desktop has read it.
    const customerLog = c.getByRole('log', { name: 'Messages' });
    await customerLog.getByText('Alice Agent joined the chat').waitFor();
    await customerLog.getByText('Seen').waitFor();
    await customerLog.getByText(XSS).waitFor();

    // Typing shows both ways.
    await composer(c).pressSequentially('Also', { delay: 30 });
    await a.getByText('Ana Lima is typing…').waitFor();
    await composer(a).pressSequentially('Hello', { delay: 30 });
    await c.getByText(/is typing/).waitFor();
    await composer(c).fill('');

    // The agent replies with rich text and the payload; both sides show it as text.
    await composer(a).fill(`Hello **Ana**, it ships today: https://example.com/track ${XSS}`);
    await a.getByRole('button', { name: 'Send' }).click();
    await customerLog.getByText(/it ships today/).waitFor();
    const link = customerLog.getByRole('link', { name: 'https://example.com/track' });
    assert.match((await link.getAttribute('rel')) ?? '', /noopener/);
    assert.equal(await customerLog.getByText(XSS).count(), 2, 'the payload shows as text, twice');
    // The widget read it: the agent sees "Seen" under the reply.
    await agentLog.getByRole('listitem').filter({ hasText: 'it ships today' }).getByText('Seen').waitFor();
    await screenshot(a, 'desktop-04-agent-chat');
    await screenshot(c, 'desktop-05-customer-chat');

    // Attachments both ways, previewed as images.
    await c.getByLabel('Attach a file').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
    await agentLog.getByRole('img', { name: 'receipt.png' }).waitFor();
    await a.getByLabel('Attach a file').setInputFiles({ name: 'label.png', mimeType: 'image/png', buffer: PNG });
    await customerLog.locator('img').first().waitFor();
    await agentLog.getByRole('link', { name: /label\.png/ }).waitFor();

    // The supervisor sees the chat on the floor and monitors it silently.
    await aliceRow.getByText(/1 \(chat 1\)/).waitFor();
    await s.getByRole('button', { name: /Monitor Ana Lima/ }).click();
    const supervisorLog = s.getByRole('log');
    await supervisorLog.getByText(/it ships today/).waitFor();
    await supervisorLog.getByRole('img', { name: 'receipt.png' }).waitFor();
    await composer(c).fill('Thanks! One more thing.');
    await c.getByRole('button', { name: 'Send' }).click();
    await supervisorLog.getByText('Thanks! One more thing.').waitFor();
    // The widget tells typing at most every 2 s (and did while the message above was
    // written): typing for longer than that is sure to be told.
    await composer(c).pressSequentially('still typing', { delay: 250 });
    await s.getByText('Ana Lima is typing…').waitFor();
    await composer(c).fill('');
    await screenshot(s, 'desktop-06-supervisor-monitoring');
    // …and the customer sees no trace of it.
    assert.equal(await c.getByText(/Sam/).count(), 0, 'no supervisor in the widget');

    // The agent's network drops; the customer writes; the network comes back.
    network.drop();
    await a.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
    await screenshot(a, 'desktop-07-agent-reconnecting');
    for (const text of ['Are you there?', 'Hello?']) {
      await composer(c).fill(text);
      await c.getByRole('button', { name: 'Send' }).click();
      await customerLog.getByText(text).waitFor();
    }
    network.restore();
    await a.getByRole('status').filter({ hasText: 'Online' }).waitFor({ timeout: 40000 });
    await agentLog.getByText('Hello?').waitFor();
    assert.equal(await agentLog.getByText('Are you there?').count(), 1, 'missed messages appear once');
    assert.equal(await agentLog.getByText('Hello?').count(), 1);
    await screenshot(a, 'desktop-08-agent-back-online');

    // The supervisor joins, visibly.
    await s.getByRole('button', { name: 'Join conversation' }).click();
    await s.getByText('You joined').waitFor();
    await customerLog.getByText(/joined the chat/).nth(1).waitFor();

    // Nothing was injected anywhere.
    for (const page of [a, s, c]) await assertNoInjection(page);
    await screenshot(c, 'desktop-09-customer');
    await c.setViewportSize(PHONE);
    await screenshot(c, 'desktop-10-customer-phone');

    // The agent ends the chat (wrap-up) and completes the task.
    await a.getByRole('button', { name: 'End chat' }).click();
    await c.getByText('This chat has ended').waitFor();
    await a.getByRole('button', { name: 'Complete' }).click();
    await a.getByText('No tasks').waitFor();
    await screenshot(a, 'desktop-11-agent-done');

    // Down to a phone's width, the desktop and the supervisor view fit without sideways scrolling.
    for (const [page, name] of [[a, 'agent'], [s, 'supervisor']]) {
      await page.setViewportSize(PHONE);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} view overflows a phone by ${overflow}px`);
      await screenshot(page, `desktop-12-${name}-phone`);
    }

    // The proxied sockets' drop is logged by Chromium as a failed WebSocket; nothing else.
    const droppedSocket = (e) => /WebSocket connection to .*\/v1\/ws.* failed/.test(e.text);
    assertClean(agent.seen, { allowConsoleError: droppedSocket });
    assertClean(supervisor.seen);
    assertClean(customer.seen);
  });
});
