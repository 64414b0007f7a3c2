/**
 * The simulator page: play a customer texting one of the account's numbers. The browser
 * already holds the account's credentials (it asked for them when it loaded `/simulator`), so
 * every request here is same-origin and carries them.
 *
 * `<sim-thread>` shows one thread (data down through its `messages` and `number` properties);
 * the rest of this module wires the settings, the compose box and the event stream to it.
 * User text reaches the page only through `textContent`.
 */

import {
  DEFAULT_PHONE,
  bare,
  channelFor,
  customerAddress,
  errorText,
  inThread,
  isCustomerAddress,
  merge,
  safeUrl,
} from './model.js';

const API = '/simulator/v1';

/** The messages of one thread, phone-style: the customer's on the right, replies on the left. */
class SimThread extends HTMLElement {
  #messages = [];
  #number = '';

  /** Every message of the phone; the element shows those of its `number`. */
  set messages(list) {
    this.#messages = list;
    this.#render();
  }

  get messages() {
    return this.#messages;
  }

  /** Our address whose thread is shown. */
  set number(value) {
    this.#number = value;
    this.#render();
  }

  get number() {
    return this.#number;
  }

  connectedCallback() {
    this.#render();
  }

  #render() {
    const list = document.createElement('ol');
    list.className = 'messages';
    list.setAttribute('aria-label', 'Messages, oldest first');
    const shown = this.#messages.filter((m) => inThread(m, this.#number));
    if (shown.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'messages__empty';
      empty.textContent = 'No messages yet. Say hello!';
      list.append(empty);
    }
    for (const m of shown) list.append(bubble(m));
    this.replaceChildren(list);
    list.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }
}

/** One message as a list item. */
function bubble(m) {
  const mine = m.direction === 'inbound';
  const item = document.createElement('li');
  item.className = `msg ${mine ? 'msg--mine' : 'msg--theirs'}`;

  const who = document.createElement('span');
  who.className = 'visually-hidden';
  who.textContent = mine ? 'You: ' : `${m.from}: `;
  item.append(who);

  if (m.body) {
    const text = document.createElement('p');
    text.className = 'msg__body';
    text.textContent = m.body;
    item.append(text);
  }
  (m.media_urls ?? []).forEach((url, i) => {
    const href = safeUrl(url, location.href);
    if (!href) return;
    const link = document.createElement('a');
    link.className = 'msg__media';
    link.href = href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = `Attachment ${i + 1}`;
    item.append(link);
  });

  const when = document.createElement('time');
  when.className = 'msg__time';
  const date = new Date(m.date_ms);
  when.dateTime = date.toISOString();
  when.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  item.append(when);
  return item;
}

customElements.define('sim-thread', SimThread);

const els = {
  number: /** @type {HTMLSelectElement} */ (document.getElementById('number')),
  phone: /** @type {HTMLInputElement} */ (document.getElementById('phone')),
  whatsapp: /** @type {HTMLInputElement} */ (document.getElementById('whatsapp')),
  thread: /** @type {SimThread} */ (document.getElementById('thread')),
  status: document.getElementById('status'),
  compose: /** @type {HTMLFormElement} */ (document.getElementById('compose')),
  body: /** @type {HTMLTextAreaElement} */ (document.getElementById('body')),
  send: /** @type {HTMLButtonElement} */ (document.getElementById('send')),
};

/** @type {{address: string, type: string, friendly_name: string | null}[]} */
let numbers = [];
/** @type {EventSource | null} */
let source = null;
let retryTimer = 0;
let retries = 0;

function say(text) {
  els.status.textContent = text;
}

function selectedNumber() {
  return numbers.find((n) => n.address === els.number.value);
}

/** The customer address the page currently plays. */
function phone() {
  return customerAddress(els.phone.value, channelFor(selectedNumber(), els.whatsapp.checked));
}

async function api(path, init) {
  const res = await fetch(`${API}${path}`, { ...init, headers: { Accept: 'application/json', ...init?.headers } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(errorText(res.status, body));
  return body;
}

async function loadNumbers() {
  try {
    numbers = (await api('/Numbers')).numbers;
  } catch (e) {
    say(`Could not load the numbers: ${e.message}`);
    return;
  }
  els.number.replaceChildren(
    ...numbers.map((n) => {
      const option = document.createElement('option');
      option.value = n.address;
      option.textContent = n.friendly_name ? `${n.friendly_name} (${n.address}, ${n.type})` : `${n.address} (${n.type})`;
      return option;
    }),
  );
  if (numbers.length === 0) {
    const none = document.createElement('option');
    none.value = '';
    none.textContent = 'No numbers yet';
    els.number.append(none);
    say('This account has no SMS, WhatsApp or Messenger address yet: create one with '
      + 'POST /conversations/v1/Configuration/Addresses (Type=sms, Address=+15550001111, '
      + 'AutoCreation.Enabled=true), then reload.');
    els.send.disabled = true;
    return;
  }
  els.number.disabled = false;
  numberChanged();
}

function numberChanged() {
  const n = selectedNumber();
  els.whatsapp.checked = n?.type === 'whatsapp';
  els.whatsapp.disabled = n?.type === 'messenger';
  els.thread.number = n?.address ?? '';
  connect();
}

function phoneChanged() {
  // A typed `whatsapp:` prefix becomes the toggle.
  if (els.phone.value.trim().toLowerCase().startsWith('whatsapp:')) els.whatsapp.checked = true;
  els.phone.value = bare(els.phone.value) || DEFAULT_PHONE;
  connect();
}

async function loadHistory(address) {
  try {
    const page = await api(`/Messages?Phone=${encodeURIComponent(address)}`);
    if (address !== phone()) return;
    // Merged, not replaced: a live message may have arrived while the history loaded.
    els.thread.messages = page.messages.reduce(merge, els.thread.messages);
  } catch (e) {
    say(`Could not load the messages: ${e.message}`);
  }
}

/** (Re)opens the event stream of the current phone; its history loads once it is open. */
function connect() {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
  const address = phone();
  els.thread.messages = [];
  if (!selectedNumber()) return;
  if (!isCustomerAddress(address)) {
    say(`${address} is not an address a customer can text from.`);
    els.send.disabled = true;
    return;
  }
  els.send.disabled = false;
  say(`Connecting as ${address}…`);
  const es = new EventSource(`${API}/Stream?Phone=${encodeURIComponent(address)}`);
  source = es;
  es.addEventListener('open', () => {
    retries = 0;
    say(`Texting ${els.number.value} as ${address}.`);
    // Loaded after the stream opened, so nothing falls between the two.
    loadHistory(address);
  });
  es.addEventListener('message', (ev) => {
    try {
      els.thread.messages = merge(els.thread.messages, JSON.parse(ev.data));
    } catch {
      // Not one of our frames: ignore it.
    }
  });
  es.addEventListener('lagged', () => loadHistory(address));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an error answer): try again later, full-jitter backoff.
      retries += 1;
      const wait = Math.random() * Math.min(30000, 1000 * 2 ** retries);
      say('Disconnected; retrying…');
      retryTimer = setTimeout(connect, wait);
    } else {
      say('Reconnecting…');
    }
  });
}

async function send(event) {
  event.preventDefault();
  const text = els.body.value;
  if (!text.trim() || els.send.disabled) return;
  const from = phone();
  const to = els.number.value;
  els.send.disabled = true;
  try {
    const sent = await api('/Messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ From: from, To: to, Body: text }),
    });
    els.body.value = '';
    if (from === phone()) {
      els.thread.messages = merge(els.thread.messages, {
        sid: sent.sid,
        direction: 'inbound',
        from,
        to,
        body: text,
        media_urls: [],
        date_ms: Date.now(),
      });
    }
    say(sent.created ? `Sent; a new conversation started (${sent.conversation_sid}).` : 'Sent.');
  } catch (e) {
    say(`Not sent: ${e.message}`);
  } finally {
    els.send.disabled = false;
    els.body.focus();
  }
}

els.number.addEventListener('change', numberChanged);
els.phone.addEventListener('change', phoneChanged);
els.whatsapp.addEventListener('change', connect);
els.compose.addEventListener('submit', send);
document.getElementById('setup').addEventListener('submit', (e) => e.preventDefault());
els.body.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.compose.requestSubmit();
  }
});

loadNumbers();
