/**
 * The simulator page's pure part: customer addresses, which messages make a thread, and their
 * order. No DOM and no network here, so `node --test` covers it.
 */

/** The customer address the page plays by default. */
export const DEFAULT_PHONE = '+15557654321';

const PREFIXES = ['whatsapp:', 'messenger:'];

/**
 * A customer address without its channel prefix (`whatsapp:+1555…` → `+1555…`).
 * @param {string} address
 */
export function bare(address) {
  const trimmed = String(address ?? '').trim();
  const prefix = PREFIXES.find((p) => trimmed.toLowerCase().startsWith(p));
  return prefix ? trimmed.slice(prefix.length) : trimmed;
}

/**
 * The address the customer texts from on `channel` (`sms`, `whatsapp`, `messenger`).
 * @param {string} raw what was typed, with or without a prefix
 * @param {string} channel
 */
export function customerAddress(raw, channel) {
  const b = bare(raw);
  if (channel === 'whatsapp') return `whatsapp:${b}`;
  if (channel === 'messenger') return `messenger:${b}`;
  return b;
}

/**
 * Whether the server will take `address` as a customer address (the same rule as a messaging
 * binding: E.164, `whatsapp:` + E.164, or `messenger:` + letters and digits).
 * @param {string} address
 */
export function isCustomerAddress(address) {
  const e164 = (s) => /^\+[0-9]{4,15}$/.test(s);
  if (address.startsWith('whatsapp:')) return e164(address.slice('whatsapp:'.length));
  if (address.startsWith('messenger:')) return /^[A-Za-z0-9]+$/.test(address.slice('messenger:'.length));
  return e164(address);
}

/**
 * The channel a customer uses to text `number` (one of `/simulator/v1/Numbers`).
 * @param {{type: string} | undefined} number
 * @param {boolean} whatsapp the WhatsApp toggle
 */
export function channelFor(number, whatsapp) {
  if (number?.type === 'messenger') return 'messenger';
  return whatsapp ? 'whatsapp' : 'sms';
}

/**
 * Whether `msg` is part of the thread with our address `number`.
 * @param {{direction: string, from: string, to: string}} msg
 * @param {string} number
 */
export function inThread(msg, number) {
  return msg.direction === 'inbound' ? msg.to === number : msg.from === number;
}

/**
 * `list` with `msg` added once (messages are known by `sid`), oldest first.
 * @template {{sid: string, date_ms: number}} M
 * @param {M[]} list
 * @param {M} msg
 * @returns {M[]}
 */
export function merge(list, msg) {
  if (list.some((m) => m.sid === msg.sid)) return list;
  const out = [...list, msg];
  // Stable: messages of the same millisecond keep their arrival order.
  return out
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.date_ms - b.m.date_ms || a.i - b.i)
    .map(({ m }) => m);
}

/**
 * A link target that is safe to put in `href`: http(s) only.
 * @param {string} url
 * @param {string} base the page's URL
 */
export function safeUrl(url, base) {
  try {
    const u = new URL(url, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * The text of an error answer (a Twilio error body, or the bare status).
 * @param {number} status
 * @param {unknown} body
 */
export function errorText(status, body) {
  const message = body && typeof body === 'object' && 'message' in body ? body.message : null;
  return typeof message === 'string' && message ? message : `The server answered ${status}.`;
}
