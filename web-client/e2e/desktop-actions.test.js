/**
 * The desktop's task actions against the real server (`--demo`), driven through the UI in
 * Chromium: two agents (alice and bob, each in their own browser context) and a customer
 * scripted in Node (a chat started with `POST /switchboard/v1/Webchat/Start`, then the SDK's
 * `Connection` over the `ws` package with the guest token).
 *
 * In order: the agent offered the chat accepts it and transfers it cold to the other agent,
 * who accepts and sees the history while the first agent's task goes away; the agent now on
 * the chat invites the other back and both see the customer's next message; an agent starts
 * an outbound SMS, writes, sees "Delivered", and the simulated phone has the text; a session
 * whose token has expired still connects after a reload (renewed with SignIn/Refresh first).
 * Every step is screenshotted into e2e/artifacts/ (`actions-*`).
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket from 'ws';

import { Connection } from '../sdk/connection.js';
import { assertClean, launchBrowser, newPage, screenshot } from '../e2e-support/browser.js';
import { skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;
const PASSWORD = 'switchboard-demo';
/** The longest any one wait in this file may take. */
const WAIT_MS = 15000;
const CUSTOMER = 'Rita Customer';
/** The demo's SMS number (`switchboard serve --demo`), and a made-up customer phone. */
const SMS_NUMBER = '+15550001111';
const PHONE = '+15557654321';
const NAMES = { alice: 'Alice Agent', bob: 'Bob Agent' };

/** Signs in on /login and lands on the desktop, connected, then goes Available. */
async function signIn(page, origin, username) {
  await page.goto(`${origin}/login?next=/desktop`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/desktop');
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await page.getByLabel('Activity').selectOption({ label: 'Available' });
  await page.locator('#activity.available').waitFor();
}

/** The composer of the chat on show (hidden panels' composers are not in the role tree). */
const composer = (page) => page.getByRole('textbox', { name: 'Message', exact: true });
/** The log of the chat with `name` on the desktop. */
const chatLog = (page, name) => page.getByRole('log', { name: `Messages: ${name}` });
/** The customer context panel. */
const contextPanel = (page) => page.getByRole('complementary', { name: 'Customer' });

/** Which of `agents` (name → page) is shown `button` first: `[name, page]`. */
async function firstShown(agents, button) {
  return Promise.any(
    Object.entries(agents).map(async ([name, page]) => {
      await page.getByRole('button', { name: button }).waitFor({ timeout: WAIT_MS });
      return [name, page];
    }),
  );
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs`. */
async function eventually(check, what, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('agent desktop actions: transfer, invite, outbound SMS, token refresh', { skip, timeout: 180000 }, () => {
  let server;
  let browser;
  /** username → `{page, seen}` */
  const agents = {};
  /** The scripted customer's connection and chat. */
  let customer;
  let chat;
  /** Who took the chat first, and who got it by transfer. */
  let first;
  let second;

  before(async () => {
    // A small chat attachment limit, so a refused upload can be shown.
    server = await TestServer.spawn({ args: ['--demo'], env: { SWITCHBOARD__MEDIA__LIMITS__CHAT__MAX_BYTES: '4096' } });
    browser = await launchBrowser();
  });

  after(async () => {
    customer?.close();
    await browser?.close();
    await server?.stop();
  });

  test('alice and bob sign in and go Available; a customer starts a chat', async () => {
    for (const name of ['alice', 'bob']) {
      agents[name] = await newPage(browser, { origin: server.origin });
      await signIn(agents[name].page, server.origin, name);
    }
    await screenshot(agents.alice.page, 'actions-01-alice-available');

    // The demo site's widget tag names the chat address the widget would start chats on.
    const html = await (await fetch(`${server.origin}/webchat/demo`)).text();
    const address = html.match(/data-switchboard-address="(IG[0-9a-f]{32})"/)?.[1];
    assert.ok(address, 'the demo page names its chat address');
    const res = await fetch(`${server.origin}/switchboard/v1/Webchat/Start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ AddressSid: address, FriendlyName: CUSTOMER, Question: 'My parcel never came' }).toString(),
    });
    assert.equal(res.status, 201, `Webchat/Start answered ${res.status}`);
    chat = await res.json();
    assert.match(chat.conversation_sid, /^CH/);
    customer = new Connection({ url: server.wsUrl, token: chat.token, WebSocket, requestTimeoutMs: WAIT_MS });
    const session = await customer.connect();
    assert.equal(session.identity, chat.identity);
  });

  test('cold transfer: the agent offered the chat hands it to the other agent', async () => {
    const pages = { alice: agents.alice.page, bob: agents.bob.page };
    const accept = `Accept chat from ${CUSTOMER}`;
    let page;
    [first, page] = await firstShown(pages, accept);
    second = first === 'alice' ? 'bob' : 'alice';
    const other = pages[second];
    // Only one of them was offered it.
    assert.equal(await other.getByRole('button', { name: accept }).count(), 0, `${second} has no offer too`);
    await screenshot(page, 'actions-02-first-offer');

    await page.getByRole('button', { name: accept }).click();
    await chatLog(page, CUSTOMER).getByText('My parcel never came').waitFor();
    await customer.send(chat.conversation_sid, { body: 'Hello? Anyone?' });
    await chatLog(page, CUSTOMER).getByText('Hello? Anyone?').waitFor();
    await composer(page).fill('Let me pass you to a colleague.');
    await page.getByRole('button', { name: 'Send' }).click();
    await chatLog(page, CUSTOMER).getByText('Let me pass you to a colleague.').waitFor();

    const context = contextPanel(page);
    await context.getByLabel('Queue or agent').selectOption({ label: NAMES[second] });
    // Agents never see themselves as a target.
    assert.equal(await context.getByRole('option', { name: NAMES[first] }).count(), 0, 'no transfer to oneself');
    await screenshot(page, 'actions-03-transfer-target');
    await context.getByRole('button', { name: 'Transfer' }).click();
    await page.locator('#notice').getByText('Transfer requested').waitFor();

    // The other agent is offered it, accepts, and has the whole history.
    await other.getByRole('button', { name: accept }).click();
    const log = chatLog(other, CUSTOMER);
    for (const text of ['My parcel never came', 'Hello? Anyone?', 'Let me pass you to a colleague.']) {
      await log.getByText(text).waitFor();
    }
    await screenshot(other, 'actions-04-transfer-accepted');

    // The first agent left the conversation and its task completed: it leaves the desktop.
    await page.getByRole('list', { name: 'My tasks' }).getByText('No tasks').waitFor();
    assert.equal(await page.getByRole('log').count(), 0, 'no chat left open');
    await screenshot(page, 'actions-05-transferred-away');

    // The customer talks to the new agent only.
    await customer.send(chat.conversation_sid, { body: 'Still there?' });
    await log.getByText('Still there?').waitFor();
    const { participants } = await customer.request('participants', { conversation_sid: chat.conversation_sid });
    const identities = participants.map((p) => p.identity).sort();
    assert.deepEqual(identities, [chat.identity, second].sort(), 'the customer and the new agent');
  });

  test('invite: the agent on the chat brings the other one in', async () => {
    const page = agents[second].page;
    const other = agents[first].page;
    const context = contextPanel(page);
    await context.getByLabel('Queue or agent').selectOption({ label: NAMES[first] });
    await context.getByRole('button', { name: 'Invite' }).click();
    await page.locator('#notice').getByText('Invite sent').waitFor();

    await other.getByRole('button', { name: `Accept chat from ${CUSTOMER}` }).click();
    await chatLog(other, CUSTOMER).getByText('Still there?').waitFor();
    await screenshot(other, 'actions-06-invite-accepted');

    // Both are in the conversation: both see the customer's next message.
    await customer.send(chat.conversation_sid, { body: 'Two of you now!' });
    for (const p of [page, other]) await chatLog(p, CUSTOMER).getByText('Two of you now!').waitFor();
    const { participants } = await customer.request('participants', { conversation_sid: chat.conversation_sid });
    assert.deepEqual(participants.map((p) => p.identity).sort(), [chat.identity, 'alice', 'bob'].sort());
    await screenshot(page, 'actions-07-both-in-chat');

    // An attachment over the chat limit is refused, and the agent is told why.
    await page.getByLabel('Attach a file').setInputFiles({ name: 'big.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(8192, 1) });
    await page.getByRole('alert').filter({ hasText: /big\.pdf: File too large/ }).waitFor();
    await screenshot(page, 'actions-07b-attachment-refused');
  });

  test('outbound SMS: an agent starts a conversation; the message is delivered to the phone', async () => {
    const page = agents.alice.page;
    const form = page.locator('form').filter({ has: page.getByRole('heading', { name: 'New outbound message' }) });
    await form.getByLabel('Channel').selectOption({ label: 'SMS' });
    await form.getByLabel('Customer number').fill(PHONE);
    await form.getByLabel('From number').fill(SMS_NUMBER);
    await screenshot(page, 'actions-08-outbound-form');
    await form.getByRole('button', { name: 'Start conversation' }).click();
    await form.getByText(`Starting a conversation with ${PHONE}`).waitFor();

    // The desktop accepts the task it asked for and opens the chat.
    const log = chatLog(page, PHONE);
    await log.waitFor();
    await page.getByRole('button', { name: new RegExp(`^\\${PHONE}, sms, accepted`) }).waitFor();
    assert.equal(await page.getByRole('button', { name: `Accept chat from ${PHONE}` }).count(), 0, 'never shown as an offer to accept');
    await composer(page).fill('Your parcel is on its way.');
    await page.getByRole('button', { name: 'Send' }).click();
    const row = log.getByRole('listitem').filter({ hasText: 'Your parcel is on its way.' });
    await row.getByText('Delivered', { exact: true }).waitFor();
    await screenshot(page, 'actions-09-outbound-delivered');

    // The simulated phone got it, from the demo number (read with the account's Basic auth).
    const phone = await eventually(async () => {
      const answer = await server.expect(200, 'GET', `/simulator/v1/Messages?Phone=${encodeURIComponent(PHONE)}`);
      return answer.messages.find((m) => m.body === 'Your parcel is on its way.') && answer;
    }, 'the phone has the message');
    const got = phone.messages.find((m) => m.body === 'Your parcel is on its way.');
    assert.equal(got.direction, 'outbound');
    assert.equal(got.from, SMS_NUMBER);
    assert.equal(got.to, PHONE);
    assert.equal(phone.messages.filter((m) => m.body === 'Your parcel is on its way.').length, 1, 'sent once');
  });

  test('an expired session is renewed with SignIn/Refresh before the desktop connects', async () => {
    const page = agents.bob.page;
    const before = await page.evaluate(() => JSON.parse(sessionStorage.getItem('switchboard.session')));
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem('switchboard.session'));
      s.expires_at = new Date(Date.now() - 60000).toISOString();
      sessionStorage.setItem('switchboard.session', JSON.stringify(s));
    });
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/switchboard/v1/SignIn/Refresh'), { timeout: WAIT_MS });
    await page.reload();
    assert.equal((await refreshed).status(), 200);
    await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
    // The task comes back after the reload, with its history.
    await page.getByRole('button', { name: new RegExp(`^${CUSTOMER}, web, accepted`) }).click();
    await chatLog(page, CUSTOMER).getByText('Two of you now!').waitFor();
    const after = await page.evaluate(() => JSON.parse(sessionStorage.getItem('switchboard.session')));
    assert.ok(Date.parse(after.expires_at) > Date.now(), `a future expiry: ${after.expires_at}`);
    assert.notEqual(after.token, before.token, 'a new token');
    assert.equal(after.identity, 'bob');
    await screenshot(page, 'actions-10-renewed');
  });

  test('no page threw, logged an error or reached another origin', () => {
    // Chromium logs the refused upload (413, handled and shown by the page) as a failed load.
    const refusedUpload = (e) => /\/Media\b/.test(e.url) && e.text.includes('413');
    for (const { seen } of Object.values(agents)) assertClean(seen, { allowConsoleError: refusedUpload });
  });
});
