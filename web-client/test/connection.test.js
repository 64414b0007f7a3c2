/**
 * `Connection` against a fake socket (test-support/fake-socket.js), the test playing the
 * server: the hello handshake and states, reply correlation, timeouts, dedupe of
 * `message_added`, resume maps, re-monitoring, idempotent send retries, close-code decisions,
 * token renewal and heartbeats.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { Connection, RequestError } from '../sdk/connection.js';
import { FakeSocket } from '../test-support/fake-socket.js';

const CH1 = 'CH11111111111111111111111111111111';
const CH2 = 'CH22222222222222222222222222222222';
const CH3 = 'CH33333333333333333333333333333333';

function summary(sid, lastMessageIndex, { participant = true } = {}) {
  return {
    conversation: { sid, state: 'active' },
    participant: participant ? { sid: 'MB00000000000000000000000000000001', identity: 'alice' } : null,
    last_message_index: lastMessageIndex,
  };
}

function session(conversations = [], role = 'agent') {
  return {
    session_id: 'session-1',
    protocol: 1,
    identity: 'alice',
    role,
    account_sid: 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    chat_service_sid: 'IS00000000000000000000000000000000',
    expires_at: '2030-01-01T00:00:00Z',
    conversations,
  };
}

function message(conversationSid, index, body = `m${index}`) {
  return { sid: `IM${String(index).padStart(32, '0')}`, conversation_sid: conversationSid, index, author: 'bob', body };
}

/** Polls `check` until it holds (at most `ms`). */
async function until(check, what = 'condition', ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Records the detail of every event of these types, in order. */
function record(conn, ...types) {
  const seen = [];
  for (const type of types) conn.addEventListener(type, (e) => seen.push({ type, detail: e.detail }));
  return seen;
}

/** Waits for the n-th socket (1-based), opens it and answers its hello with `sess`. */
async function accept(n, sess = session()) {
  await until(() => FakeSocket.instances.length >= n, `socket ${n}`);
  const socket = FakeSocket.instances[n - 1];
  socket.open();
  const hello = socket.lastSent('hello');
  assert.ok(hello, 'hello sent on open');
  assert.equal(socket.sent[0], hello, 'hello is the first frame');
  socket.reply(hello.id, sess);
  return { socket, hello };
}

/** A connected Connection over a fake socket; reconnects happen at once (random = 0). */
async function connected(options = {}, sess = session()) {
  FakeSocket.reset();
  const conn = new Connection({
    url: 'ws://switchboard.test/v1/ws',
    token: 'token-1',
    WebSocket: FakeSocket,
    random: () => 0,
    heartbeatMs: 0,
    requestTimeoutMs: 500,
    ...options,
  });
  const ready = conn.connect();
  const { socket, hello } = await accept(1, sess);
  assert.deepEqual(await ready, sess);
  return { conn, socket, hello };
}

test('connect: hello first with protocol and token, states connecting → connected', async () => {
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', token: 'tok', WebSocket: FakeSocket, heartbeatMs: 0 });
  const states = record(conn, 'state');
  assert.equal(conn.state, 'disconnected');
  const ready = conn.connect();
  assert.equal(conn.state, 'connecting');
  const socket = FakeSocket.last;
  assert.equal(socket.url, 'ws://x/v1/ws');
  assert.equal(socket.sent.length, 0, 'nothing before the socket is open');
  socket.open();
  const hello = socket.sent[0];
  assert.equal(hello.type, 'hello');
  assert.equal(hello.protocol, 1);
  assert.equal(hello.token, 'tok');
  assert.equal(hello.resume, undefined, 'nothing to resume on a first connect');
  socket.reply(hello.id, session([summary(CH1, 4)]));
  const sess = await ready;
  assert.equal(sess.identity, 'alice');
  assert.equal(conn.state, 'connected');
  assert.deepEqual(conn.session, sess);
  assert.equal(conn.lastIndex(CH1), 4, 'live from the last message the hello listed');
  assert.deepEqual(
    states.map((s) => s.detail.state),
    ['connecting', 'connected'],
  );
  conn.close();
  assert.equal(conn.state, 'disconnected');
  assert.deepEqual(socket.closedWith, { code: 1000, reason: 'client closed' });
});

test('commands made while connecting wait for the hello reply, then go out in order', async () => {
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', token: 'tok', WebSocket: FakeSocket, heartbeatMs: 0 });
  conn.connect();
  const a = conn.conversations();
  const b = conn.typing(CH1);
  const socket = FakeSocket.last;
  socket.open();
  assert.deepEqual(socket.sent.map((f) => f.type), ['hello']);
  socket.reply(socket.sent[0].id, session());
  await until(() => socket.sent.length === 3, 'queued commands');
  assert.deepEqual(socket.sent.map((f) => f.type), ['hello', 'conversations', 'typing']);
  socket.reply(socket.sent[1].id, { conversations: [] });
  socket.reply(socket.sent[2].id, {});
  assert.deepEqual(await a, { conversations: [] });
  assert.deepEqual(await b, {});
  conn.close();
});

test('replies are matched by id, whatever order they come in', async () => {
  const { conn, socket } = await connected();
  const history = conn.history(CH1, { limit: 2 });
  const read = conn.read(CH1, 3);
  const ping = conn.ping();
  const [h, r, p] = socket.sent.slice(1);
  assert.deepEqual(h, { type: 'history', id: h.id, conversation_sid: CH1, limit: 2 });
  assert.deepEqual(r, { type: 'read', id: r.id, conversation_sid: CH1, index: 3 });
  assert.equal(p.type, 'ping');
  assert.equal(new Set([h.id, r.id, p.id]).size, 3, 'ids are unique');

  socket.reply(p.id, {});
  socket.reply(r.id, { participant: { last_read_message_index: 3 } });
  socket.reply(h.id, { messages: [message(CH1, 0), message(CH1, 1)], has_more: false });
  assert.deepEqual(await ping, {});
  assert.equal((await read).participant.last_read_message_index, 3);
  assert.equal((await history).messages.length, 2);

  // An answer nobody waits for (unknown id) is ignored.
  socket.reply(9999, {});
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('an error frame rejects with code and status; the session stays open', async () => {
  const { conn, socket } = await connected();
  const edit = conn.edit(CH1, 2, { body: 'x', attributes: { a: 1 } });
  const frame = socket.lastSent('edit');
  assert.equal(frame.attributes, '{"a":1}', 'attributes go as JSON text');
  socket.error(frame.id, 20403, 403, 'not your message');
  await assert.rejects(edit, (err) => {
    assert.ok(err instanceof RequestError);
    assert.equal(err.code, 20403);
    assert.equal(err.status, 403);
    assert.equal(err.message, 'not your message');
    assert.equal(err.command, 'edit');
    return true;
  });
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('a command without an answer rejects with a timeout', async () => {
  const { conn, socket } = await connected({ requestTimeoutMs: 30 });
  const typing = conn.typing(CH1);
  await assert.rejects(typing, { code: 'timeout', command: 'typing' });
  // A late answer is dropped quietly.
  socket.reply(socket.lastSent('typing').id, {});
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('send: a generated client_message_id, or the one given', async () => {
  const { conn, socket } = await connected();
  const a = conn.send(CH1, { body: 'hello' });
  const b = conn.send(CH1, { body: 'again', clientMessageId: 'cm-1', mediaSids: ['ME1'] });
  const [fa, fb] = socket.sent.slice(1);
  assert.match(fa.client_message_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(fb, {
    type: 'send',
    id: fb.id,
    conversation_sid: CH1,
    body: 'again',
    media_sids: ['ME1'],
    client_message_id: 'cm-1',
  });
  socket.reply(fa.id, { message: message(CH1, 0) });
  socket.reply(fb.id, { message: message(CH1, 1) });
  assert.equal((await a).message.index, 0);
  assert.equal((await b).message.index, 1);
  conn.close();
});

test('events are re-emitted as `event` and by name; duplicate message_added are dropped', async () => {
  const { conn, socket } = await connected({}, session([summary(CH1, 1)]));
  const seen = record(conn, 'event', 'message_added', 'typing');
  socket.event('message_added', CH1, message(CH1, 2));
  socket.event('message_added', CH1, message(CH1, 2)); // the same again
  socket.event('message_added', CH1, message(CH1, 1)); // already before the hello
  socket.event('typing', CH1, { participant_sid: 'MB1', identity: 'bob', timeout_ms: 5000 });
  socket.event('message_added', CH1, message(CH1, 3));
  socket.event('message_added', CH2, message(CH2, 0)); // a conversation not seen before

  const added = seen.filter((s) => s.type === 'message_added').map((s) => [s.detail.conversation_sid, s.detail.data.index]);
  assert.deepEqual(added, [
    [CH1, 2],
    [CH1, 3],
    [CH2, 0],
  ]);
  assert.deepEqual(
    seen.filter((s) => s.type === 'event').map((s) => s.detail.event),
    ['message_added', 'typing', 'message_added', 'message_added'],
  );
  assert.equal(seen.find((s) => s.type === 'typing').detail.data.identity, 'bob');
  assert.equal(conn.duplicatesDropped, 2);
  assert.equal(conn.lastIndex(CH1), 3);
  conn.close();
});

test('reconnect on 1006: state reconnecting, hello.resume from the last index delivered', async () => {
  const { conn, socket } = await connected({}, session([summary(CH1, 1), summary(CH2, null), summary(CH3, 7)]));
  const states = record(conn, 'state', 'retry');
  socket.event('message_added', CH1, message(CH1, 2));
  socket.event('message_added', CH2, message(CH2, 0));
  socket.serverClose(1006);
  assert.equal(conn.state, 'reconnecting');
  assert.deepEqual(conn.lastClose, { code: 1006, reason: '' });

  await until(() => FakeSocket.instances.length === 2, 'second socket');
  const second = FakeSocket.last;
  second.open();
  const hello = second.lastSent('hello');
  assert.deepEqual(hello.resume, { [CH1]: 2, [CH2]: 0, [CH3]: 7 });
  // The server replays what was missed before going live.
  second.reply(hello.id, session([summary(CH1, 4), summary(CH2, 0), summary(CH3, 7)]));
  await until(() => conn.state === 'connected', 'connected again');
  assert.equal(conn.lastIndex(CH1), 2, 'the hello does not skip what the replay will deliver');
  const added = record(conn, 'message_added');
  second.event('message_added', CH1, message(CH1, 2)); // delivered before the drop
  second.event('message_added', CH1, message(CH1, 3));
  second.event('message_added', CH1, message(CH1, 4));
  assert.deepEqual(added.map((a) => a.detail.data.index), [3, 4]);
  assert.deepEqual(
    states.map((s) => (s.type === 'state' ? s.detail.state : `retry ${s.detail.attempt} ${s.detail.code}`)),
    ['reconnecting', 'retry 0 1006', 'connected'],
  );
  conn.close();
});

test('a pending send is retried after a reconnect with the same client_message_id', async () => {
  const { conn, socket } = await connected();
  const sending = conn.send(CH1, { body: 'once' });
  const first = socket.lastSent('send');
  const typing = conn.typing(CH1); // not idempotent: not retried
  socket.serverClose(4001, 'too slow');
  await assert.rejects(typing, { code: 'disconnected', closeCode: 4001 });

  const { socket: second } = await accept(2);
  await until(() => second.lastSent('send'), 'retried send');
  const retry = second.lastSent('send');
  assert.equal(retry.client_message_id, first.client_message_id);
  assert.equal(retry.body, 'once');
  assert.equal(second.sent.filter((f) => f.type === 'send').length, 1);
  second.reply(retry.id, { message: { ...message(CH1, 0), client_message_id: first.client_message_id } });
  assert.equal((await sending).message.index, 0);
  conn.close();
});

test('monitored conversations are monitored again after a reconnect, from the last index', async () => {
  const { conn, socket } = await connected({}, session([], 'supervisor'));
  const watching = conn.monitor(CH1);
  socket.reply(socket.lastSent('monitor').id, summary(CH1, 5, { participant: false }));
  await watching;
  assert.deepEqual(conn.monitored, [CH1]);
  assert.equal(conn.lastIndex(CH1), 5);
  socket.event('message_added', CH1, message(CH1, 6));
  socket.serverClose(4002);

  const { socket: second, hello } = await accept(2, session([], 'supervisor'));
  assert.equal(hello.resume, undefined, 'a monitored conversation is not in hello.resume');
  await until(() => second.lastSent('monitor'), 're-monitor');
  const again = second.lastSent('monitor');
  assert.equal(again.conversation_sid, CH1);
  assert.equal(again.after_index, 6);
  second.reply(again.id, summary(CH1, 8, { participant: false }));

  // Unmonitoring forgets it: a later reconnect does not monitor it again.
  const stop = conn.unmonitor(CH1);
  second.reply(second.lastSent('unmonitor').id, {});
  await stop;
  assert.deepEqual(conn.monitored, []);
  second.serverClose(1001);
  const { socket: third } = await accept(3, session([], 'supervisor'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third.lastSent('monitor'), undefined);
  conn.close();
});

test('a refused re-monitor is reported as resume_error and forgotten', async () => {
  const { conn, socket } = await connected({}, session([], 'supervisor'));
  const watching = conn.monitor(CH1);
  socket.reply(socket.lastSent('monitor').id, summary(CH1, 0, { participant: false }));
  await watching;
  const errors = record(conn, 'resume_error');
  socket.serverClose(4000);
  const { socket: second } = await accept(2, session([], 'supervisor'));
  await until(() => second.lastSent('monitor'), 're-monitor');
  second.error(second.lastSent('monitor').id, 20404, 404, 'gone');
  await until(() => errors.length === 1, 'resume_error');
  assert.equal(errors[0].detail.conversationSid, CH1);
  assert.equal(errors[0].detail.error.code, 20404);
  assert.deepEqual(conn.monitored, []);
  conn.close();
});

test('conversation_joined starts tracking; conversation_left stops it', async () => {
  const { conn, socket } = await connected();
  socket.event('conversation_joined', CH2, summary(CH2, 3));
  assert.equal(conn.lastIndex(CH2), 3);
  socket.event('conversation_joined', CH3, summary(CH3, 0));
  socket.event('conversation_left', CH3, { participant: { identity: 'alice' } });
  assert.equal(conn.lastIndex(CH3), undefined);
  socket.serverClose(1006);
  await until(() => FakeSocket.instances.length === 2, 'second socket');
  FakeSocket.last.open();
  assert.deepEqual(FakeSocket.last.lastSent('hello').resume, { [CH2]: 3 });
  conn.close();
});

test('4501: disconnected for good, no reconnect, connect() rejects with the close code', async () => {
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', token: 'bad', WebSocket: FakeSocket, random: () => 0 });
  const states = record(conn, 'state');
  const ready = conn.connect();
  const socket = FakeSocket.last;
  socket.open();
  socket.error(socket.sent[0].id, 20003, 401, 'access token invalid');
  socket.serverClose(4501, 'token invalid');
  await assert.rejects(ready, (err) => {
    assert.equal(err.code, 'disconnected');
    assert.equal(err.closeCode, 4501);
    assert.equal(err.cause.code, 20003);
    return true;
  });
  assert.equal(conn.state, 'disconnected');
  assert.deepEqual(conn.lastClose, { code: 4501, reason: 'token invalid' });
  assert.deepEqual(states.at(-1).detail, { state: 'disconnected', previous: 'connecting', code: 4501, reason: 'token invalid' });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.instances.length, 1, 'no second attempt');
  await assert.rejects(conn.ping(), { code: 'disconnected' });
});

test('4004 with a tokenProvider: a fresh token, then reconnect and resume', async () => {
  let n = 0;
  const tokenProvider = async () => `token-${++n}`;
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', tokenProvider, WebSocket: FakeSocket, random: () => 0, heartbeatMs: 0 });
  const ready = conn.connect();
  const { hello } = await accept(1, session([summary(CH1, 0)]));
  assert.equal(hello.token, 'token-1');
  await ready;
  FakeSocket.last.serverClose(4004, 'token expired');
  assert.equal(conn.state, 'reconnecting');
  const { hello: again } = await accept(2);
  assert.equal(again.token, 'token-2');
  assert.deepEqual(again.resume, { [CH1]: 0 });
  conn.close();
});

test('4004 without a tokenProvider: the same token would be refused, so stop', async () => {
  const { conn, socket } = await connected();
  socket.serverClose(4004, 'token expired');
  assert.equal(conn.state, 'disconnected');
  assert.equal(conn.lastClose.code, 4004);
});

test('a tokenProvider is asked before every reconnect; a failing one is retried with backoff', async () => {
  let calls = 0;
  const tokenProvider = async () => {
    calls++;
    if (calls === 2) throw new Error('auth service down');
    return `token-${calls}`;
  };
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', tokenProvider, WebSocket: FakeSocket, random: () => 0, heartbeatMs: 0 });
  const events = record(conn, 'token_error', 'retry');
  conn.connect();
  await accept(1);
  FakeSocket.last.serverClose(1006);
  const { hello } = await accept(2);
  assert.equal(hello.token, 'token-3');
  assert.deepEqual(
    events.map((e) => (e.type === 'retry' ? `retry ${e.detail.attempt}` : e.type)),
    ['retry 0', 'token_error', 'retry 1'],
  );
  conn.close();
});

test('token_expiring: the tokenProvider is asked and the token renewed', async () => {
  let n = 0;
  const { conn, socket } = await connected({ tokenProvider: async () => `fresh-${++n}` });
  const renewed = record(conn, 'token_renewed', 'token_expiring');
  socket.event('token_expiring', null, { expires_at: '2030-01-01T00:00:00Z' });
  await until(() => socket.lastSent('renew'), 'renew');
  const renew = socket.lastSent('renew');
  assert.equal(renew.token, 'fresh-1');
  socket.reply(renew.id, { expires_at: '2030-01-01T01:00:00Z' });
  await until(() => renewed.some((e) => e.type === 'token_renewed'), 'token_renewed');
  assert.equal(renewed[0].type, 'token_expiring', 'the event itself is re-emitted too');
  // The renewed token is the one a later reconnect would use (tokenProvider is asked again).
  socket.serverClose(1006);
  const { hello } = await accept(2);
  assert.equal(hello.token, 'fresh-2');
  conn.close();
});

test('backoff grows while attempts fail and resets after a hello succeeds', async () => {
  FakeSocket.reset();
  const conn = new Connection({
    url: 'ws://x/v1/ws',
    token: 't',
    WebSocket: FakeSocket,
    backoff: { baseMs: 4, maxMs: 20 },
    random: () => 0.5,
    heartbeatMs: 0,
  });
  const retries = record(conn, 'retry');
  conn.connect();
  // Four failed attempts in a row (server down: no handshake).
  for (let i = 1; i <= 4; i++) {
    await until(() => FakeSocket.instances.length === i, `attempt ${i}`);
    FakeSocket.last.serverClose(1006);
  }
  await accept(5);
  FakeSocket.last.serverClose(4000);
  await accept(6);
  assert.deepEqual(
    retries.map((r) => [r.detail.attempt, r.detail.delayMs]),
    [
      [0, 2],
      [1, 4],
      [2, 8],
      [3, 10],
      [0, 2],
    ],
  );
  conn.close();
});

test('close(): disconnected, waiting commands fail, nothing reconnects', async () => {
  const { conn, socket } = await connected();
  const sending = conn.send(CH1, { body: 'x' });
  conn.close();
  await assert.rejects(sending, (err) => err.code === 'disconnected' && typeof err.clientMessageId === 'string');
  assert.equal(conn.state, 'disconnected');
  socket.serverClose(1006); // late close of the old socket: ignored
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.instances.length, 1);
  // A new connect() starts afresh.
  const ready = conn.connect();
  await accept(2);
  await ready;
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('close() during the backoff wait cancels the reconnect', async () => {
  const { conn, socket } = await connected({ backoff: { baseMs: 50, maxMs: 50 }, random: () => 0.99 });
  socket.serverClose(1006);
  assert.equal(conn.state, 'reconnecting');
  conn.close();
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(conn.state, 'disconnected');
});

test('heartbeat: a silent server is pinged; an unanswered ping drops the socket and reconnects', async () => {
  const { conn, socket } = await connected({ heartbeatMs: 20, requestTimeoutMs: 40 });
  await until(() => socket.lastSent('ping'), 'first ping');
  socket.reply(socket.lastSent('ping').id, {});
  const pings = () => socket.sent.filter((f) => f.type === 'ping').length;
  await until(() => pings() === 2, 'second ping');
  // No answer this time.
  await until(() => FakeSocket.instances.length === 2, 'a new socket after the dead one');
  assert.equal(socket.closedWith.code, 1006, 'the dead socket is torn down');
  assert.equal(conn.lastClose.code, 4003);
  await accept(2);
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('a hello that is never answered counts as a failed attempt', async () => {
  FakeSocket.reset();
  const conn = new Connection({ url: 'ws://x/v1/ws', token: 't', WebSocket: FakeSocket, random: () => 0, requestTimeoutMs: 30, heartbeatMs: 0 });
  conn.connect();
  FakeSocket.last.open();
  await until(() => FakeSocket.instances.length === 2, 'second attempt');
  assert.equal(conn.state, 'reconnecting');
  await accept(2);
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('frames that are not JSON or of an unknown type are reported, not fatal', async () => {
  const { conn, socket } = await connected();
  const problems = record(conn, 'protocol_error');
  socket.receive('not json');
  socket.receive({ type: 'mystery' });
  assert.deepEqual(problems.map((p) => p.detail.reason), ['frame is not JSON', 'unknown frame type']);
  assert.equal(conn.state, 'connected');
  conn.close();
});

test('backfill: a conversation empty at the last hello that got messages meanwhile', async () => {
  const { conn, socket } = await connected({}, session([summary(CH1, null), summary(CH2, 0)]));
  const seen = record(conn, 'message_added');
  socket.serverClose(1006);
  const { socket: second, hello } = await accept(2, session([summary(CH1, 2), summary(CH2, 0)]));
  assert.deepEqual(hello.resume, { [CH2]: 0 }, 'no index for CH1: it cannot be resumed');
  await until(() => second.lastSent('history'), 'history for CH1');
  const history = second.lastSent('history');
  assert.deepEqual(history, { type: 'history', id: history.id, conversation_sid: CH1, before: 3, limit: 100 });
  // A live message arrives before the history answer: it waits for the backfill.
  second.event('message_added', CH1, message(CH1, 3));
  second.event('message_added', CH2, message(CH2, 1)); // other conversations are not held
  assert.deepEqual(seen.map((s) => [s.detail.conversation_sid, s.detail.data.index]), [[CH2, 1]]);
  second.reply(history.id, { messages: [message(CH1, 0), message(CH1, 1), message(CH1, 2)], has_more: false });
  await until(() => seen.length === 5, 'backfilled and held messages');
  assert.deepEqual(
    seen.filter((s) => s.detail.conversation_sid === CH1).map((s) => s.detail.data.index),
    [0, 1, 2, 3],
  );
  assert.equal(conn.lastIndex(CH1), 3);
  conn.close();
});

test('backfill pages backwards through long gaps and survives a drop mid-way', async () => {
  const { conn, socket } = await connected({}, session([summary(CH1, null)]));
  const seen = record(conn, 'message_added');
  socket.serverClose(1006);
  const { socket: second } = await accept(2, session([summary(CH1, 4)]));
  await until(() => second.lastSent('history'), 'history');
  // The socket drops before the answer: nothing is delivered, the next hello tries again.
  second.serverClose(1006);
  const { socket: third, hello } = await accept(3, session([summary(CH1, 4)]));
  assert.equal(hello.resume, undefined);
  await until(() => third.lastSent('history'), 'history again');
  const first = third.lastSent('history');
  assert.equal(first.before, 5);
  third.reply(first.id, { messages: [message(CH1, 3), message(CH1, 4)], has_more: true });
  await until(() => third.sent.filter((f) => f.type === 'history').length === 2, 'second page');
  const next = third.lastSent('history');
  assert.equal(next.before, 3);
  // Index 1 was deleted: gaps are fine.
  third.reply(next.id, { messages: [message(CH1, 0), message(CH1, 2)], has_more: false });
  await until(() => seen.length === 4, 'all pages');
  assert.deepEqual(seen.map((s) => s.detail.data.index), [0, 2, 3, 4]);
  conn.close();
});

test('backfill for a monitored conversation that was empty', async () => {
  const { conn, socket } = await connected({}, session([], 'supervisor'));
  const watching = conn.monitor(CH1);
  socket.reply(socket.lastSent('monitor').id, summary(CH1, null, { participant: false }));
  await watching;
  const seen = record(conn, 'message_added');
  socket.serverClose(4000);
  const { socket: second } = await accept(2, session([], 'supervisor'));
  await until(() => second.lastSent('monitor'), 're-monitor');
  const again = second.lastSent('monitor');
  assert.equal(again.after_index, undefined);
  second.reply(again.id, summary(CH1, 1, { participant: false }));
  await until(() => second.lastSent('history'), 'history');
  second.reply(second.lastSent('history').id, { messages: [message(CH1, 0), message(CH1, 1)], has_more: false });
  await until(() => seen.length === 2, 'backfilled');
  assert.deepEqual(seen.map((s) => s.detail.data.index), [0, 1]);
  conn.close();
});

test('a command larger than maxFrameBytes is refused here, not sent (the server would close 4503)', async () => {
  const { conn, socket } = await connected({ maxFrameBytes: 1024 });
  await assert.rejects(conn.send(CH1, { body: 'x'.repeat(2000) }), (err) => {
    assert.equal(err.code, 'frame_too_large');
    assert.equal(err.command, 'send');
    assert.equal(typeof err.clientMessageId, 'string');
    return true;
  });
  // Multi-byte text counts in bytes: 400 × 3 bytes.
  await assert.rejects(conn.send(CH1, { body: '€'.repeat(400) }), { code: 'frame_too_large' });
  assert.equal(socket.sent.filter((f) => f.type === 'send').length, 0);
  const ok = conn.send(CH1, { body: 'x'.repeat(500) });
  socket.reply(socket.lastSent('send').id, { message: message(CH1, 0) });
  await ok;
  conn.close();
});
