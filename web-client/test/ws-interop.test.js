/**
 * `Connection` over real sockets with the `ws` package, against a scripted in-process server
 * (no switchboard binary needed): text frames arrive as strings, close codes and reasons come
 * through, `terminate()` on the client's socket is seen as 1006, and a reconnect carries the
 * resume map.
 */

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket, { WebSocketServer } from 'ws';

import { Connection } from '../sdk/connection.js';

const CH = 'CH0123456789abcdef0123456789abcdef';

let wss;
let url;
/** Every hello the server got, in order. */
const hellos = [];

before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  url = `ws://127.0.0.1:${wss.address().port}/v1/ws`;
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === 'hello') {
        hellos.push(frame);
        if (frame.token !== 'good') {
          socket.send(JSON.stringify({ type: 'error', id: frame.id, error: { code: 20003, status: 401, message: 'bad token' } }));
          socket.close(4501, 'token invalid');
          return;
        }
        const session = {
          session_id: `s${hellos.length}`,
          protocol: 1,
          identity: 'alice',
          role: 'agent',
          conversations: [{ conversation: { sid: CH }, participant: { identity: 'alice' }, last_message_index: 0 }],
        };
        socket.send(JSON.stringify({ type: 'reply', id: frame.id, result: session }));
        // Whatever the client missed after its resume point, then one live message.
        const from = (frame.resume?.[CH] ?? 0) + 1;
        for (let index = from; index <= from + 1; index++) {
          socket.send(JSON.stringify({ type: 'event', event: 'message_added', conversation_sid: CH, data: { index, body: `m${index}` } }));
        }
      } else if (frame.type === 'drain') {
        socket.send(JSON.stringify({ type: 'reply', id: frame.id, result: {} }));
        socket.close(4000, 'draining');
      } else {
        socket.send(JSON.stringify({ type: 'reply', id: frame.id, result: { echo: frame.type } }));
      }
    });
  });
});

after(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise((resolve) => wss.close(resolve));
});

function until(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 2);
    };
    poll();
  });
}

test('ws: hello, replies, events, terminate → 1006 → resume, 4000 → reconnect', async () => {
  hellos.length = 0;
  const conn = new Connection({ url, token: 'good', WebSocket, backoff: { baseMs: 10, maxMs: 50 } });
  const seen = [];
  conn.addEventListener('message_added', (e) => seen.push(e.detail.data.index));
  const closes = [];
  conn.addEventListener('retry', (e) => closes.push([e.detail.code, e.detail.reason]));
  try {
    const session = await conn.connect();
    assert.equal(session.identity, 'alice');
    assert.deepEqual(await conn.request('anything'), { echo: 'anything' });
    await until(() => seen.length === 2, 'the first two messages');

    conn.socket.terminate();
    await until(() => hellos.length === 2, 'a second hello');
    assert.deepEqual(hellos[1].resume, { [CH]: 2 });
    await until(() => seen.length === 4, 'the resumed messages');

    await conn.request('drain');
    await until(() => hellos.length === 3, 'a third hello after 4000');
    assert.deepEqual(hellos[2].resume, { [CH]: 4 });
    await until(() => seen.length === 6, 'more messages');
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(closes, [
      [1006, ''],
      [4000, 'draining'],
    ]);
  } finally {
    conn.close();
  }
});

test('ws: a refused token ends in disconnected with 4501 and the reason', async () => {
  const conn = new Connection({ url, token: 'bad', WebSocket });
  await assert.rejects(conn.connect(), (err) => err.closeCode === 4501 && err.cause?.code === 20003);
  assert.equal(conn.state, 'disconnected');
  assert.deepEqual(conn.lastClose, { code: 4501, reason: 'token invalid' });
});

test('ws: nothing listening → reconnecting with backoff until close()', async () => {
  const conn = new Connection({ url: 'ws://127.0.0.1:9/v1/ws', token: 'good', WebSocket, backoff: { baseMs: 5, maxMs: 20 } });
  const retries = [];
  conn.addEventListener('retry', (e) => retries.push(e.detail));
  const ready = conn.connect();
  await until(() => retries.length >= 3, 'three failed attempts');
  assert.equal(conn.state, 'reconnecting');
  assert.ok(retries.every((r) => r.code === 1006));
  conn.close();
  await assert.rejects(ready, { code: 'disconnected', closeCode: 1000 });
});
