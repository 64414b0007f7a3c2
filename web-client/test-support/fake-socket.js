/**
 * A stand-in for the WebSocket constructor in unit tests: it records what the client sends and
 * lets a test play the server — open the socket, answer with frames, close it with a code.
 * It lives outside test/ because `node --test test/` runs every .js file there as a test file.
 */

export class FakeSocket {
  /** Every socket made, oldest first. */
  static instances = [];

  /** The latest socket. */
  static get last() {
    return FakeSocket.instances.at(-1);
  }

  static reset() {
    FakeSocket.instances = [];
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    /** Frames the client sent, parsed. */
    this.sent = [];
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    /** Resolvers waiting for the next frame the client sends. */
    this.waiters = [];
    FakeSocket.instances.push(this);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const frame = JSON.parse(text);
    this.sent.push(frame);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(frame);
  }

  close(code = 1000, reason = '') {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  terminate() {
    this.close(1006, 'terminated');
  }

  // --- the server's side ---

  /** Completes the handshake. */
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Delivers one frame to the client. */
  receive(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The server closes the socket. */
  serverClose(code, reason = '') {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }

  /** The latest frame the client sent of this type. */
  lastSent(type) {
    return this.sent.findLast((f) => f.type === type);
  }

  /** Resolves with the next frame the client sends (of `type`, when given). */
  next(type) {
    const already = this.sent.length;
    return new Promise((resolve) => {
      const look = () => {
        const found = this.sent.slice(already).find((f) => !type || f.type === type);
        if (found) return resolve(found);
        this.waiters.push(look);
      };
      look();
    });
  }

  /** Answers a command. */
  reply(id, result = {}) {
    this.receive({ type: 'reply', id, result });
  }

  /** Refuses a command. */
  error(id, code, status, message = 'refused') {
    this.receive({ type: 'error', id, error: { code, status, message } });
  }

  /** Sends an event. */
  event(event, conversationSid, data) {
    const frame = { type: 'event', event, data };
    if (conversationSid) frame.conversation_sid = conversationSid;
    this.receive(frame);
  }
}
