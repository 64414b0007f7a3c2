/**
 * `ChatSession`: one customer's chat behind the widget, without any DOM. It starts a chat
 * (Start), keeps its record in `localStorage` so a reload or a new tab picks it up, renews the
 * guest token (Refresh), owns the `Connection` to `/v1/ws`, and folds everything the server
 * says into one plain `state` object, announced with a `change` event after each update. The
 * view (view.js) only reads `state` and calls the methods here; the rules themselves live in
 * model.js.
 *
 * Phases: `form` (no chat yet) → `starting` → `chat` → `ended` (the conversation was closed,
 * or the guest is no longer in it) → `form` again with `newChat()`.
 */

import { Connection, RequestError, randomId } from '../sdk/connection.js';
import { mediaUrl, uploadMedia } from '../chat/media.js';
import { WebchatError, refreshChat, startChat } from './api.js';
import { applyEvent } from './events.js';
import { ChatStore } from './store.js';
import {
  TYPING_SEND_INTERVAL_MS,
  chatRecord,
  failPending,
  isExpired,
  mergeMessages,
  nextTypingExpiry,
  participantMap,
  pendingMessage,
  readTarget,
  startBody,
  stopTyping,
} from './model.js';

/** Messages loaded when a chat is (re)opened, and per "earlier messages" page. */
const PAGE = 50;
/** Signed media links are reused this long (the server's links live longer). */
const MEDIA_LINK_REUSE_MS = 5 * 60 * 1000;

const CONVERSATION_EVENTS = [
  'message_added',
  'message_updated',
  'message_removed',
  'typing',
  'participant_added',
  'participant_updated',
  'participant_removed',
  'conversation_updated',
  'conversation_state_updated',
  'conversation_left',
  'conversation_removed',
];

function initialState() {
  return {
    phase: 'form',
    /** the stored record (token, identity, conversation_sid, …) while there is a chat */
    record: null,
    /** `connecting`, `connected`, `reconnecting` or `disconnected` */
    connection: 'disconnected',
    messages: [],
    notices: [],
    participants: new Map(),
    typing: new Map(),
    hasMore: false,
    /** the customer-facing error of the last Start, or null */
    startError: null,
    /** the file being uploaded (its name), or null */
    uploading: null,
    uploadError: null,
    /** agent messages that arrived while the customer was not looking */
    unread: 0,
  };
}

export class ChatSession extends EventTarget {
  #origin;
  #addressSid;
  #store;
  #fetch;
  #WebSocket;
  #preEngagementData;
  #connection = null;
  #visible = false;
  #lastRead = null;
  #lastTypingSent = 0;
  #typingTimer = null;
  #mediaLinks = new Map();
  /** Bumped when a chat is left behind: late answers for an older chat are dropped. */
  #epoch = 0;

  /** Everything the view shows; replaced (never mutated in place) on each change. */
  state = initialState();

  /**
   * @param {object} options
   * @param {string} options.origin the Switchboard server, e.g. `https://chat.owl.example`
   * @param {string} options.addressSid the chat address (deployment key, IG…)
   * @param {Storage | null} [options.storage] where the chat is remembered (`localStorage`; none: not kept)
   * @param {typeof fetch} [options.fetch]
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {object | null} [options.preEngagementData] context from the page, sent with Start
   */
  constructor({
    origin,
    addressSid,
    storage = null,
    fetch = globalThis.fetch.bind(globalThis),
    WebSocket = globalThis.WebSocket,
    preEngagementData = null,
  }) {
    super();
    this.#preEngagementData = preEngagementData;
    this.#origin = origin;
    this.#addressSid = addressSid;
    this.#store = new ChatStore(storage, addressSid);
    this.#fetch = fetch;
    this.#WebSocket = WebSocket;
  }

  /** Whether the panel was open when the page was last left (false without a chat). */
  get wasOpen() {
    return Boolean(this.#store.load()?.open);
  }

  /** Reopens the stored chat, if there is one. */
  restore() {
    const record = this.#store.load();
    if (!record) return;
    this.#update({ phase: 'chat', record });
    this.#open(record);
  }

  /**
   * Starts a chat from the checked form values (model.js `checkForm`).
   * @param {{name: string, email: string, question: string}} values
   */
  async start(values) {
    if (this.state.phase === 'starting') return;
    this.#update({ phase: 'starting', startError: null });
    const epoch = this.#epoch;
    try {
      const answer = await startChat(this.#origin, startBody(this.#addressSid, values, this.#preEngagementData), this.#fetch);
      if (epoch !== this.#epoch) return;
      const record = chatRecord(answer, true);
      this.#store.save(record);
      this.#update({ ...initialState(), phase: 'chat', record });
      this.#open(record);
    } catch (error) {
      if (epoch !== this.#epoch) return;
      this.#update({ phase: 'form', startError: error.message });
    }
  }

  /** Forgets the current chat (ended or not) and shows the form again. */
  newChat() {
    this.#leave();
    this.#store.clear();
    this.#update(initialState());
  }

  /** The panel opened or closed: remembered across reloads. */
  setOpen(open) {
    const record = this.state.record;
    if (record && record.open !== open) {
      const next = { ...record, open };
      this.#store.save(next);
      this.state = { ...this.state, record: next };
    }
  }

  /** Tries again after the connection ended for good (the "Reconnect" button). */
  reconnect() {
    if (this.state.phase === 'chat' && this.state.connection === 'disconnected') this.#open(this.state.record);
  }

  /** Panel open and page visible: the customer sees the newest messages (sends `read`). */
  setVisible(visible) {
    this.#visible = visible;
    if (visible && this.state.unread) this.#update({ unread: 0 });
    this.#markRead();
  }

  /**
   * Sends a text message; it shows at once as pending and is replaced by the server's copy.
   * @param {string} body
   */
  send(body, { mediaSids, media } = {}) {
    const { record } = this.state;
    if (!this.#connection || !record || this.state.phase !== 'chat') return;
    const clientMessageId = randomId();
    const pending = pendingMessage({ body, clientMessageId, identity: record.identity, media }, Date.now());
    this.#update({ messages: mergeMessages(this.state.messages, [pending]) });
    const epoch = this.#epoch;
    this.#connection.send(record.conversation_sid, { body: body || undefined, mediaSids, clientMessageId }).then(
      ({ message }) => {
        if (epoch === this.#epoch && message) this.#update({ messages: mergeMessages(this.state.messages, [message]) });
      },
      (error) => {
        if (epoch !== this.#epoch) return;
        this.#update({ messages: failPending(this.state.messages, clientMessageId, sendErrorText(error)) });
        if (error?.code === 50377) this.#end();
      },
    );
  }

  /** Uploads a file, then sends it as a message. Upload errors land in `state.uploadError`. */
  async attach(file) {
    const { record } = this.state;
    if (!record || !file || this.state.uploading) return;
    this.#update({ uploading: file.name || 'file', uploadError: null });
    const epoch = this.#epoch;
    try {
      const media = await uploadMedia({
        origin: this.#origin,
        serviceSid: record.chat_service_sid,
        token: record.token,
        file,
        fetch: this.#fetch,
      });
      if (epoch !== this.#epoch) return;
      this.#update({ uploading: null });
      this.send('', { mediaSids: [media.sid], media: [media] });
    } catch (error) {
      if (epoch === this.#epoch) this.#update({ uploading: null, uploadError: error.message });
    }
  }

  /** Hides the last upload error. */
  dismissUploadError() {
    if (this.state.uploadError) this.#update({ uploadError: null });
  }

  /** The customer is typing: tells the agents, at most every few seconds. */
  typing() {
    const now = Date.now();
    if (!this.#connection || this.state.connection !== 'connected' || now - this.#lastTypingSent < TYPING_SEND_INTERVAL_MS) return;
    this.#lastTypingSent = now;
    this.#connection.typing(this.state.record.conversation_sid).catch(() => {});
  }

  /** Loads the page of messages before the oldest shown. */
  async loadEarlier() {
    const oldest = this.state.messages.find((m) => typeof m.index === 'number');
    if (!oldest || !this.state.hasMore) return;
    await this.#loadHistory(oldest.index);
  }

  /**
   * The signed URL of a media file (for `<img src>` / `<a href>`), reused for a while.
   * @param {string} sid
   * @param {{fresh?: boolean}} [options] `fresh`: the last link failed (expired)
   */
  mediaLink(sid, { fresh = false } = {}) {
    const cached = this.#mediaLinks.get(sid);
    if (cached && !fresh && Date.now() - cached.at < MEDIA_LINK_REUSE_MS) return cached.promise;
    const { record } = this.state;
    const promise = mediaUrl({ origin: this.#origin, serviceSid: record?.chat_service_sid, token: record?.token, sid, fetch: this.#fetch });
    this.#mediaLinks.set(sid, { at: Date.now(), promise });
    promise.catch(() => this.#mediaLinks.delete(sid));
    return promise;
  }

  // --- the connection -------------------------------------------------------------------

  /** Whether this chat's history was loaded since it was (re)opened. */
  #historyLoaded = false;
  /** Whether older pages were loaded ("Show earlier messages"). */
  #pagedBack = false;
  /** Whether a refused token was already refreshed once without a connection since. */
  #refreshedAfterRefusal = false;

  #open(record) {
    this.#stopConnection();
    const epoch = ++this.#epoch;
    this.#historyLoaded = false;
    const url = `${this.#origin.replace(/^http/, 'ws')}/v1/ws`;
    const connection = new Connection({
      url,
      token: isExpired(record, Date.now()) ? undefined : record.token,
      tokenProvider: () => this.#refresh(epoch),
      WebSocket: this.#WebSocket,
    });
    this.#connection = connection;
    connection.addEventListener('state', (e) => {
      if (epoch !== this.#epoch) return;
      this.#update({ connection: e.detail.state });
      if (e.detail.state === 'connected') this.#onConnected(epoch, e.detail.session);
    });
    for (const name of CONVERSATION_EVENTS) {
      connection.addEventListener(name, (e) => {
        if (epoch === this.#epoch && e.detail.conversation_sid === this.state.record?.conversation_sid) this.#onEvent(e.detail);
      });
    }
    connection.connect().catch((error) => this.#onRefused(epoch, error));
  }

  /** The tokenProvider: a fresh guest token, or the end of the chat when Refresh says 401. */
  async #refresh(epoch) {
    const token = this.state.record?.token;
    try {
      const answer = await refreshChat(this.#origin, token, this.#fetch);
      if (epoch !== this.#epoch) throw new Error('chat left');
      const record = { ...chatRecord(answer, this.state.record?.open ?? true) };
      this.#store.save(record);
      this.#update({ record });
      // A closed conversation still connects: its history is shown, then it ends (#onConnected).
      return answer.token;
    } catch (error) {
      if (epoch === this.#epoch && error instanceof WebchatError && error.status === 401) {
        queueMicrotask(() => this.newChat());
      }
      throw error;
    }
  }

  /** The connection ended for good: a refused token gets one Refresh, else the chat is over. */
  async #onRefused(epoch, error) {
    if (epoch !== this.#epoch) return;
    const tokenRefused = error?.closeCode === 4501 || error?.cause?.code === 20003;
    // Once: a server that refuses the fresh token too would otherwise be asked forever.
    if (!tokenRefused || this.#refreshedAfterRefusal) return;
    this.#refreshedAfterRefusal = true;
    try {
      await this.#refresh(epoch);
    } catch {
      return;
    }
    if (epoch === this.#epoch && this.state.phase === 'chat') this.#open(this.state.record);
  }

  async #onConnected(epoch, session) {
    this.#refreshedAfterRefusal = false;
    const sid = this.state.record.conversation_sid;
    const summary = (session?.conversations ?? []).find((s) => s?.conversation?.sid === sid);
    if (!summary) {
      // No longer a participant: nothing more will come.
      this.#end();
      return;
    }
    if (!this.#historyLoaded) {
      this.#historyLoaded = true;
      await this.#loadHistory(undefined);
    }
    if (epoch !== this.#epoch) return;
    try {
      const { participants } = await this.#connection.request('participants', { conversation_sid: sid });
      if (epoch === this.#epoch && Array.isArray(participants)) this.#update({ participants: participantMap(participants) });
    } catch {
      // A server without the command: "Seen" and names then come from events only.
    }
    if (epoch !== this.#epoch) return;
    // A chat closed while the customer was away: its messages are shown, then it ends.
    if (summary.conversation?.state === 'closed') {
      this.#end();
      return;
    }
    const own = [...this.state.participants.values()].find((p) => p.identity === this.state.record.identity);
    if (typeof own?.last_read_message_index === 'number') this.#lastRead = Math.max(this.#lastRead ?? -1, own.last_read_message_index);
    this.#markRead();
  }

  async #loadHistory(before) {
    const epoch = this.#epoch;
    const sid = this.state.record.conversation_sid;
    try {
      const page = await this.#connection.history(sid, { before, limit: PAGE });
      if (epoch !== this.#epoch) return;
      const patch = { messages: mergeMessages(this.state.messages, page.messages ?? []) };
      // Only the oldest page loaded says whether there is more before it.
      if (before !== undefined || !this.#pagedBack) patch.hasMore = Boolean(page.has_more);
      if (before !== undefined) this.#pagedBack = true;
      this.#update(patch);
      this.#markRead();
    } catch {
      // Live messages still arrive; the first page is asked for again on the next connect.
      if (before === undefined && epoch === this.#epoch) this.#historyLoaded = false;
    }
  }

  #onEvent(frame) {
    const { patch, ended } = applyEvent(this.state, frame, { now: Date.now(), visible: this.#visible });
    this.#update(patch);
    if (ended) {
      this.#end();
      return;
    }
    if (frame.event === 'typing') this.#scheduleTypingExpiry();
    if (frame.event === 'message_added') this.#markRead();
  }

  #scheduleTypingExpiry() {
    clearTimeout(this.#typingTimer);
    const next = nextTypingExpiry(this.state.typing);
    if (next === null) return;
    this.#typingTimer = setTimeout(() => {
      this.#update({ typing: stopTyping(this.state.typing, Date.now()) });
      this.#scheduleTypingExpiry();
    }, Math.max(0, next - Date.now()) + 10);
  }

  #markRead() {
    if (!this.#connection || this.state.connection !== 'connected' || this.state.phase !== 'chat') return;
    const index = readTarget(this.state.messages, this.#lastRead, this.#visible);
    if (index === null) return;
    this.#lastRead = index;
    this.#connection.read(this.state.record.conversation_sid, index).catch(() => {
      if (this.#lastRead === index) this.#lastRead = null;
    });
  }

  /** The conversation is over: keep what is shown, stop listening, keep the record. */
  #end() {
    if (this.state.phase !== 'chat') return;
    this.#stopConnection();
    this.#update({ phase: 'ended', typing: new Map(), connection: 'disconnected' });
  }

  /** Leaves the current chat behind (its late answers are ignored from now on). */
  #leave() {
    this.#epoch++;
    this.#stopConnection();
    this.#lastRead = null;
    this.#pagedBack = false;
    this.#mediaLinks.clear();
  }

  #stopConnection() {
    clearTimeout(this.#typingTimer);
    const connection = this.#connection;
    this.#connection = null;
    connection?.close();
  }

  // --- state ----------------------------------------------------------------------------

  #update(patch) {
    this.state = { ...this.state, ...patch };
    this.dispatchEvent(new Event('change'));
  }
}

/** What to show under a message that could not be sent. */
function sendErrorText(error) {
  if (error instanceof RequestError && error.code === 'disconnected') return 'Not sent: the connection was lost.';
  if (error?.code === 50377) return 'Not sent: this chat has ended.';
  return `Not sent: ${error?.message || 'unknown error'}`;
}
