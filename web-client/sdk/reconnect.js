/**
 * When, and how soon, a Switchboard client reconnects: the close-code policy of
 * docs/protocol.md §4 and full-jitter exponential backoff. Pure functions with no timers or
 * sockets, so `Connection` stays small and these are tested on their own.
 */

/**
 * What to do after the socket closed with `code`:
 * - `'reconnect'`: back off, reconnect and resume (4000–4499 except 4004; 1001 going away;
 *   1005/1006 closed without a close frame or status — network loss, server crash; 1011–1014
 *   server error, restart, try again later, bad gateway).
 * - `'renew'`: 4004, the token expired during the session: get a new token, then reconnect.
 * - `'stop'`: 4500–4999 (protocol violation, bad token, frame too large, no hello), 1000 (the
 *   server ended the session normally) and the other 1xxx codes, which say the client itself
 *   did something a retry would repeat.
 * @param {number} code
 * @returns {'reconnect' | 'renew' | 'stop'}
 */
export function closeAction(code) {
  if (code === 4004) return 'renew';
  if (code >= 4000 && code <= 4499) return 'reconnect';
  if (code >= 4500 && code <= 4999) return 'stop';
  switch (code) {
    case 1001:
    case 1005:
    case 1006:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return 'reconnect';
    default:
      return 'stop';
  }
}

/** Backoff settings used when a `Connection` is given none. */
export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 250, maxMs: 30000 });

/**
 * The delay before reconnect attempt number `attempt` (0 for the first after a drop), "full
 * jitter": uniform in [0, min(maxMs, baseMs · 2^attempt)). Spreading every client over the
 * whole window is what keeps a server restart from being answered by all of them at once.
 * @param {number} attempt
 * @param {{baseMs?: number, maxMs?: number}} [backoff]
 * @param {() => number} [random] uniform in [0, 1), `Math.random` by default
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, backoff = DEFAULT_BACKOFF, random = Math.random) {
  return random() * backoffCeiling(attempt, backoff);
}

/**
 * The upper bound of {@link backoffDelay} for `attempt`: min(maxMs, baseMs · 2^attempt).
 * @param {number} attempt
 * @param {{baseMs?: number, maxMs?: number}} [backoff]
 * @returns {number}
 */
export function backoffCeiling(attempt, backoff = DEFAULT_BACKOFF) {
  const baseMs = backoff.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = backoff.maxMs ?? DEFAULT_BACKOFF.maxMs;
  // 2 ** 1100 is Infinity, and min() caps it; no overflow to guard against.
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}
