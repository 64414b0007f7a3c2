/**
 * The webchat widget end to end: the customer is the real widget on the demo site
 * (`/webchat/demo`) in headless Chromium; the agent is scripted in Node with the SDK's
 * `Connection` over the `ws` package, signed in as the demo agent alice. Both talk to the real
 * server started with `--demo`, whose chat address routes new chats to the Flex workspace.
 *
 * One chat from start to end, in order: alice goes Available; the customer starts a chat from
 * the form and alice accepts the offer; typing both ways; an agent reply that tries HTML and
 * carries a link stays text; read receipts both ways ("Seen"); a picture each way; a reload and
 * a new tab in the same browser profile reopen the chat; closing the conversation over REST
 * ends it for the customer, who can start again. Every step is screenshotted into
 * e2e/artifacts/ (`webchat-*`), and no step may reach another origin or throw.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import WebSocket from 'ws';

import { Connection } from '../sdk/connection.js';
import { assertClean, DESKTOP, launchBrowser, newPage, newTab, PHONE, screenshot } from '../e2e-support/browser.js';
import { skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;

/** The demo logins' password (`switchboard serve --demo`). */
const DEMO_PASSWORD = 'switchboard-demo';
/** The name the demo gives alice, which the customer sees. */
const AGENT_NAME = 'Alice Agent';
/** The longest any one wait in this file may take. */
const WAIT_MS = 10000;

/** A valid 1×1 PNG (one opaque pixel): the customer's attachment. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** CRC-32 (ISO-HDLC), as PNG chunks carry it. */
function crc32(bytes) {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG of one colour, `width`×`height` (big enough to see in a screenshot). */
function solidPng(width, height, [r, g, b]) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** The agent's picture: 96×64, orange. */
const AGENT_PNG = solidPng(96, 64, [240, 140, 30]);

/**
 * The next `name` event on `conn` whose frame satisfies `predicate`; frames already in
 * `backlog` (from `recordEvents`) count too, so an event that raced ahead of the wait is not
 * missed. Rejects after `timeoutMs`.
 * @returns {Promise<object>} the event frame (`{event, conversation_sid?, data}`)
 */
function nextEvent(conn, name, predicate = () => true, timeoutMs = WAIT_MS, { backlog = [] } = {}) {
  const early = backlog.find((frame) => frame.event === name && predicate(frame));
  if (early) return Promise.resolve(early);
  return new Promise((resolve, reject) => {
    const onEvent = (e) => {
      if (!predicate(e.detail)) return;
      clearTimeout(timer);
      conn.removeEventListener(name, onEvent);
      resolve(e.detail);
    };
    const timer = setTimeout(() => {
      conn.removeEventListener(name, onEvent);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.addEventListener(name, onEvent);
  });
}

/** Every event frame `conn` delivers from now on, in order (a backlog for `nextEvent`). */
function recordEvents(conn) {
  const frames = [];
  conn.addEventListener('event', (e) => frames.push(e.detail));
  return frames;
}

/** Polls `check` (sync or async) until it returns a truthy value; fails after `timeoutMs`. */
async function eventually(check, what, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The widget's stored chat record on this page (`switchboard.webchat.<IG…>`), or null. */
function storedChat(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key.startsWith('switchboard.webchat.')) return JSON.parse(localStorage.getItem(key));
    }
    return null;
  });
}

/** The widget's parts, found by what a person sees (locators pierce its open shadow root). */
function widget(page) {
  return {
    launcher: page.getByRole('button', { name: 'Chat with us' }),
    name: page.getByLabel('Name', { exact: true }),
    email: page.getByLabel('Email', { exact: true }),
    question: page.getByLabel('Question', { exact: true }),
    start: page.getByRole('button', { name: 'Start chat' }),
    log: page.getByRole('log', { name: 'Messages' }),
    composer: page.getByRole('textbox', { name: 'Message', exact: true }),
    attach: page.getByLabel('Attach a file'),
    ended: page.getByText('This chat has ended'),
    newChat: page.getByRole('button', { name: 'Start a new chat' }),
  };
}

describe('webchat widget with a scripted agent', { skip, timeout: 180000 }, () => {
  let server;
  let browser;
  let agent;
  /** Every event alice's connection delivered. */
  let agentEvents;
  let signIn;
  let tmp;
  let pngPath;
  /** The customer's tab; replaced when the test opens a new one. */
  let page;
  let seen;
  /** The chat, once started. */
  let conversationSid;
  let guestIdentity;

  before(async () => {
    server = await TestServer.spawn({ args: ['--demo'] });
    browser = await launchBrowser();
    tmp = await mkdtemp(path.join(tmpdir(), 'switchboard-webchat-e2e-'));
    pngPath = path.join(tmp, 'photo.png');
    await writeFile(pngPath, PNG);
  });

  after(async () => {
    agent?.close();
    await browser?.close();
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A REST call with alice's token, as the desktop makes it. */
  function asAgent(urlPath, init = {}) {
    return fetch(`${server.origin}${urlPath}`, {
      ...init,
      headers: { 'X-Twilio-Token': signIn.token, ...init.headers },
    });
  }

  test('alice signs in over REST, connects and becomes Available', async () => {
    const res = await fetch(`${server.origin}/switchboard/v1/SignIn`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Username: 'alice', Password: DEMO_PASSWORD }).toString(),
    });
    assert.equal(res.status, 200, `sign-in answered ${res.status}`);
    signIn = await res.json();
    assert.equal(signIn.identity, 'alice');
    assert.match(signIn.worker_sid, /^WK/);

    agent = new Connection({ url: server.wsUrl, token: signIn.token, WebSocket, requestTimeoutMs: WAIT_MS });
    agentEvents = recordEvents(agent);
    const session = await agent.connect();
    assert.equal(session.role, 'agent');

    const { worker } = await agent.request('activity', { activity_name: 'Available' });
    assert.equal(worker.activity_name, 'Available');
    assert.equal(worker.available, true);
  });

  test('the customer starts a chat; alice accepts and the widget shows her', async () => {
    ({ page, seen } = await newPage(browser, { origin: server.origin }));
    const w = widget(page);
    await page.goto(`${server.origin}/webchat/demo`);
    await w.launcher.waitFor();
    await screenshot(page, 'webchat-01-demo-site');

    await w.launcher.click();
    await w.name.waitFor();
    await w.name.fill('Casey Customer');
    await w.email.fill('casey@example.com');
    await w.question.fill('Where is my order? It is **really late**.');
    await screenshot(page, 'webchat-02-form');

    const offered = nextEvent(agent, 'reservation_created');
    await w.start.click();
    await w.composer.waitFor();
    await screenshot(page, 'webchat-03-started');

    const record = await eventually(() => storedChat(page), 'the widget stores its chat');
    conversationSid = record.conversation_sid;
    guestIdentity = record.identity;
    assert.match(conversationSid, /^CH/);

    const offer = await offered;
    const reservation = offer.data.reservation;
    assert.equal(reservation.reservation_status, 'pending');
    assert.equal(reservation.worker_sid, signIn.worker_sid);

    const joined = nextEvent(agent, 'conversation_joined', (f) => f.conversation_sid === conversationSid);
    const accepted = await agent.request('accept', { reservation_sid: reservation.sid });
    assert.equal(accepted.reservation.reservation_status, 'accepted');
    await joined;

    await w.log.getByText(`${AGENT_NAME} joined the chat`).waitFor();
    // The first question is the chat's first message, with its rich text rendered.
    const bold = w.log.locator('strong', { hasText: 'really late' });
    await bold.waitFor();
    assert.equal(await bold.innerText(), 'really late');
    assert.equal(await w.log.getByText('**').count(), 0, 'no literal asterisks left');
    await screenshot(page, 'webchat-04-agent-joined');
  });

  test('typing shows both ways', async () => {
    const w = widget(page);
    await agent.typing(conversationSid);
    await page.getByText(`${AGENT_NAME} is typing…`).waitFor();
    await screenshot(page, 'webchat-05-agent-typing');

    const typing = nextEvent(agent, 'typing', (f) => f.conversation_sid === conversationSid && f.data.identity === guestIdentity);
    await w.composer.pressSequentially('Thanks');
    await typing;
  });

  test('an agent reply is text, its link is safe, and reading shows both ways', async () => {
    const w = widget(page);
    const body = 'Hello! <img src=x onerror=window.__xss=1> Track it at https://example.com today.';
    const mark = agentEvents.length;
    const { message: reply } = await agent.send(conversationSid, { body });
    const replyIndex = reply.index;

    await w.log.getByText('<img src=x onerror=window.__xss=1>', { exact: false }).waitFor();
    assert.equal(await w.log.locator('img').count(), 0, 'the reply made no <img>');
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script from the reply ran');
    const link = w.log.getByRole('link', { name: 'https://example.com' });
    await link.waitFor();
    assert.match(await link.getAttribute('href'), /^https:\/\/example\.com\/?$/);
    assert.match(await link.getAttribute('rel'), /\bnoopener\b/);
    assert.equal(await link.getAttribute('target'), '_blank');
    // A message sent means the agent stopped typing.
    await eventually(async () => (await page.getByText(`${AGENT_NAME} is typing…`).count()) === 0, 'the typing line clears');

    // The panel is open and the page visible: the widget reads the reply at once.
    const read = await nextEvent(
      agent,
      'participant_updated',
      (f) => f.conversation_sid === conversationSid && f.data.identity === guestIdentity && f.data.last_read_message_index >= replyIndex,
      WAIT_MS,
      { backlog: agentEvents.slice(mark) },
    );
    assert.ok(read.data.last_read_message_index >= replyIndex);
    await screenshot(page, 'webchat-06-agent-reply');

    // The customer sends the draft typed earlier; alice reads it and the customer sees "Seen".
    const arrived = nextEvent(agent, 'message_added', (f) => f.conversation_sid === conversationSid && f.data.author === guestIdentity);
    await w.composer.press('Enter');
    const mine = (await arrived).data;
    assert.equal(mine.body, 'Thanks');
    const ownRow = w.log.locator('li.msg--mine', { hasText: 'Thanks' });
    await ownRow.waitFor();
    assert.equal(await ownRow.getByText('Seen').count(), 0, 'not seen before alice reads it');
    await agent.read(conversationSid, mine.index);
    await ownRow.getByText('Seen').waitFor();
    assert.equal(await w.log.getByText('Seen', { exact: true }).count(), 1, 'only the last message says Seen');
    await screenshot(page, 'webchat-07-seen');
  });

  test('a picture goes each way', async () => {
    const w = widget(page);
    const arrived = nextEvent(
      agent,
      'message_added',
      (f) => f.conversation_sid === conversationSid && f.data.author === guestIdentity && (f.data.media?.length ?? 0) > 0,
    );
    await w.attach.setInputFiles(pngPath);
    const { media } = (await arrived).data;
    assert.equal(media.length, 1);
    assert.equal(media[0].content_type, 'image/png');
    assert.equal(media[0].filename, 'photo.png');

    // alice downloads it as the desktop does: the media record, then its signed link.
    const serviceSid = agent.session.chat_service_sid;
    const meta = await asAgent(`/mcs/v1/Services/${serviceSid}/Media/${media[0].sid}`);
    assert.equal(meta.status, 200, `media record answered ${meta.status}`);
    const link = (await meta.json()).links?.content_direct_temporary;
    assert.ok(link, 'the media record has a signed link');
    const content = await fetch(new URL(link, server.origin));
    assert.equal(content.status, 200);
    assert.deepEqual(Buffer.from(await content.arrayBuffer()), PNG, 'the bytes alice gets are the file');

    // The customer's own picture shows once the server has it.
    const images = w.log.locator('img.media__image');
    const own = w.log.locator('li.msg--mine img.media__image');
    await own.waitFor({ state: 'attached' });
    await eventually(() => own.evaluate((img) => img.complete && img.naturalWidth === 1), "the customer's picture loads");
    assert.equal(await own.getAttribute('alt'), 'photo.png');
    await screenshot(page, 'webchat-08-customer-picture');

    // alice uploads a picture and sends it.
    const upload = await asAgent(`/mcs/v1/Services/${serviceSid}/Media?Filename=pic.png`, {
      method: 'POST',
      headers: { 'Content-Type': 'image/png' },
      body: AGENT_PNG,
    });
    assert.equal(upload.status, 201, `upload answered ${upload.status}`);
    const uploaded = await upload.json();
    assert.match(uploaded.sid, /^ME/);
    await agent.send(conversationSid, { mediaSids: [uploaded.sid] });

    const theirs = w.log.locator('li.msg--theirs img.media__image');
    await theirs.waitFor({ state: 'attached' });
    await eventually(
      () => theirs.evaluate((img) => img.complete && img.naturalWidth === 96 && img.naturalHeight === 64),
      "alice's picture loads in the widget",
    );
    assert.equal(await theirs.getAttribute('alt'), 'pic.png');
    assert.equal(await images.count(), 2);
    await screenshot(page, 'webchat-09-agent-picture');
  });

  test('a reload and a new tab reopen the chat with its history', async () => {
    await page.reload();
    let w = widget(page);
    await w.log.getByText('Track it at').waitFor();
    await w.log.getByText('really late').waitFor();
    await w.composer.waitFor();
    assert.equal(await w.name.isVisible(), false, 'no form after a reload');
    assert.equal(await w.log.locator('img.media__image').count(), 2, 'both pictures again');
    await screenshot(page, 'webchat-10-reloaded');

    // Closing the tab keeps the browser profile's localStorage; a new tab picks the chat up.
    const tab = await newTab(page);
    await page.close();
    page = tab;
    await page.goto(`${server.origin}/webchat/demo`);
    w = widget(page);
    await w.log.getByText('Track it at').waitFor();
    await w.composer.waitFor();
    assert.equal(await w.name.isVisible(), false, 'no form in a new tab');
    await screenshot(page, 'webchat-11-new-tab');

    // The open chat at phone width: nothing runs off the screen sideways.
    await page.setViewportSize(PHONE);
    await w.composer.waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling: page is ${width}px wide`);
    const box = await w.composer.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, `composer within the screen: ${JSON.stringify(box)}`);
    await screenshot(page, 'webchat-12-phone-chat', { fullPage: false });
    await page.setViewportSize(DESKTOP);
  });

  test('closing the conversation ends the chat; the customer can start again', async () => {
    const w = widget(page);
    const closed = await server.expect(200, 'POST', `/conversations/v1/Conversations/${conversationSid}`, { State: 'closed' });
    assert.equal(closed.state, 'closed');
    await w.ended.waitFor();
    await w.newChat.waitFor();
    assert.equal(await w.composer.isVisible(), false, 'no composer once ended');
    await screenshot(page, 'webchat-13-ended');

    // Still ended after a reload: the history is shown, then the chat ends again.
    await page.reload();
    await w.ended.waitFor();
    await w.log.getByText('Track it at').waitFor();
    assert.equal(await w.composer.isVisible(), false, 'no composer after reloading an ended chat');
    assert.equal(await w.name.isVisible(), false, 'no form until the customer asks for a new chat');

    await w.newChat.click();
    await w.name.waitFor();
    assert.equal(await w.start.isVisible(), true);
    assert.equal(await storedChat(page), null, 'the ended chat is forgotten');
    await screenshot(page, 'webchat-14-new-chat-form');

    assertClean(seen);
    await page.close();
  });
});
