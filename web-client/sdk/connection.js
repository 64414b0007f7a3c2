/**
 * `Connection`: the one object that owns a Switchboard WebSocket (docs/protocol.md, version 1)
 * for an agent, supervisor or webchat guest. It
 * - says `hello` first, with the token and the resume map, and moves through the states
 *   `connecting` → `connected` ⇄ `reconnecting` → `disconnected` (terminal), each change
 *   announced as a `state` event;
 * - answers every command with a promise: `request()` and the convenience methods (`send`,
 *   `history`, `monitor`, …), matched to their reply by id (requests.js);
 * - re-emits server events as DOM events: `event` (detail = the frame) and the event's own
 *   name (`message_added`, `typing`, …, same detail), dropping a `message_added` it already
 *   delivered, and resumes from the last index delivered after every reconnect (resume.js),
 *   reading with `history` what a conversation that had no message yet received meanwhile;
 * - reconnects with full-jitter exponential backoff when the close code says so
 *   (reconnect.js), asking `tokenProvider` for a fresh token before each reconnect, and renews
 *   the token when the server warns it is expiring;
 * - sends again, on the next socket, a `send` whose answer was lost, with the same
 *   `client_message_id`, so the retry cannot create a second message;
 * - pings when the server has been silent for `heartbeatMs`, and takes a ping without an
 *   answer for a dead socket.
 *
 * Other events: `retry` ({attempt, delayMs, code, reason} before each reconnect attempt),
 * `token_renewed`, `token_error`, `resume_error` (a monitored conversation could not be
 * monitored again, or a backfill was refused), `protocol_error` (a frame this client does not
 * understand).
 *
 * Plain ES modules with no dependencies: they run in browsers and in Node (pass the `ws`
 * package's `WebSocket` where there is no global one).
 */

import { backoffDelay, DEFAULT_BACKOFF, closeAction } from './reconnect.js';
import { RequestError, Requests } from './requests.js';
import { ResumeState } from './resume.js';

export { backoffDelay, backoffCeiling, closeAction } from './reconnect.js';
export { RequestError } from './requests.js';

/** The protocol version this client speaks. */
export const PROTOCOL = 1;

/** The states a `Connection` moves through. */
export const State = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  DISCONNECTED: 'disconnected',
});

/** `WebSocket.OPEN` (the constant is not on every implementation's prototype). */
const OPEN = 1;

/** Commands sent again after a reconnect when their answer was lost: repeating them is safe. */
const REPEATABLE = new Set(['send', 'conversations', 'history']);

const noop = () => {};
const encoder = new TextEncoder();

/** `CustomEvent` where the runtime has one, else the same shape over `Event`. */
const DetailEvent =
  globalThis.CustomEvent ??
  class DetailEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.detail = init.detail ?? null;
    }
  };

/** A random UUID, also outside secure contexts, where `crypto.randomUUID` is missing. */
export function randomId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `attributes` go over the wire as JSON text; objects are encoded for the caller. */
function attributesText(attributes) {
  return attributes === undefined || typeof attributes === 'string' ? attributes : JSON.stringify(attributes);
}

/** The fields without those left undefined (they are optional on the wire). */
function defined(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function closedError(code, reason, entry) {
  const what = `connection closed (${code}${reason ? `: ${reason}` : ''})`;
  return new RequestError(entry ? `${what} before ${entry.type} was answered` : what, {
    code: 'disconnected',
    closeCode: code,
    command: entry?.type,
    clientMessageId: entry?.frame.client_message_id,
  });
}

export class Connection extends EventTarget {
  #url;
  #token;
  #tokenProvider;
  #WebSocket;
  #backoff;
  #requestTimeoutMs;
  #heartbeatMs;
  #maxFrameBytes;
  #random;

  #state = State.DISCONNECTED;
  /** The socket of the current attempt; null between attempts. */
  #socket = null;
  /** Bumped when the connection ends: async steps of an older attempt see it and stop. */
  #generation = 0;
  #session = null;
  #lastClose = null;
  /** The server's refusal of the latest `hello`, if any: the cause of a 45xx close. */
  #helloError = null;
  /** Failed attempts since the last successful hello: the backoff exponent. */
  #attempt = 0;
  #reconnectTimer = null;
  #openTimer = null;
  #heartbeatTimer = null;
  #lastFrameAt = 0;
  /** connect()'s promise: settles with the first hello reply, or the end. */
  #ready = null;
  #requests;
  #resume = new ResumeState();
  /** conversation SID → events held back while its backfill runs (see #backfill). */
  #holding = new Map();

  /**
   * @param {object} options
   * @param {string} options.url the WebSocket URL, e.g. `wss://host/v1/ws`
   * @param {string} [options.token] an access token
   * @param {() => Promise<string>} [options.tokenProvider] fetches a fresh access token; asked
   *   before each reconnect (and the first connect when there is no `token`), and on
   *   `token_expiring`
   * @param {typeof WebSocket} [options.WebSocket] the WebSocket constructor
   *   (default `globalThis.WebSocket`)
   * @param {{baseMs?: number, maxMs?: number}} [options.backoff] reconnect backoff
   *   (default 250 ms doubling up to 30 s, full jitter)
   * @param {number} [options.requestTimeoutMs] how long a command waits for its answer, and a
   *   handshake for the server (10 s)
   * @param {number} [options.heartbeatMs] silence after which the client pings (20 s; 0: never)
   * @param {number} [options.maxFrameBytes] the server's `gateway.max_frame_bytes` (64 KiB): a
   *   larger command is refused here, since the server would close the socket for good (4503)
   * @param {() => number} [options.random] the jitter source, uniform in [0, 1)
   */
  constructor({
    url,
    token,
    tokenProvider,
    WebSocket = globalThis.WebSocket,
    backoff = {},
    requestTimeoutMs = 10000,
    heartbeatMs = 20000,
    maxFrameBytes = 65536,
    random = Math.random,
  } = {}) {
    super();
    if (!url) throw new TypeError('Connection: url is required');
    if (!token && !tokenProvider) throw new TypeError('Connection: token or tokenProvider is required');
    if (typeof WebSocket !== 'function') {
      throw new TypeError('Connection: no WebSocket constructor (in Node, pass the ws package)');
    }
    this.#url = url;
    this.#token = token ?? null;
    this.#tokenProvider = tokenProvider ?? null;
    this.#WebSocket = WebSocket;
    this.#backoff = { ...DEFAULT_BACKOFF, ...backoff };
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#heartbeatMs = heartbeatMs;
    this.#maxFrameBytes = maxFrameBytes;
    this.#random = random;
    this.#requests = new Requests(requestTimeoutMs);
  }

  /** `connecting`, `connected`, `reconnecting` or `disconnected`. */
  get state() {
    return this.#state;
  }

  /** The `Session` from the latest `hello` reply (null before the first). */
  get session() {
    return this.#session;
  }

  /** The current socket (null between attempts). For diagnostics and tests. */
  get socket() {
    return this.#socket;
  }

  /** `{code, reason}` of the latest close, or null. */
  get lastClose() {
    return this.#lastClose;
  }

  /** How many `message_added` events were dropped because they had been delivered already. */
  get duplicatesDropped() {
    return this.#resume.duplicatesDropped;
  }

  /** The highest message index delivered for a conversation, or undefined. */
  lastIndex(conversationSid) {
    return this.#resume.lastIndex(conversationSid);
  }

  /** Conversations this session monitors (monitored again after each reconnect). */
  get monitored() {
    return this.#resume.monitored;
  }

  /**
   * Opens the connection. Resolves with the `Session` once the first `hello` is answered
   * (however many attempts that takes); rejects with a `RequestError` (`code` 'disconnected',
   * `closeCode`, and as `cause` the server's refusal of the hello, if any) when the connection
   * ends for good first. While the connection is up it returns the same promise; after
   * `disconnected` it starts afresh, resuming where the last connection stopped.
   * @returns {Promise<object>}
   */
  connect() {
    if (this.#state !== State.DISCONNECTED) return this.#ready.promise;
    this.#ready = deferred();
    this.#attempt = 0;
    this.#lastClose = null;
    this.#setState(State.CONNECTING);
    this.#open(false);
    return this.#ready.promise;
  }

  /** Closes the connection for good (state `disconnected`); commands still waiting fail. */
  close() {
    if (this.#state === State.DISCONNECTED) return;
    const socket = this.#socket;
    if (socket) {
      detach(socket);
      try {
        socket.close(1000, 'client closed');
      } catch {
        // Already closing.
      }
    }
    this.#terminate(1000, 'client closed');
  }

  /**
   * Sends a command and resolves with its reply's `result`, or rejects with a `RequestError`.
   * Made while the connection is (re)connecting, it waits for the connection (its timeout
   * runs meanwhile). One larger than `maxFrameBytes` is refused at once (`frame_too_large`).
   * @param {string} type
   * @param {object} [fields]
   * @returns {Promise<object>}
   */
  request(type, fields = {}) {
    const retry = REPEATABLE.has(type) && (type !== 'send' || fields.client_message_id != null);
    if (this.#state === State.DISCONNECTED) {
      return Promise.reject(
        new RequestError('not connected: call connect() first', {
          code: 'disconnected',
          command: type,
          closeCode: this.#lastClose?.code,
          clientMessageId: fields.client_message_id,
        }),
      );
    }
    // Ids stay under 16 digits: leave room for one.
    const bytes = encoder.encode(JSON.stringify({ ...fields, type, id: 0 })).length + 16;
    if (bytes > this.#maxFrameBytes) {
      return Promise.reject(
        new RequestError(`${type} is ${bytes} bytes; frames are limited to ${this.#maxFrameBytes}`, {
          code: 'frame_too_large',
          command: type,
          clientMessageId: fields.client_message_id,
        }),
      );
    }
    const { entry, promise } = this.#requests.add(type, fields, {
      retry,
      onResult: (result) => this.#resume.onCommand(entry.frame, result),
    });
    // Commands wait for the hello reply: `hello` must be the first frame.
    if (this.#socket && this.#state === State.CONNECTED) this.#requests.write(entry, this.#socket);
    return promise;
  }

  /**
   * Sends a message; resolves with `{message}`. `clientMessageId` (a random UUID when not
   * given) makes the send idempotent: after a reconnect an unanswered send goes again with the
   * same id, and the server answers with the message the first attempt created.
   * @param {string} conversationSid
   * @param {{body?: string, attributes?: string | object, mediaSids?: string[],
   *   clientMessageId?: string}} message
   */
  send(conversationSid, { body, attributes, mediaSids, clientMessageId } = {}) {
    return this.request(
      'send',
      defined({
        conversation_sid: conversationSid,
        body,
        attributes: attributesText(attributes),
        media_sids: mediaSids,
        client_message_id: clientMessageId ?? randomId(),
      }),
    );
  }

  /** Edits one of the identity's messages; resolves with `{message}`. */
  edit(conversationSid, index, { body, attributes } = {}) {
    return this.request(
      'edit',
      defined({ conversation_sid: conversationSid, index, body, attributes: attributesText(attributes) }),
    );
  }

  /** Deletes one of the identity's messages. */
  delete(conversationSid, index) {
    return this.request('delete', { conversation_sid: conversationSid, index });
  }

  /** Says the identity is typing (fanned out at most once per `gateway.typing_interval`). */
  typing(conversationSid) {
    return this.request('typing', { conversation_sid: conversationSid });
  }

  /** Moves the identity's read horizon to `index`; resolves with `{participant}`. */
  read(conversationSid, index) {
    return this.request('read', { conversation_sid: conversationSid, index });
  }

  /** Confirms message `index` reached this client; resolves with `{message, receipt}`. */
  delivered(conversationSid, index) {
    return this.request('delivered', { conversation_sid: conversationSid, index });
  }

  /** Pages backwards; resolves with `{messages (ascending), has_more}`. */
  history(conversationSid, { before, limit } = {}) {
    return this.request('history', defined({ conversation_sid: conversationSid, before, limit }));
  }

  /**
   * Supervisors: watches a conversation without being a participant; resolves with its
   * `Summary`. With `afterIndex`, every message after it is delivered first. After each
   * reconnect it is monitored again from the last index delivered.
   */
  monitor(conversationSid, { afterIndex } = {}) {
    return this.request('monitor', defined({ conversation_sid: conversationSid, after_index: afterIndex }));
  }

  /** Stops monitoring a conversation. */
  unmonitor(conversationSid) {
    return this.request('unmonitor', { conversation_sid: conversationSid });
  }

  /** Joins a conversation (a supervisor barges in, visibly); resolves with `{participant}`. */
  join(conversationSid) {
    return this.request('join', { conversation_sid: conversationSid });
  }

  /** Leaves a conversation. */
  leave(conversationSid) {
    return this.request('leave', { conversation_sid: conversationSid });
  }

  /** Resolves with `{conversations: [Summary]}`. */
  conversations() {
    return this.request('conversations');
  }

  /** A round trip to the server. */
  ping() {
    return this.request('ping');
  }

  // --- one attempt ----------------------------------------------------------------------

  async #open(reconnect) {
    const generation = this.#generation;
    if (this.#tokenProvider && (reconnect || !this.#token)) {
      try {
        this.#token = await this.#tokenProvider();
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#emit('token_error', { error });
        this.#retryLater(1006, 'tokenProvider failed');
        return;
      }
      if (generation !== this.#generation) return;
    }
    let socket;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (error) {
      // A malformed URL: no retry can fix that.
      this.#terminate(1006, String(error?.message ?? error));
      return;
    }
    this.#socket = socket;
    socket.onopen = () => this.#onOpen(socket);
    socket.onmessage = (event) => this.#onMessage(socket, event.data);
    socket.onclose = (event) => this.#onClose(socket, event.code, event.reason);
    // A close event follows every error event and says all we need.
    socket.onerror = noop;
    // Not every implementation gives up on a handshake that hangs.
    this.#openTimer = setTimeout(() => {
      if (socket.readyState !== OPEN) this.#abandon(socket, 1006, 'no answer to the handshake');
    }, this.#requestTimeoutMs);
  }

  #onOpen(socket) {
    if (socket !== this.#socket) return;
    clearTimeout(this.#openTimer);
    this.#lastFrameAt = Date.now();
    this.#helloError = null;
    const hello = { protocol: PROTOCOL, token: this.#token };
    const resume = this.#resume.resumeMap();
    if (Object.keys(resume).length > 0) hello.resume = resume;
    this.#internal(socket, 'hello', hello, {
      onResult: (session) => this.#onSession(socket, session),
      // A refused hello is followed by the server's 45xx close, which decides what next.
      onError: (error) => {
        this.#helloError = error;
      },
      onTimeout: () => this.#abandon(socket, 4003, 'no answer to hello'),
    });
  }

  #onSession(socket, session) {
    if (socket !== this.#socket) return;
    const previous = this.#state;
    this.#session = session;
    this.#attempt = 0;
    const missed = this.#resume.onSession(session);
    this.#state = State.CONNECTED;
    // Restore first, then what the application asked for meanwhile, oldest first.
    for (const { sid, last } of missed) this.#backfill(socket, sid, last);
    for (const sid of this.#resume.monitored) this.#remonitor(socket, sid);
    this.#requests.flush(socket);
    this.#startHeartbeat(socket);
    this.#emit('state', { state: State.CONNECTED, previous, session });
    this.#ready.resolve(session);
  }

  /** After a reconnect: monitors a conversation again, from the last index delivered. */
  #remonitor(socket, sid) {
    const afterIndex = this.#resume.lastIndex(sid);
    const fields = defined({ conversation_sid: sid, after_index: afterIndex });
    this.#internal(socket, 'monitor', fields, {
      onResult: (summary) => {
        // Monitored while it had no message, and now it has some: they were missed.
        const last = summary?.last_message_index;
        if (afterIndex === undefined && typeof last === 'number') this.#backfill(socket, sid, last);
      },
      onError: (error) => {
        this.#resume.unmonitor(sid);
        this.#emit('resume_error', { conversationSid: sid, error });
      },
      onTimeout: () => this.#abandon(socket, 4003, 'no answer to monitor'),
    });
  }

  /** A command of the connection's own, written at once on `socket`. */
  #internal(socket, type, fields, callbacks) {
    const { entry, promise } = this.#requests.add(type, fields, { internal: true, ...callbacks });
    this.#requests.write(entry, socket);
    return promise;
  }

  /**
   * Delivers, as `message_added` events, the messages up to `last` of a conversation that had
   * none when the client last saw it (no index, so nothing to resume from: see resume.js),
   * read with `history`. Its live events wait meanwhile, so everything still arrives in
   * order. If the socket drops first, nothing is delivered and the next hello tries again.
   */
  async #backfill(socket, sid, last) {
    // Already running (a supervisor both in and monitoring it): one is enough.
    if (this.#holding.has(sid)) return;
    const held = [];
    this.#holding.set(sid, held);
    let pages = [];
    try {
      for (let before = last + 1; ; ) {
        const page = await this.#internal(socket, 'history', { conversation_sid: sid, before, limit: 100 }, {
          onTimeout: () => this.#abandon(socket, 4003, 'no answer to history'),
        });
        const messages = page.messages ?? [];
        pages.unshift(messages);
        if (!page.has_more || messages.length === 0) break;
        before = messages[0].index;
      }
    } catch (error) {
      if (socket !== this.#socket || this.#holding.get(sid) !== held) return;
      // Refused (no longer visible, say): nothing to fill in with; go on live.
      pages = [];
      this.#emit('resume_error', { conversationSid: sid, error });
    }
    if (socket !== this.#socket || this.#holding.get(sid) !== held) return;
    this.#holding.delete(sid);
    for (const message of pages.flat()) {
      this.#deliver({ type: 'event', event: 'message_added', conversation_sid: sid, data: message });
    }
    this.#resume.advance(sid, last);
    for (const frame of held) this.#deliver(frame);
  }

  #onMessage(socket, data) {
    if (socket !== this.#socket) return;
    this.#lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      this.#emit('protocol_error', { reason: 'frame is not JSON', data });
      return;
    }
    switch (frame?.type) {
      case 'reply':
      case 'error':
        if (frame.id === undefined || frame.id === null) {
          this.#emit('protocol_error', { reason: 'answer without an id', frame });
        } else {
          this.#requests.settle(frame, socket);
        }
        break;
      case 'event':
        this.#onEvent(frame);
        break;
      default:
        this.#emit('protocol_error', { reason: 'unknown frame type', frame });
    }
  }

  #onEvent(frame) {
    const held = this.#holding.get(frame.conversation_sid);
    if (held) held.push(frame);
    else this.#deliver(frame);
  }

  /** Records an event and re-emits it, unless it is a `message_added` delivered already. */
  #deliver(frame) {
    if (frame.event === 'message_added' && !this.#resume.admit(frame.conversation_sid, frame.data?.index)) {
      return;
    }
    this.#resume.onEvent(frame);
    if (frame.event === 'token_expiring') this.#renew();
    this.dispatchEvent(new DetailEvent('event', { detail: frame }));
    if (typeof frame.event === 'string' && frame.event) {
      this.dispatchEvent(new DetailEvent(frame.event, { detail: frame }));
    }
  }

  async #renew() {
    if (!this.#tokenProvider) {
      this.#emit('token_error', { error: new Error('the token is expiring and there is no tokenProvider') });
      return;
    }
    try {
      const token = await this.#tokenProvider();
      const result = await this.request('renew', { token });
      this.#token = token;
      this.#emit('token_renewed', result);
    } catch (error) {
      this.#emit('token_error', { error });
    }
  }

  #onClose(socket, code, reason) {
    if (socket !== this.#socket) return;
    detach(socket);
    this.#socket = null;
    clearTimeout(this.#openTimer);
    this.#stopHeartbeat();
    // Events held for a backfill came on this socket; the next hello resumes them.
    this.#holding.clear();
    this.#lastClose = { code, reason };
    let action = closeAction(code);
    // After a 4004 the same token would only be refused (4501).
    if (action === 'renew' && !this.#tokenProvider) action = 'stop';
    this.#requests.dropSocket(socket, action !== 'stop', (entry) => closedError(code, reason, entry));
    if (action === 'stop') this.#terminate(code, reason);
    else this.#retryLater(code, reason);
  }

  /** Gives up on a socket that stopped answering, as if it had closed with `code`. */
  #abandon(socket, code, reason) {
    if (socket !== this.#socket) return;
    detach(socket);
    try {
      if (typeof socket.terminate === 'function') socket.terminate();
      else socket.close(4000, reason);
    } catch {
      // Already closed.
    }
    // Detached: its own close event will not come, so take the close path here.
    this.#onClose(socket, code, reason);
  }

  /** State `reconnecting`, and the next attempt after a full-jitter backoff delay. */
  #retryLater(code, reason) {
    this.#setState(State.RECONNECTING, { code, reason });
    const delayMs = backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#emit('retry', { attempt: this.#attempt, delayMs, code, reason });
    this.#attempt = Math.min(this.#attempt + 1, 64);
    const generation = this.#generation;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (generation === this.#generation) this.#open(true);
    }, delayMs);
  }

  /** The end: state `disconnected`, every waiting command fails, no timers left. */
  #terminate(code, reason) {
    this.#generation++;
    this.#socket = null;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#openTimer);
    this.#stopHeartbeat();
    this.#lastClose = { code, reason };
    this.#requests.failAll((entry) => closedError(code, reason, entry));
    this.#holding.clear();
    this.#setState(State.DISCONNECTED, { code, reason });
    const error = closedError(code, reason);
    if (this.#helloError) error.cause = this.#helloError;
    this.#ready?.reject(error);
  }

  // --- heartbeat ------------------------------------------------------------------------

  #startHeartbeat(socket) {
    this.#stopHeartbeat();
    if (!(this.#heartbeatMs > 0)) return;
    this.#heartbeatTimer = setInterval(() => {
      if (socket !== this.#socket || socket.readyState !== OPEN) return;
      if (Date.now() - this.#lastFrameAt < this.#heartbeatMs) return;
      // Silent for a whole interval: is anyone there?
      this.#lastFrameAt = Date.now();
      this.#internal(socket, 'ping', {}, {
        onTimeout: () => this.#abandon(socket, 4003, 'no answer to ping'),
      });
    }, this.#heartbeatMs);
  }

  #stopHeartbeat() {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  // --- events ---------------------------------------------------------------------------

  #setState(state, extra = {}) {
    const previous = this.#state;
    this.#state = state;
    if (previous !== state) this.#emit('state', { state, previous, ...extra });
  }

  #emit(type, detail) {
    this.dispatchEvent(new DetailEvent(type, { detail }));
  }
}

/** Stops listening to a socket. Handlers become no-ops rather than null: some
 * implementations (ws) throw on an 'error' event nobody listens to. */
function detach(socket) {
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
}

function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that ignores connect()'s promise must not get an unhandled rejection.
  promise.catch(noop);
  return { promise, resolve, reject };
}
