/**
 * The widget's chat without a browser: `applyEvent` (webchat/events.js) for each server event,
 * and `ChatSession` (webchat/session.js) driven through a fake socket, a fake `fetch` and an
 * in-memory storage — Start, the stored record, history and participants on connect, sending,
 * a refused token renewed with Refresh, a chat forgotten on 401, and a closed chat.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { applyEvent } from '../webchat/events.js';
import { participantMap } from '../webchat/model.js';
import { ChatSession } from '../webchat/session.js';
import { FakeSocket } from '../test-support/fake-socket.js';

const GUEST = 'guest:1';
const CH = 'CH1';
const ann = { sid: 'MB1', identity: 'ann', attributes: '{"friendlyName":"Ann"}', last_read_message_index: null };
const me = { sid: 'MB0', identity: GUEST, attributes: '{}', last_read_message_index: null };
const msg = (index, author = GUEST, extra = {}) => ({ sid: `IM${index}`, index, author, body: `m${index}`, ...extra });

function chatState(extra = {}) {
  return {
    record: { identity: GUEST },
    messages: [],
    notices: [],
    participants: participantMap([me]),
    typing: new Map(),
    unread: 0,
    ...extra,
  };
}

test('applyEvent: messages merge, count as unread when unseen, and stop their author typing', () => {
  let state = chatState({ typing: new Map([['ann', { name: 'Ann', until: 9e15 }]]) });
  const { patch, ended } = applyEvent(state, { event: 'message_added', data: msg(0, 'ann') }, { now: 0, visible: false });
  assert.equal(ended, false);
  assert.deepEqual(patch.messages.map((m) => m.index), [0]);
  assert.equal(patch.unread, 1);
  assert.equal(patch.typing.size, 0);
  state = { ...state, ...patch };
  assert.equal(applyEvent(state, { event: 'message_added', data: msg(1) }, { now: 0, visible: false }).patch.unread, undefined);
  assert.equal(applyEvent(state, { event: 'message_added', data: msg(1, 'ann') }, { now: 0, visible: true }).patch.unread, undefined);
  assert.deepEqual(applyEvent(state, { event: 'message_removed', data: msg(0) }, { now: 0 }).patch.messages, []);
});

test('applyEvent: participants, their notices, typing, and what ends the chat', () => {
  const state = chatState();
  const added = applyEvent(state, { event: 'participant_added', data: ann }, { now: 5 });
  assert.equal(added.patch.notices[0].text, 'Ann joined the chat');
  assert.ok(added.patch.participants.has('MB1'));
  const typing = applyEvent({ ...state, ...added.patch }, { event: 'typing', data: { identity: 'ann', participant_sid: 'MB1', timeout_ms: 100 } }, { now: 5 });
  assert.deepEqual([...typing.patch.typing.values()], [{ name: 'Ann', until: 105 }]);
  assert.equal(applyEvent(state, { event: 'participant_removed', data: ann }, { now: 5 }).ended, false);
  assert.equal(applyEvent(state, { event: 'participant_removed', data: me }, { now: 5 }).ended, true);
  assert.equal(applyEvent(state, { event: 'participant_added', data: me }, { now: 5 }).patch.notices, undefined);
  const closed = { conversation: { sid: CH, state: 'closed' }, from: 'active', reason: 'API' };
  assert.equal(applyEvent(state, { event: 'conversation_state_updated', data: closed }, { now: 0 }).ended, true);
  assert.equal(applyEvent(state, { event: 'conversation_state_updated', data: { conversation: { state: 'inactive' } } }, { now: 0 }).ended, false);
  assert.equal(applyEvent(state, { event: 'conversation_updated', data: { sid: CH, state: 'closed' } }, { now: 0 }).ended, true);
  assert.equal(applyEvent(state, { event: 'conversation_left', data: {} }, { now: 0 }).ended, true);
  assert.deepEqual(applyEvent(state, { event: 'something_new', data: {} }, { now: 0 }), { patch: {}, ended: false });
});

// --- ChatSession ---------------------------------------------------------------------------

async function until(check, what, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

class MemoryStorage {
  map = new Map();
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

function answer(token, extra = {}) {
  return {
    token,
    identity: GUEST,
    conversation_sid: CH,
    chat_service_sid: 'IS1',
    account_sid: 'AC1',
    expires_at: new Date(Date.now() + 3600e3).toISOString(),
    friendly_name: 'Dana',
    ...extra,
  };
}

/** A fetch playing Start and Refresh: `routes[path]` answers `[status, body]`. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const [status, body] = routes[new URL(url).pathname]();
    return { ok: status < 300, status, json: async () => body };
  };
  return { fetch, calls };
}

function newSession(storage, fetch) {
  return new ChatSession({ origin: 'https://chat.example', addressSid: 'IG1', storage, fetch, WebSocket: FakeSocket });
}

/** The first frame of `type` the client sent after `after` frames (or the next one sent). */
async function sentFrame(socket, type, after = 0) {
  return socket.sent.slice(after).find((f) => f.type === type) ?? socket.next(type);
}

/** Opens the latest socket, answers hello, history and participants. */
async function serve(count, { messages = [], participants = [me, ann], state = 'active' } = {}) {
  await until(() => FakeSocket.instances.length >= count, `socket ${count}`);
  const socket = FakeSocket.instances[count - 1];
  socket.open();
  const hello = socket.lastSent('hello');
  socket.reply(hello.id, {
    identity: GUEST,
    role: 'guest',
    conversations: [{ conversation: { sid: CH, state }, participant: me, last_message_index: messages.at(-1)?.index ?? null }],
  });
  const history = await sentFrame(socket, 'history');
  assert.equal(history.conversation_sid, CH);
  socket.reply(history.id, { messages, has_more: false });
  const asked = await sentFrame(socket, 'participants');
  socket.reply(asked.id, { participants });
  return { socket, hello };
}

test('ChatSession: Start, the stored record, history and participants, then sending', async () => {
  FakeSocket.reset();
  const storage = new MemoryStorage();
  const { fetch, calls } = fakeFetch({ '/switchboard/v1/Webchat/Start': () => [201, answer('t1')] });
  const session = newSession(storage, fetch);
  await session.start({ name: 'Dana', email: '', question: 'Hi' });
  assert.equal(calls[0].init.body, 'AddressSid=IG1&FriendlyName=Dana&Question=Hi');
  assert.equal(session.state.phase, 'chat');
  assert.equal(JSON.parse(storage.getItem('switchboard.webchat.IG1')).token, 't1');
  assert.equal(FakeSocket.last.url, 'wss://chat.example/v1/ws');

  const { socket, hello } = await serve(1, { messages: [msg(0)] });
  assert.equal(hello.token, 't1');
  await until(() => session.state.participants.size === 2, 'participants');
  assert.deepEqual(session.state.messages.map((m) => m.index), [0]);

  session.setVisible(true);
  const before = socket.sent.length;
  socket.event('message_added', CH, msg(1, 'ann'));
  const read = await sentFrame(socket, 'read', before);
  assert.equal(read.index, 1);

  const sentBefore = socket.sent.length;
  session.send('Thanks');
  assert.equal(session.state.messages.at(-1).pending, true);
  const send = await sentFrame(socket, 'send', sentBefore);
  assert.equal(send.body, 'Thanks');
  const stored = msg(2, GUEST, { body: 'Thanks', client_message_id: send.client_message_id });
  socket.event('message_added', CH, stored);
  socket.reply(send.id, { message: stored });
  await until(() => !session.state.messages.some((m) => m.pending), 'pending replaced');
  assert.deepEqual(session.state.messages.map((m) => m.index), [0, 1, 2]);
  session.newChat();
  assert.equal(storage.getItem('switchboard.webchat.IG1'), null);
  assert.equal(session.state.phase, 'form');
});

test('ChatSession: a refused stored token is renewed with Refresh; a 401 forgets the chat', async () => {
  FakeSocket.reset();
  const storage = new MemoryStorage();
  storage.setItem('switchboard.webchat.IG1', JSON.stringify({ ...answer('old'), open: true }));
  let refresh = () => [200, answer('new', { conversation_state: 'active' })];
  const { fetch, calls } = fakeFetch({ '/switchboard/v1/Webchat/Refresh': () => refresh() });
  const session = newSession(storage, fetch);
  assert.equal(session.wasOpen, true);
  session.restore();
  assert.equal(session.state.phase, 'chat');

  await until(() => FakeSocket.instances.length === 1, 'socket 1');
  const first = FakeSocket.last;
  first.open();
  const hello = first.lastSent('hello');
  assert.equal(hello.token, 'old');
  first.error(hello.id, 20003, 401, 'token invalid');
  first.serverClose(4501, 'token invalid');

  const { hello: second } = await serve(2);
  assert.equal(second.token, 'new');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer old');
  assert.equal(JSON.parse(storage.getItem('switchboard.webchat.IG1')).token, 'new');

  // The guest was removed meanwhile: Refresh answers 401 and the chat is forgotten.
  refresh = () => [401, { code: 20003, message: 'Authentication Error', status: 401 }];
  FakeSocket.last.serverClose(4000, 'draining');
  await until(() => session.state.phase === 'form', 'form again');
  assert.equal(storage.getItem('switchboard.webchat.IG1'), null);
});

test('ChatSession: a closed conversation shows its history, then ends', async () => {
  FakeSocket.reset();
  const storage = new MemoryStorage();
  storage.setItem('switchboard.webchat.IG1', JSON.stringify({ ...answer('t'), open: false }));
  const session = newSession(storage, async () => assert.fail('no HTTP call expected'));
  session.restore();
  await serve(1, { messages: [msg(0), msg(1, 'ann')], state: 'closed' });
  await until(() => session.state.phase === 'ended', 'ended');
  assert.deepEqual(session.state.messages.map((m) => m.index), [0, 1]);
  assert.equal(session.state.connection, 'disconnected');
  assert.ok(storage.getItem('switchboard.webchat.IG1'), 'kept until "Start a new chat"');
});
