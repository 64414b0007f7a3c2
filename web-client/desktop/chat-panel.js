/**
 * One conversation on the desktop: its history (paged backwards with `history`), messages as
 * they arrive, typing both ways, "Seen" and SMS/WhatsApp delivery status under the agent's
 * messages, attachments (image previews, file links, upload errors), and the composer. An
 * agent's panel is a participant's; a supervisor's starts as a silent monitor and becomes a
 * participant's on `join`. The owner passes every conversation event in through `handle`.
 */

import { randomId } from '../sdk/connection.js';
import { renderRichText } from '../chat/richtext.js';
import { formatSize, isImage, mediaUrl, uploadMedia } from '../chat/media.js';
import { h, replace } from './dom.js';
import { attributesOf, deliveryLabel, mergeMessages, seenIndex } from './model.js';

const PAGE = 30;
const TYPING_EVERY_MS = 2000;

export class ChatPanel {
  #session;
  #sid;
  #mode;
  #messages = [];
  #participants = [];
  #typing = new Map();
  #typingTimer = null;
  #typingSentAt = 0;
  #hasMore = false;
  #loaded = null;
  #visible = false;
  #readSent = -1;
  #closed = false;
  #links = new Map();

  /**
   * @param {import('./session.js').DesktopSession} session
   * @param {string} conversationSid
   * @param {{mode?: 'member' | 'monitor', title?: string, onChange?: () => void}} options
   */
  constructor(session, conversationSid, { mode = 'member', title = 'Conversation', onChange = () => {} } = {}) {
    this.#session = session;
    this.#sid = conversationSid;
    this.#mode = mode;
    this.onChange = onChange;
    this.unread = 0;
    const id = `log-${conversationSid}`;
    this.title = h('h2', { class: 'chat-title', text: title });
    this.actions = h('div', { class: 'chat-actions' });
    this.more = h('button', { type: 'button', class: 'ghost', text: 'Load earlier messages', hidden: true, on: { click: () => this.#loadEarlier() } });
    this.log = h('ol', { class: 'log', id, attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': `Messages: ${title}` } });
    this.typingLine = h('p', { class: 'typing', attrs: { 'aria-live': 'polite' } });
    this.error = h('p', { class: 'error', attrs: { role: 'alert' }, hidden: true });
    this.banner = h('p', { class: 'banner', hidden: true });
    this.input = h('textarea', { id: `compose-${conversationSid}`, rows: 2, maxLength: 1600, on: { keydown: (e) => this.#keydown(e), input: () => this.#typingOut() } });
    this.file = h('input', { type: 'file', id: `file-${conversationSid}`, class: 'visually-hidden', on: { change: () => this.#attach() } });
    this.composer = h(
      'form',
      { class: 'composer', on: { submit: (e) => { e.preventDefault(); this.#send(); } } },
      h('label', { class: 'visually-hidden', htmlFor: this.input.id, text: 'Message' }),
      this.input,
      h('label', { class: 'button ghost attach', htmlFor: this.file.id, text: 'Attach a file', tabIndex: 0, on: { keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.file.click(); } } } }),
      this.file,
      h('button', { type: 'submit', text: 'Send' }),
    );
    this.composer.hidden = mode === 'monitor';
    this.el = h(
      'section',
      { class: 'chat', attrs: { 'aria-label': `Conversation with ${title}` }, hidden: true },
      h('header', { class: 'chat-head' }, this.title, this.actions),
      this.banner,
      this.more,
      this.log,
      this.typingLine,
      this.error,
      this.composer,
    );
  }

  get sid() {
    return this.#sid;
  }
  get mode() {
    return this.#mode;
  }
  get messages() {
    return this.#messages;
  }
  get participants() {
    return this.#participants;
  }

  /** Reads the participants and the newest page of history (once). */
  load() {
    this.#loaded ??= (async () => {
      const conn = this.#session.connection;
      if (this.#mode === 'monitor') await conn.monitor(this.#sid);
      const [people, page] = await Promise.all([
        conn.request('participants', { conversation_sid: this.#sid }),
        conn.history(this.#sid, { limit: PAGE }),
      ]);
      this.#participants = people.participants;
      this.#messages = mergeMessages(this.#messages, page.messages);
      this.#hasMore = page.has_more;
      this.#render(true);
    })().catch((e) => {
      this.#loaded = null;
      this.#showError(`Could not load the conversation: ${e.message}`);
    });
    return this.#loaded;
  }

  /** Shows or hides the panel; a shown panel marks what it shows as read. */
  setVisible(visible) {
    this.#visible = visible;
    this.el.hidden = !visible;
    if (visible) {
      this.unread = 0;
      this.load().then(() => this.#markRead());
      if (this.#mode === 'member') this.input.focus({ preventScroll: true });
    }
  }

  /** Supervisors: become a visible participant. */
  async join() {
    const { participant } = await this.#session.connection.join(this.#sid);
    this.#mode = 'member';
    this.#participants = [...this.#participants.filter((p) => p.sid !== participant.sid), participant];
    this.composer.hidden = false;
    this.#render(false);
  }

  /** Marks the conversation closed: no more sending. */
  close(reason = 'This conversation has ended.') {
    this.#closed = true;
    this.banner.textContent = reason;
    this.banner.hidden = false;
    this.composer.hidden = true;
  }

  /** Applies a conversation event (`detail` of the Connection's `event`). */
  handle({ event, data }) {
    switch (event) {
      case 'message_added':
      case 'message_updated':
        this.#messages = mergeMessages(this.#messages, [data]);
        this.#typing.delete(data.author);
        if (event === 'message_added' && data.author !== this.#session.identity && !this.#visible) this.unread += 1;
        this.#render(false);
        this.#markRead();
        break;
      case 'message_removed':
        this.#messages = this.#messages.filter((m) => m.index !== data.index);
        this.#render(false);
        break;
      case 'delivery_updated':
        this.#messages = mergeMessages(this.#messages, [data.message]);
        this.#render(false);
        break;
      case 'participant_added':
      case 'participant_updated':
        this.#participants = [...this.#participants.filter((p) => p.sid !== data.sid), data];
        this.#render(false);
        break;
      case 'participant_removed':
        this.#participants = this.#participants.filter((p) => p.sid !== data.sid);
        this.#render(false);
        break;
      case 'typing':
        if (data.identity !== this.#session.identity) {
          this.#typing.set(data.identity, Date.now() + (data.timeout_ms ?? 5000));
          this.#renderTyping();
        }
        break;
      case 'conversation_state_updated':
        if (data.conversation?.state === 'closed') this.close();
        break;
      default:
        return;
    }
    this.onChange();
  }

  nameOf(identity) {
    if (identity === this.#session.identity) return 'You';
    const p = this.#participants.find((x) => x.identity === identity || x.messaging_binding?.address === identity);
    return attributesOf(p?.attributes).friendlyName || identity || 'System';
  }

  async #loadEarlier() {
    const first = this.#messages[0];
    if (!first) return;
    const page = await this.#session.connection.history(this.#sid, { before: first.index, limit: PAGE });
    const fromBottom = this.log.scrollHeight - this.log.scrollTop;
    this.#messages = mergeMessages(this.#messages, page.messages);
    this.#hasMore = page.has_more;
    this.#render(false);
    this.log.scrollTop = this.log.scrollHeight - fromBottom;
  }

  #keydown(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.#send();
    }
  }

  #typingOut() {
    const now = Date.now();
    if (this.#mode !== 'member' || now - this.#typingSentAt < TYPING_EVERY_MS) return;
    this.#typingSentAt = now;
    this.#session.connection.typing(this.#sid).catch(() => {});
  }

  async #send() {
    const body = this.input.value.trim();
    if (!body || this.#closed) return;
    this.input.value = '';
    try {
      const { message } = await this.#session.connection.send(this.#sid, { body, clientMessageId: randomId() });
      this.#messages = mergeMessages(this.#messages, [message]);
      this.#render(true);
      this.#hideError();
    } catch (e) {
      this.input.value = body;
      this.#showError(`Not sent: ${e.message}`);
    }
  }

  async #attach() {
    const file = this.file.files?.[0];
    this.file.value = '';
    if (!file) return;
    try {
      const media = await uploadMedia({ origin: location.origin, serviceSid: this.#session.serviceSid, token: await this.#session.token(), file });
      const { message } = await this.#session.connection.send(this.#sid, { mediaSids: [media.sid], clientMessageId: randomId() });
      this.#messages = mergeMessages(this.#messages, [message]);
      this.#render(true);
      this.#hideError();
    } catch (e) {
      this.#showError(`${file.name}: ${e.message}`);
    }
  }

  #markRead() {
    if (!this.#visible || this.#mode !== 'member' || document.visibilityState === 'hidden') return;
    const newest = this.#messages.at(-1)?.index;
    if (newest === undefined || newest <= this.#readSent) return;
    this.#readSent = newest;
    this.#session.connection.read(this.#sid, newest).catch(() => {
      this.#readSent = -1;
    });
  }

  #showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  #hideError() {
    this.error.hidden = true;
  }

  #renderTyping() {
    clearTimeout(this.#typingTimer);
    const now = Date.now();
    for (const [who, until] of this.#typing) if (until <= now) this.#typing.delete(who);
    const names = [...this.#typing.keys()].map((i) => this.nameOf(i));
    this.typingLine.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
    if (this.#typing.size) {
      const next = Math.min(...this.#typing.values()) - now;
      this.#typingTimer = setTimeout(() => this.#renderTyping(), Math.max(50, next));
    }
  }

  #render(toBottom) {
    const atBottom = toBottom || this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 48;
    const me = this.#session.identity;
    const seen = seenIndex(this.#messages, me, this.#participants);
    replace(this.log, this.#messages.map((m) => this.#row(m, me, seen)));
    this.more.hidden = !this.#hasMore;
    this.#renderTyping();
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  #row(m, me, seen) {
    const mine = m.author === me;
    const when = new Date(m.date_created);
    const status = mine ? deliveryLabel(m.delivery) ?? (m.index === seen ? 'Seen' : null) : null;
    return h(
      'li',
      { class: `msg ${mine ? 'mine' : 'theirs'}`, attrs: { 'data-index': m.index } },
      h('p', { class: 'meta' }, h('span', { class: 'author', text: this.nameOf(m.author) }), ' ', h('time', { dateTime: m.date_created, text: when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) })),
      m.body ? h('div', { class: 'body' }, renderRichText(m.body)) : null,
      (m.media ?? []).map((media) => this.#media(media)),
      status ? h('p', { class: 'status', text: status }) : null,
    );
  }

  #media(media) {
    const name = media.filename || 'attachment';
    const holder = h('div', { class: 'media' });
    const link = this.#link(media.sid);
    if (isImage(media.content_type)) {
      const img = h('img', { alt: name, class: 'preview' });
      link.then((url) => { img.src = url; }, () => { img.alt = `${name} (unavailable)`; });
      holder.append(img);
    }
    const a = h('a', { text: `${name} (${formatSize(media.size)})`, attrs: { download: name, rel: 'noopener noreferrer', target: '_blank' } });
    link.then((url) => { a.href = url; }, () => {});
    holder.append(a);
    return holder;
  }

  #link(sid) {
    let link = this.#links.get(sid);
    if (!link) {
      link = this.#session.token().then((token) => mediaUrl({ origin: location.origin, serviceSid: this.#session.serviceSid, token, sid }));
      link.catch(() => this.#links.delete(sid));
      this.#links.set(sid, link);
    }
    return link;
  }
}
