/**
 * `Connection` against the real server binary ($SWITCHBOARD_BIN, else ../target/debug/
 * switchboard), set up over REST as a backend would (API key, conversations, participants,
 * messages) with access tokens minted here: hello, send, fan-out, REST messages arriving live,
 * idempotent sends, errors, typing, history, resume after a dropped socket (participant and
 * monitoring supervisor), a refused token, and reconnecting through a server restart.
 */

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket from 'ws';

import { backoffCeiling, Connection } from '../sdk/connection.js';
import { ACCOUNT, mintToken, skipReason, TestServer } from '../test-support/server.js';

const skip = skipReason() ?? false;

/** Polls `check` until it holds. */
async function until(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with the detail of the next `type` event that matches. */
function next(conn, type, match = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.removeEventListener(type, on);
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    function on(event) {
      if (!match(event.detail)) return;
      clearTimeout(timer);
      conn.removeEventListener(type, on);
      resolve(event.detail);
    }
    conn.addEventListener(type, on);
  });
}

/** Every `message_added` of one conversation from now on, as `[index, body]`. */
function messagesOf(conn, conversationSid) {
  const seen = [];
  conn.addEventListener('message_added', (e) => {
    if (e.detail.conversation_sid === conversationSid) seen.push([e.detail.data.index, e.detail.data.body]);
  });
  return seen;
}

/** A promise with its resolver, to hold a tokenProvider (and so a reconnect) back. */
function gate() {
  let open;
  const promise = new Promise((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('against the server', { skip }, () => {
  let server;
  let key;
  const clients = [];

  /** A Connection to the test server, closed after each test. */
  function client(options) {
    const conn = new Connection({
      url: server.wsUrl,
      WebSocket,
      requestTimeoutMs: 5000,
      backoff: { baseMs: 50, maxMs: 1000 },
      ...options,
    });
    clients.push(conn);
    return conn;
  }

  const token = (identity, role = 'agent') => mintToken({ key, identity, role });

  /** A conversation with these participants. */
  async function conversation(...identities) {
    const sid = await server.createConversation();
    for (const identity of identities) await server.addParticipant(sid, identity);
    return sid;
  }

  before(async () => {
    server = await TestServer.spawn();
    key = await server.createKey();
    assert.match(key.sid, /^SK[0-9a-f]{32}$/);
  });

  afterEach(() => {
    for (const conn of clients.splice(0)) conn.close();
  });

  after(async () => {
    await server?.stop();
  });

  test('hello: the session lists the identity and its conversations', async () => {
    const ch = await conversation('alice');
    const alice = client({ token: token('alice') });
    const states = [];
    alice.addEventListener('state', (e) => states.push(e.detail.state));
    const session = await alice.connect();
    assert.equal(session.protocol, 1);
    assert.equal(session.identity, 'alice');
    assert.equal(session.role, 'agent');
    assert.equal(session.account_sid, ACCOUNT);
    assert.match(session.chat_service_sid, /^IS[0-9a-f]{32}$/);
    assert.ok(session.session_id);
    const summary = session.conversations.find((s) => s.conversation.sid === ch);
    assert.ok(summary, `the hello lists ${ch}: ${JSON.stringify(session.conversations)}`);
    assert.equal(summary.participant.identity, 'alice');
    assert.equal(summary.last_message_index, null);
    assert.deepEqual(states, ['connecting', 'connected']);

    const { conversations } = await alice.conversations();
    assert.ok(conversations.some((s) => s.conversation.sid === ch));
  });

  test('roles: a supervisor grant makes a supervisor, a chat grant alone a guest', async () => {
    const sup = client({ token: token('sam', 'supervisor') });
    assert.equal((await sup.connect()).role, 'supervisor');
    const guest = client({ token: mintToken({ key, identity: 'guest-1' }) });
    assert.equal((await guest.connect()).role, 'guest');
  });

  test('send: answered with the committed message, fanned out to every participant', async () => {
    const ch = await conversation('alice', 'bob');
    const alice = client({ token: token('alice') });
    const bob = client({ token: token('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    const toBob = next(bob, 'message_added', (f) => f.conversation_sid === ch);
    const toAlice = next(alice, 'message_added', (f) => f.conversation_sid === ch);

    const { message } = await alice.send(ch, { body: 'hello bob', attributes: { priority: 'high' } });
    assert.match(message.sid, /^IM[0-9a-f]{32}$/);
    assert.equal(message.index, 0);
    assert.equal(message.author, 'alice');
    assert.equal(message.body, 'hello bob');
    assert.equal(message.conversation_sid, ch);
    assert.deepEqual(JSON.parse(message.attributes), { priority: 'high' });
    assert.equal(typeof message.client_message_id, 'string');

    const event = await toBob;
    assert.equal(event.type, 'event');
    assert.equal(event.event, 'message_added');
    assert.equal(event.data.sid, message.sid);
    assert.equal(event.data.index, 0);
    assert.equal(event.data.author, 'alice');
    assert.equal(event.data.body, 'hello bob');
    // The author's own session sees it as an event too.
    assert.equal((await toAlice).data.sid, message.sid);
    assert.equal(alice.lastIndex(ch), 0);
  });

  test('a message posted over REST arrives live as message_added', async () => {
    const ch = await conversation('alice');
    const alice = client({ token: token('alice') });
    await alice.connect();
    const arrived = next(alice, 'message_added', (f) => f.conversation_sid === ch);
    const posted = await server.postMessage(ch, 'customer', 'hi from REST');
    const event = await arrived;
    assert.equal(event.data.sid, posted.sid);
    assert.equal(event.data.index, posted.index);
    assert.equal(event.data.author, 'customer');
    assert.equal(event.data.body, 'hi from REST');
  });

  test('send with the same client_message_id twice creates one message', async () => {
    const ch = await conversation('alice');
    const alice = client({ token: token('alice') });
    await alice.connect();
    const first = await alice.send(ch, { body: 'once', clientMessageId: 'retry-me-1' });
    const second = await alice.send(ch, { body: 'once', clientMessageId: 'retry-me-1' });
    assert.equal(second.message.sid, first.message.sid);
    assert.equal(second.message.index, first.message.index);
    assert.equal(first.message.client_message_id, 'retry-me-1');
    const listed = await server.expect(200, 'GET', `/conversations/v1/Conversations/${ch}/Messages`);
    assert.equal(listed.messages.length, 1);
  });

  test('a refused command is an error reply with code and status; the session stays open', async () => {
    const alice = client({ token: token('alice') });
    await alice.connect();
    await assert.rejects(alice.send(`CH${'0'.repeat(32)}`, { body: 'nobody there' }), (err) => {
      assert.equal(err.code, 20404);
      assert.equal(err.status, 404);
      assert.equal(err.command, 'send');
      return true;
    });
    const ch = await conversation('bob');
    await assert.rejects(alice.send(ch, { body: 'not mine' }), (err) => err.status === 403 || err.status === 404);
    await assert.rejects(alice.request('no_such_command'), { code: 20001, status: 400 });
    assert.equal(alice.state, 'connected');
    assert.deepEqual(await alice.ping(), {});
  });

  test('typing reaches the other participants', async () => {
    const ch = await conversation('alice', 'bob');
    const alice = client({ token: token('alice') });
    const bob = client({ token: token('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    const typing = next(alice, 'typing', (f) => f.conversation_sid === ch);
    await bob.typing(ch);
    const event = await typing;
    assert.equal(event.data.identity, 'bob');
    assert.equal(typeof event.data.timeout_ms, 'number');
  });

  test('edit, delete and read reach the other participants as events', async () => {
    const ch = await conversation('alice', 'bob');
    const alice = client({ token: token('alice') });
    const bob = client({ token: token('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    const { message } = await alice.send(ch, { body: 'tpyo' });

    const updated = next(bob, 'message_updated', (f) => f.conversation_sid === ch);
    const edited = await alice.edit(ch, message.index, { body: 'typo' });
    assert.equal(edited.message.body, 'typo');
    assert.equal((await updated).data.body, 'typo');

    const read = next(alice, 'participant_updated', (f) => f.conversation_sid === ch && f.data.identity === 'bob');
    const { participant } = await bob.read(ch, message.index);
    assert.equal(participant.last_read_message_index, message.index);
    assert.equal((await read).data.last_read_message_index, message.index);

    await assert.rejects(bob.delete(ch, message.index), (err) => err.status === 403 || err.status === 404);
    const removed = next(bob, 'message_removed', (f) => f.conversation_sid === ch);
    assert.deepEqual(await alice.delete(ch, message.index), {});
    assert.equal((await removed).data.index, message.index);
  });

  test('a delivery confirmation reaches the author as delivery_updated', async () => {
    const ch = await conversation('alice', 'bob');
    const alice = client({ token: token('alice') });
    const bob = client({ token: token('bob') });
    await Promise.all([alice.connect(), bob.connect()]);
    const { message } = await alice.send(ch, { body: 'did you get this?' });
    const update = next(alice, 'delivery_updated', (f) => f.conversation_sid === ch);
    const { receipt } = await bob.delivered(ch, message.index);
    assert.equal(receipt.status, 'delivered');
    const event = (await update).data;
    assert.equal(event.receipt.sid, receipt.sid);
    assert.equal(event.message.delivery.delivered, 'all');
  });

  test('added or removed over REST while connected: conversation_joined, conversation_left', async () => {
    const alice = client({ token: token('alice') });
    await alice.connect();
    const ch = await server.createConversation();
    await server.postMessage(ch, 'system', 'before alice');
    const joined = next(alice, 'conversation_joined', (f) => f.conversation_sid === ch);
    const added = await server.addParticipant(ch, 'alice');
    const summary = (await joined).data;
    assert.equal(summary.conversation.sid, ch);
    assert.equal(summary.participant.sid, added.sid);
    assert.equal(summary.last_message_index, 0);
    assert.equal(alice.lastIndex(ch), 0);

    const live = next(alice, 'message_added', (f) => f.conversation_sid === ch);
    await server.postMessage(ch, 'bob', 'after alice');
    assert.equal((await live).data.index, 1);

    const left = next(alice, 'conversation_left', (f) => f.conversation_sid === ch);
    await server.expect(204, 'DELETE', `/conversations/v1/Conversations/${ch}/Participants/${added.sid}`);
    assert.equal((await left).data.participant.identity, 'alice');
    assert.equal(alice.lastIndex(ch), undefined, 'no longer tracked');
  });

  test('supervisors: monitor is for supervisors only; join makes a visible participant', async () => {
    const ch = await conversation('alice');
    const agent = client({ token: token('alice') });
    const sup = client({ token: token('sam', 'supervisor') });
    await Promise.all([agent.connect(), sup.connect()]);
    await assert.rejects(agent.monitor(ch), { code: 20403, status: 403 });
    await sup.monitor(ch);
    await assert.rejects(sup.send(ch, { body: 'invisible?' }), (err) => err.status === 403 || err.status === 404);
    const barged = next(agent, 'participant_added', (f) => f.conversation_sid === ch && f.data.identity === 'sam');
    const { participant } = await sup.join(ch);
    assert.equal(participant.identity, 'sam');
    await barged;
    const heard = next(agent, 'message_added', (f) => f.conversation_sid === ch);
    await sup.send(ch, { body: 'supervisor here' });
    assert.equal((await heard).data.author, 'sam');
  });

  test('history pages backwards, each page ascending', async () => {
    const ch = await conversation('alice');
    for (let i = 0; i < 5; i++) await server.postMessage(ch, 'bob', `h${i}`);
    const alice = client({ token: token('alice') });
    await alice.connect();
    const newest = await alice.history(ch, { limit: 2 });
    assert.deepEqual(newest.messages.map((m) => m.index), [3, 4]);
    assert.equal(newest.has_more, true);
    const older = await alice.history(ch, { before: 3, limit: 2 });
    assert.deepEqual(older.messages.map((m) => [m.index, m.body]), [
      [1, 'h1'],
      [2, 'h2'],
    ]);
  });

  test('resume: after the socket drops, missed messages arrive once each, in order, then live', async () => {
    const ch = await conversation('alice', 'bob');
    let hold = null;
    const alice = client({
      tokenProvider: async () => {
        if (hold) await hold.promise;
        return token('alice');
      },
    });
    await alice.connect();
    const seen = messagesOf(alice, ch);
    await alice.send(ch, { body: 'before' });
    await until(() => seen.length === 1, 'own message_added');

    hold = gate();
    const reconnecting = next(alice, 'state', (d) => d.state === 'reconnecting');
    alice.socket.terminate();
    await reconnecting;
    for (let i = 1; i <= 3; i++) await server.postMessage(ch, 'bob', `missed ${i}`);
    const connected = next(alice, 'state', (d) => d.state === 'connected');
    hold.open();
    await connected;
    await until(() => seen.length === 4, 'the missed messages');
    await server.postMessage(ch, 'bob', 'live');
    await until(() => seen.length === 5, 'the live message');
    await alice.ping();
    assert.deepEqual(seen, [
      [0, 'before'],
      [1, 'missed 1'],
      [2, 'missed 2'],
      [3, 'missed 3'],
      [4, 'live'],
    ]);
    assert.equal(alice.duplicatesDropped, 0, 'the server replayed nothing twice');
  });

  test('resume: a conversation still empty when the socket dropped is backfilled with history', async () => {
    const ch = await conversation('alice', 'bob');
    let hold = null;
    const alice = client({
      tokenProvider: async () => {
        if (hold) await hold.promise;
        return token('alice');
      },
    });
    const session = await alice.connect();
    assert.equal(session.conversations.find((s) => s.conversation.sid === ch).last_message_index, null);
    const seen = messagesOf(alice, ch);

    hold = gate();
    const reconnecting = next(alice, 'state', (d) => d.state === 'reconnecting');
    alice.socket.terminate();
    await reconnecting;
    await server.postMessage(ch, 'bob', 'first');
    await server.postMessage(ch, 'bob', 'second');
    hold.open();
    await until(() => seen.length === 2, 'the messages missed while the conversation had none');
    await server.postMessage(ch, 'bob', 'live');
    await until(() => seen.length === 3, 'the live message');
    await alice.ping();
    assert.deepEqual(seen, [
      [0, 'first'],
      [1, 'second'],
      [2, 'live'],
    ]);
  });

  test('resume: a monitoring supervisor gets the missed messages through monitor.after_index', async () => {
    const ch = await conversation('alice');
    await server.postMessage(ch, 'alice', 'm0');
    let hold = null;
    const sup = client({
      tokenProvider: async () => {
        if (hold) await hold.promise;
        return token('sam', 'supervisor');
      },
    });
    await sup.connect();
    const summary = await sup.monitor(ch);
    assert.equal(summary.conversation.sid, ch);
    assert.equal(summary.participant, null);
    assert.equal(summary.last_message_index, 0);
    const seen = messagesOf(sup, ch);
    await server.postMessage(ch, 'alice', 'm1');
    await until(() => seen.length === 1, 'a live message while monitoring');

    hold = gate();
    const reconnecting = next(sup, 'state', (d) => d.state === 'reconnecting');
    sup.socket.terminate();
    await reconnecting;
    await server.postMessage(ch, 'alice', 'm2');
    await server.postMessage(ch, 'alice', 'm3');
    hold.open();
    await until(() => seen.length === 3, 'the missed messages');
    await sup.ping();
    assert.deepEqual(seen, [
      [1, 'm1'],
      [2, 'm2'],
      [3, 'm3'],
    ]);
    assert.equal(sup.duplicatesDropped, 0);
  });

  test('a token signed with the wrong secret: closed with 4501, disconnected for good', async () => {
    const forged = mintToken({ key, identity: 'mallory', role: 'agent', secret: 'not-the-secret' });
    const mallory = client({ token: forged });
    const states = [];
    mallory.addEventListener('state', (e) => states.push(e.detail));
    await assert.rejects(mallory.connect(), (err) => {
      assert.equal(err.code, 'disconnected');
      assert.equal(err.closeCode, 4501);
      // The hello itself is answered with the refusal before the close.
      assert.equal(err.cause?.code, 20003);
      assert.equal(err.cause?.status, 401);
      return true;
    });
    assert.equal(mallory.state, 'disconnected');
    assert.equal(mallory.lastClose.code, 4501);
    assert.ok(mallory.lastClose.reason, 'the close says why');
    assert.deepEqual(states.map((s) => s.state), ['connecting', 'disconnected']);
    assert.equal(states.at(-1).code, 4501);
  });

  test('an expired token or an unknown key: 4501 as well', async () => {
    const expired = mintToken({ key, identity: 'alice', role: 'agent', ttlSecs: -3600 });
    const a = client({ token: expired });
    await assert.rejects(a.connect(), { closeCode: 4501 });
    const unknown = mintToken({ key: { sid: `SK${'f'.repeat(32)}`, secret: 'x' }, identity: 'alice' });
    const b = client({ token: unknown });
    await assert.rejects(b.connect(), { closeCode: 4501 });
  });
});

describe('through a server restart', { skip }, () => {
  let server;

  after(async () => {
    await server?.stop();
  });

  test('backs off while the server is down, reconnects on the same port, resumes and sends', async () => {
    server = await TestServer.spawn();
    const key = await server.createKey();
    const ch = await server.createConversation();
    await server.addParticipant(ch, 'alice');
    const backoff = { baseMs: 100, maxMs: 800 };
    const alice = new Connection({
      url: server.wsUrl,
      WebSocket,
      backoff,
      requestTimeoutMs: 30000,
      tokenProvider: async () => mintToken({ key, identity: 'alice', role: 'agent' }),
    });
    try {
      const retries = [];
      alice.addEventListener('retry', (e) => retries.push(e.detail));
      await alice.connect();
      const seen = messagesOf(alice, ch);
      await server.postMessage(ch, 'bob', 'm0');
      await until(() => seen.length === 1, 'm0');

      await server.kill();
      await until(() => retries.length >= 4, 'several failed attempts while the server is down');
      assert.equal(alice.state, 'reconnecting');
      retries.forEach((r, i) => {
        assert.equal(r.attempt, i, 'attempts counted up');
        assert.ok(r.delayMs >= 0 && r.delayMs < backoffCeiling(i, backoff), `delay ${r.delayMs} within the ceiling`);
      });
      // Made while down: waits for the connection.
      const sending = alice.send(ch, { body: 'sent while down' });

      await server.restart();
      await server.postMessage(ch, 'bob', 'posted after the restart');
      const sent = await sending;
      assert.equal(alice.state, 'connected');
      await until(() => seen.length === 3, 'the message posted after the restart and our own');
      await alice.ping();
      assert.deepEqual(
        seen.map(([index]) => index),
        [0, 1, 2],
      );
      assert.deepEqual(new Set(seen.map(([, body]) => body)), new Set(['m0', 'posted after the restart', 'sent while down']));
      assert.ok([1, 2].includes(sent.message.index));
      assert.equal(alice.duplicatesDropped, 0);
    } finally {
      alice.close();
    }
  });
});

describe('token lifecycle', { skip }, () => {
  let server;
  let key;

  before(async () => {
    // token_expiring comes 1 s before a token expires.
    server = await TestServer.spawn({ env: { SWITCHBOARD__GATEWAY__TOKEN_WARNING: '1s' } });
    key = await server.createKey();
  });

  after(async () => {
    await server?.stop();
  });

  test('token_expiring: the tokenProvider is asked and the session renewed in-band', async () => {
    let calls = 0;
    const alice = new Connection({
      url: server.wsUrl,
      WebSocket,
      tokenProvider: async () => mintToken({ key, identity: 'alice', role: 'agent', ttlSecs: ++calls === 1 ? 3 : 3600 }),
    });
    try {
      const retries = [];
      alice.addEventListener('retry', (e) => retries.push(e.detail));
      const expiring = next(alice, 'token_expiring');
      const renewed = next(alice, 'token_renewed');
      const first = await alice.connect();
      await expiring;
      const { expires_at: expiresAt } = await renewed;
      assert.ok(Date.parse(expiresAt) > Date.parse(first.expires_at) + 3000 * 1000, `renewed until ${expiresAt}`);
      // Past the first token's expiry: still the same session.
      await until(() => Date.now() > Date.parse(first.expires_at) + 1000, 'the first token to expire', 8000);
      assert.deepEqual(await alice.ping(), {});
      assert.equal(alice.state, 'connected');
      assert.deepEqual(retries, []);
      assert.equal(calls, 2);
    } finally {
      alice.close();
    }
  });

  test('4004 when the token expires un-renewed: a fresh token, a reconnect, and resume', async () => {
    const ch = await server.createConversation();
    await server.addParticipant(ch, 'alice');
    await server.postMessage(ch, 'bob', 'm0');
    let calls = 0;
    const alice = new Connection({
      url: server.wsUrl,
      WebSocket,
      backoff: { baseMs: 50, maxMs: 500 },
      tokenProvider: async () => {
        calls++;
        // The second call is the renewal: the identity provider is down just then.
        if (calls === 2) throw new Error('identity provider unavailable');
        return mintToken({ key, identity: 'alice', role: 'agent', ttlSecs: calls === 1 ? 2 : 3600 });
      },
    });
    try {
      const tokenErrors = [];
      alice.addEventListener('token_error', (e) => tokenErrors.push(e.detail.error.message));
      await alice.connect();
      const seen = messagesOf(alice, ch);
      const closed = next(alice, 'retry', (d) => d.code === 4004, 8000);
      const reconnected = next(alice, 'state', (d) => d.state === 'connected', 10000);
      await closed;
      assert.deepEqual(tokenErrors, ['identity provider unavailable']);
      await server.postMessage(ch, 'bob', 'm1 while reconnecting');
      await reconnected;
      await until(() => seen.length === 1, 'm1');
      assert.deepEqual(seen, [[1, 'm1 while reconnecting']]);
      assert.equal(calls, 3);
    } finally {
      alice.close();
    }
  });
});
