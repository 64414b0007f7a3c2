/**
 * The webchat widget's two HTTP calls: `POST /switchboard/v1/Webchat/Start` (a guest chat from
 * the pre-engagement form, no credentials) and `POST /switchboard/v1/Webchat/Refresh` (a fresh
 * guest token for as long as the guest is still in its conversation). Errors come as Twilio's
 * `{code, message, more_info, status}` and are thrown as `WebchatError`. `fetch` is a
 * parameter, so tests can drive these without a server.
 */

/** A refused Start or Refresh (or one that never reached the server). */
export class WebchatError extends Error {
  /**
   * @param {string} message fit to show to the customer
   * @param {{status?: number, code?: number}} details `status` is 0 when the server was not reached
   */
  constructor(message, { status = 0, code } = {}) {
    super(message);
    this.name = 'WebchatError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Starts a chat. Resolves with `{token, identity, conversation_sid, chat_service_sid,
 * account_sid, expires_at, friendly_name}`.
 * @param {string} origin
 * @param {URLSearchParams} body from `startBody` (model.js)
 * @param {typeof fetch} [fetch]
 */
export function startChat(origin, body, fetch = globalThis.fetch) {
  return call(fetch, `${origin}/switchboard/v1/Webchat/Start`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
}

/**
 * Renews a guest token. Resolves with the Start answer plus `conversation_state`; a
 * `WebchatError` with `status` 401 means the chat is over for this guest (forget it).
 * @param {string} origin
 * @param {string} token the current (possibly expired) guest token
 * @param {typeof fetch} [fetch]
 */
export function refreshChat(origin, token, fetch = globalThis.fetch) {
  return call(fetch, `${origin}/switchboard/v1/Webchat/Refresh`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
}

async function call(fetch, url, init) {
  let response;
  try {
    // No cookies: the guest token is the only credential, and the page may be elsewhere.
    response = await fetch(url, { ...init, credentials: 'omit' });
  } catch {
    throw new WebchatError('We could not reach the chat service. Please check your connection and try again.');
  }
  const body = await response.json().catch(() => null);
  if (response.ok && body && typeof body === 'object') return body;
  const message = typeof body?.message === 'string' && body.message ? body.message : 'The chat service is unavailable right now. Please try again later.';
  throw new WebchatError(message, { status: response.status, code: body?.code });
}
