/**
 * The widget's message list: turns the timeline (model.js `timeline`) into `<li>` elements of
 * a `role="log"` list, keyed so that an update only adds, changes or moves what changed (a
 * screen reader then announces only the new messages). Message bodies go through
 * `renderRichText`; names, times, file names and notices through `textContent`. Media are
 * previewed as images or offered as download links, from signed links asked for on demand.
 */

import { renderRichText, safeHref } from '../chat/richtext.js';
import { formatSize, isImage } from '../chat/media.js';
import { authorName } from './model.js';

/** log element → its rows by key: `{el, data, nameKey}`. */
const rowsOf = new WeakMap();

/**
 * Brings `log` up to date with `items`.
 * @param {HTMLElement} log the `<ol role="log">`
 * @param {ReturnType<import('./model.js').timeline>} items
 * @param {object} context
 * @param {{identity: string, friendly_name?: string}} context.guest
 * @param {Map<string, object>} context.participants
 * @param {number | null} context.seenIndex the customer message to mark "Seen"
 * @param {(sid: string, options?: {fresh?: boolean}) => Promise<string>} context.mediaLink
 */
export function renderMessages(log, items, context) {
  const doc = log.ownerDocument;
  let known = rowsOf.get(log);
  if (!known) rowsOf.set(log, (known = new Map()));
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  const wanted = new Set();
  let cursor = log.firstElementChild;
  for (const item of items) {
    const key = keyOf(item);
    wanted.add(key);
    const data = item.kind === 'message' ? item.message : item.notice;
    const nameKey = item.kind === 'message' ? authorName(data, context.guest, context.participants) : '';
    let row = known.get(key);
    if (!row || row.data !== data || row.nameKey !== nameKey) {
      const el = item.kind === 'message' ? messageRow(doc, data, nameKey, context) : noticeRow(doc, data);
      if (row) {
        if (cursor === row.el) cursor = el;
        row.el.replaceWith(el);
      }
      row = { el, data, nameKey };
      known.set(key, row);
    }
    if (item.kind === 'message') setSeen(row.el, data.index === context.seenIndex);
    if (row.el !== cursor) log.insertBefore(row.el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [key, row] of known) {
    if (!wanted.has(key)) {
      row.el.remove();
      known.delete(key);
    }
  }
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function keyOf(item) {
  if (item.kind === 'notice') return `n:${item.notice.at}:${item.notice.kind}:${item.notice.participant_sid}`;
  const m = item.message;
  return typeof m.index === 'number' ? `m:${m.index}` : `p:${m.client_message_id}`;
}

function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function noticeRow(doc, notice) {
  return el(doc, 'li', 'notice', notice.text);
}

function messageRow(doc, message, name, context) {
  const mine = message.author === context.guest.identity;
  const row = el(doc, 'li', `msg ${mine ? 'msg--mine' : 'msg--theirs'}`);
  if (message.pending) row.classList.add('msg--pending');
  if (message.error) row.classList.add('msg--failed');

  const meta = el(doc, 'p', 'msg__meta');
  meta.append(el(doc, 'span', 'msg__author', name));
  const when = new Date(message.date_created);
  if (!Number.isNaN(when.getTime())) {
    const time = el(doc, 'time', 'msg__time', when.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }));
    time.setAttribute('datetime', when.toISOString());
    meta.append(' ', time);
  }
  row.append(meta);

  if (message.body) {
    const body = el(doc, 'div', 'msg__body');
    body.append(renderRichText(message.body, doc));
    row.append(body);
  }
  if (Array.isArray(message.media) && message.media.length > 0) {
    const list = el(doc, 'ul', 'msg__media');
    for (const media of message.media) list.append(mediaItem(doc, media, message.pending, context));
    row.append(list);
  }
  const status = el(doc, 'p', 'msg__status');
  if (message.error) status.textContent = message.error;
  else if (message.pending) status.textContent = 'Sending…';
  else status.hidden = true;
  row.append(status);
  return row;
}

/** Shows "Seen" under a customer message (only one at a time has it). */
function setSeen(row, seen) {
  if (!row.classList.contains('msg--mine') || row.classList.contains('msg--pending')) return;
  const status = row.querySelector('.msg__status');
  if (!status) return;
  status.hidden = !seen;
  status.textContent = seen ? 'Seen' : '';
}

/** A picture inline, or a download link with the file's name and size. */
function mediaItem(doc, media, pending, context) {
  const item = el(doc, 'li', 'media');
  const name = media.filename || (isImage(media.content_type) ? 'Image' : 'File');
  const label = media.size !== undefined && media.size !== null ? `${name} (${formatSize(media.size)})` : name;
  if (pending || !media.sid) {
    item.append(el(doc, 'span', 'media__file', label));
    return item;
  }
  const link = el(doc, 'a', 'media__file');
  link.setAttribute('rel', 'noopener noreferrer');
  link.setAttribute('target', '_blank');
  link.setAttribute('download', name);
  if (isImage(media.content_type)) {
    const img = el(doc, 'img', 'media__image');
    img.setAttribute('alt', name);
    img.setAttribute('loading', 'lazy');
    link.append(img);
    let retried = false;
    img.addEventListener('error', () => {
      // The signed link may have expired: ask for a fresh one, once.
      if (retried) return;
      retried = true;
      attachLink(context.mediaLink(media.sid, { fresh: true }), link, img);
    });
    attachLink(context.mediaLink(media.sid), link, img);
  } else {
    link.textContent = label;
    attachLink(context.mediaLink(media.sid), link, null);
  }
  item.append(link);
  return item;
}

function attachLink(promise, link, img) {
  promise.then(
    (url) => {
      const href = safeHref(url);
      if (!href) return;
      link.setAttribute('href', href);
      if (img) img.setAttribute('src', href);
    },
    () => link.classList.add('media__file--unavailable'),
  );
}
