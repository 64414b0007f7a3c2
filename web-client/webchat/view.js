/**
 * The widget's DOM inside its shadow root: the launcher button, and the panel (a labelled
 * dialog) holding the pre-engagement form, the connection banner, the message list, the
 * typing line, the composer and the "chat ended" block. It reads `ChatSession.state` on each
 * `change` and calls the session's methods; it holds no chat logic of its own. Elements are
 * made with `createElement`; user text only ever goes through `textContent` or
 * `renderRichText`.
 */

import { checkForm, seenIndex, timeline, typingText, NAME_MAX, QUESTION_MAX } from './model.js';
import { renderMessages } from './messages.js';

const SVG = 'http://www.w3.org/2000/svg';

/** Builds an element: `h(doc, 'button', {class: 'x', type: 'button'}, 'text' | Node, …)`. */
function h(doc, tag, attributes = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) node.append(typeof child === 'string' ? doc.createTextNode(child) : child);
  return node;
}

/** A decorative icon from one SVG path (constant data, hidden from assistive technology). */
function icon(doc, path) {
  const svg = doc.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  const p = doc.createElementNS(SVG, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';
const ICON_CLIP =
  'M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.7-5.7L5.8 11.4a6 6 0 0 0 8.5 8.5l6.2-6.2';

export class WebchatView {
  #session;
  #root;
  #doc;
  #open = false;
  #lastPhase = null;
  #els = {};

  /**
   * @param {ShadowRoot} root where the widget lives
   * @param {import('./session.js').ChatSession} session
   * @param {{title?: string}} [options] the panel's heading
   */
  constructor(root, session, { title = 'Chat with us' } = {}) {
    this.#session = session;
    this.#root = root;
    this.#doc = root.ownerDocument ?? root.host.ownerDocument;
    root.append(this.#build(title));
    session.addEventListener('change', () => this.#render());
    this.#doc.addEventListener('visibilitychange', () => this.#reportVisibility());
    this.#render();
  }

  /** Opens or closes the panel; `focus` moves focus into it (or back to the launcher). */
  setOpen(open, { focus = true } = {}) {
    this.#open = open;
    this.#session.setOpen(open);
    this.#render();
    // Scrolling a hidden list does nothing: show the newest messages now.
    if (open) this.#els.log.scrollTop = this.#els.log.scrollHeight;
    this.#reportVisibility();
    if (!focus) return;
    if (open) this.#focusInside();
    else this.#els.launcher.focus();
  }

  // --- building -------------------------------------------------------------------------

  #build(title) {
    const d = this.#doc;
    const e = this.#els;
    e.launcher = h(d, 'button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'sb-panel' }, icon(d, ICON_CHAT), h(d, 'span', { class: 'launcher__text' }, 'Chat with us'));
    e.launcher.setAttribute('aria-label', 'Chat with us');
    e.badge = h(d, 'span', { class: 'launcher__badge', id: 'sb-unread', hidden: true });
    e.launcher.append(e.badge);
    e.launcher.addEventListener('click', () => this.setOpen(!this.#open));

    e.close = h(d, 'button', { type: 'button', class: 'panel__close', 'aria-label': 'Close chat' }, icon(d, ICON_CLOSE));
    e.close.addEventListener('click', () => this.setOpen(false));
    const header = h(d, 'header', { class: 'panel__header' }, h(d, 'h2', { id: 'sb-title', class: 'panel__title' }, title), e.close);

    e.banner = h(d, 'div', { class: 'banner', role: 'status', hidden: true });
    e.bannerText = h(d, 'span');
    e.reconnect = h(d, 'button', { type: 'button', class: 'link-button', hidden: true }, 'Reconnect');
    e.reconnect.addEventListener('click', () => this.#session.reconnect());
    e.banner.append(e.bannerText, ' ', e.reconnect);

    e.panel = h(d, 'section', { id: 'sb-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true }, header, e.banner, this.#buildForm(), this.#buildChat());
    e.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        this.setOpen(false);
      }
    });
    return h(d, 'div', { class: 'widget' }, e.panel, e.launcher);
  }

  /** A labelled control; the hint stays out of the label so the field's name is exactly `label`. */
  #field(id, label, control, hint) {
    const d = this.#doc;
    const error = h(d, 'p', { id: `${id}-error`, class: 'field__error', hidden: true });
    control.setAttribute('id', id);
    const described = [`${id}-error`];
    const heading = h(d, 'div', { class: 'field__label' }, h(d, 'label', { for: id }, label));
    if (hint) {
      heading.append(' ', h(d, 'span', { id: `${id}-hint`, class: 'field__hint' }, hint));
      described.unshift(`${id}-hint`);
    }
    control.setAttribute('aria-describedby', described.join(' '));
    const field = h(d, 'div', { class: 'field' }, heading, control, error);
    return { field, control, error };
  }

  #buildForm() {
    const d = this.#doc;
    const e = this.#els;
    e.name = this.#field('sb-name', 'Name', h(d, 'input', { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: NAME_MAX }));
    e.email = this.#field('sb-email', 'Email', h(d, 'input', { type: 'email', name: 'email', autocomplete: 'email' }), '(optional)');
    e.question = this.#field('sb-question', 'Question', h(d, 'textarea', { name: 'question', rows: 3, maxlength: QUESTION_MAX }), '(optional)');
    e.startError = h(d, 'p', { class: 'form__error', role: 'alert', hidden: true });
    e.startButton = h(d, 'button', { type: 'submit', class: 'primary' }, 'Start chat');
    e.form = h(
      d,
      'form',
      { class: 'form', novalidate: true },
      h(d, 'p', { class: 'form__intro' }, 'Tell us who you are and we will connect you with someone from our team.'),
      e.name.field,
      e.email.field,
      e.question.field,
      e.startError,
      e.startButton,
    );
    e.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submitForm();
    });
    return e.form;
  }

  #buildChat() {
    const d = this.#doc;
    const e = this.#els;
    e.earlier = h(d, 'button', { type: 'button', class: 'link-button earlier', hidden: true }, 'Show earlier messages');
    e.earlier.addEventListener('click', () => this.#session.loadEarlier());
    e.log = h(d, 'ol', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
    e.typing = h(d, 'p', { class: 'typing', 'aria-live': 'polite' });

    e.endedText = h(d, 'p', { class: 'ended__text' }, 'This chat has ended');
    e.newChat = h(d, 'button', { type: 'button', class: 'primary' }, 'Start a new chat');
    e.newChat.addEventListener('click', () => {
      this.#session.newChat();
      this.#focusInside();
    });
    e.ended = h(d, 'div', { class: 'ended', hidden: true }, e.endedText, e.newChat);

    e.message = h(d, 'textarea', { id: 'sb-message', class: 'composer__input', rows: 1, placeholder: 'Type a message…', enterkeyhint: 'send' });
    e.message.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#sendDraft();
      }
    });
    e.message.addEventListener('input', () => {
      if (e.message.value.trim()) this.#session.typing();
    });
    e.file = h(d, 'input', { id: 'sb-file', type: 'file', class: 'visually-hidden' });
    e.file.addEventListener('change', () => {
      const [file] = e.file.files ?? [];
      e.file.value = '';
      if (file) this.#session.attach(file);
    });
    const attach = h(d, 'label', { for: 'sb-file', class: 'composer__attach', title: 'Attach a file' }, icon(d, ICON_CLIP), h(d, 'span', { class: 'visually-hidden' }, 'Attach a file'));
    e.send = h(d, 'button', { type: 'submit', class: 'primary composer__send' }, 'Send');
    e.composer = h(
      d,
      'form',
      { class: 'composer' },
      h(d, 'label', { for: 'sb-message', class: 'visually-hidden' }, 'Message'),
      e.message,
      e.file,
      attach,
      e.send,
    );
    e.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#sendDraft();
    });
    e.uploadStatus = h(d, 'p', { class: 'upload', role: 'status' });
    e.uploadError = h(d, 'p', { class: 'upload upload--error', role: 'alert', hidden: true });

    e.chat = h(d, 'div', { class: 'chat', hidden: true }, e.earlier, e.log, e.typing, e.ended, e.uploadStatus, e.uploadError, e.composer);
    return e.chat;
  }

  // --- actions --------------------------------------------------------------------------

  #submitForm() {
    const e = this.#els;
    const { values, errors } = checkForm({ name: e.name.control.value, email: e.email.control.value, question: e.question.control.value });
    let first = null;
    for (const [key, field] of [['name', e.name], ['email', e.email], ['question', e.question]]) {
      const message = errors[key];
      field.error.hidden = !message;
      field.error.textContent = message ?? '';
      if (message) field.control.setAttribute('aria-invalid', 'true');
      else field.control.removeAttribute('aria-invalid');
      if (message && !first) first = field.control;
    }
    if (first) {
      first.focus();
      return;
    }
    this.#session.start(values);
  }

  #sendDraft() {
    const e = this.#els;
    const body = e.message.value.trim();
    if (!body || this.#session.state.phase !== 'chat') return;
    this.#session.dismissUploadError();
    this.#session.send(body);
    e.message.value = '';
    e.message.focus();
  }

  #focusInside() {
    const { phase } = this.#session.state;
    const e = this.#els;
    const target = phase === 'chat' ? e.message : phase === 'ended' ? e.newChat : e.name.control;
    // After the panel is shown: a hidden element cannot take focus.
    queueMicrotask(() => target.focus());
  }

  #reportVisibility() {
    this.#session.setVisible(this.#open && this.#doc.visibilityState !== 'hidden');
  }

  // --- rendering ------------------------------------------------------------------------

  #render() {
    const state = this.#session.state;
    const e = this.#els;
    queueMicrotask(() => this.#followPhase(state.phase));
    const chatShown = state.phase === 'chat' || state.phase === 'ended';

    e.panel.hidden = !this.#open;
    e.launcher.setAttribute('aria-expanded', String(this.#open));
    e.launcher.classList.toggle('launcher--open', this.#open);
    e.badge.hidden = !state.unread || this.#open;
    e.badge.textContent = state.unread > 9 ? '9+' : String(state.unread || '');
    if (state.unread && !this.#open) e.launcher.setAttribute('aria-describedby', 'sb-unread');
    else e.launcher.removeAttribute('aria-describedby');

    e.form.hidden = chatShown;
    e.startButton.disabled = state.phase === 'starting';
    e.startButton.textContent = state.phase === 'starting' ? 'Starting…' : 'Start chat';
    e.startError.hidden = !state.startError;
    e.startError.textContent = state.startError ?? '';

    const offline = state.phase === 'chat' && state.connection !== 'connected';
    e.banner.hidden = !offline;
    e.bannerText.textContent =
      state.connection === 'disconnected' ? 'Connection lost.' : state.connection === 'connecting' ? 'Connecting…' : 'Reconnecting…';
    e.reconnect.hidden = state.connection !== 'disconnected';

    e.chat.hidden = !chatShown;
    if (!chatShown) return;
    const ended = state.phase === 'ended';
    e.ended.hidden = !ended;
    e.composer.hidden = ended;
    e.earlier.hidden = !state.hasMore;
    e.typing.textContent = ended ? '' : typingText(state.typing);
    e.uploadStatus.textContent = state.uploading ? `Uploading ${state.uploading}…` : '';
    e.uploadError.hidden = !state.uploadError;
    e.uploadError.textContent = state.uploadError ?? '';

    const guest = { identity: state.record.identity, friendly_name: state.record.friendly_name };
    renderMessages(e.log, timeline(state.messages, state.notices), {
      guest,
      participants: state.participants,
      seenIndex: seenIndex(state.messages, guest.identity, state.participants),
      mediaLink: (sid, options) => this.#session.mediaLink(sid, options),
    });
  }

  /** The view changed under the customer (form → chat → ended): focus what comes next. */
  #followPhase(phase) {
    const previous = this.#lastPhase;
    this.#lastPhase = phase;
    if (previous === null || previous === phase || phase === 'starting' || !this.#open) return;
    // Only when focus was lost with what got hidden: never steal it from the page.
    const inside = this.#root.activeElement;
    const lost = !this.#doc.activeElement || this.#doc.activeElement === this.#doc.body;
    if (!lost && !(inside && inside.closest('[hidden]'))) return;
    this.#focusInside();
  }
}
