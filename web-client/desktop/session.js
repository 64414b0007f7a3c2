/**
 * The signed-in user of this tab: the sign-in answer kept in sessionStorage by /login, renewed
 * with `POST /switchboard/v1/SignIn/Refresh` before it expires, and the one `Connection` to the
 * gateway, which asks here for a fresh token before each reconnect and on `token_expiring`.
 * REST calls go out with the same token in `X-Twilio-Token` (the routes a desktop token
 * opens); a refused refresh sends the user back to /login.
 */

import { Connection } from '../sdk/connection.js';
import { needsRenewal } from './model.js';

export const STORAGE_KEY = 'switchboard.session';

/** The stored sign-in answer, or null. */
export function storedSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

/** An error from a REST call, in Twilio's shape. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

export class DesktopSession {
  #session;
  #renewing = null;
  #timer = null;
  onSignedOut = () => {};

  constructor(session) {
    this.#session = session;
    this.connection = new Connection({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`,
      tokenProvider: () => this.token(),
    });
    this.#schedule();
  }

  get identity() {
    return this.#session.identity;
  }
  get role() {
    return this.#session.role;
  }
  get name() {
    return this.#session.friendly_name || this.#session.identity;
  }
  get workerSid() {
    return this.#session.worker_sid;
  }
  get workspaceSid() {
    return this.#session.workspace_sid;
  }
  get serviceSid() {
    return this.connection.session?.chat_service_sid;
  }

  /** A token with some life left, renewed first when it is close to expiry. */
  async token() {
    if (needsRenewal(this.#session.expires_at, Date.now())) await this.renew();
    return this.#session.token;
  }

  /** Trades the token for a fresh one (one request at a time). */
  renew() {
    this.#renewing ??= (async () => {
      try {
        const resp = await fetch('/switchboard/v1/SignIn/Refresh', {
          method: 'POST',
          headers: { Authorization: `Bearer ${this.#session.token}` },
        });
        const body = await resp.json().catch(() => ({}));
        if (resp.status === 401) {
          this.signOut();
          throw new ApiError(resp.status, body);
        }
        if (!resp.ok) throw new ApiError(resp.status, body);
        this.#session = body;
        sessionStorage.setItem(STORAGE_KEY, JSON.stringify(body));
        this.#schedule();
      } finally {
        this.#renewing = null;
      }
    })();
    return this.#renewing;
  }

  /** Renews in the background five minutes before expiry, and tells the open socket. */
  #schedule() {
    clearTimeout(this.#timer);
    const due = Date.parse(this.#session.expires_at) - Date.now() - 5 * 60 * 1000;
    this.#timer = setTimeout(async () => {
      try {
        await this.renew();
        if (this.connection.state === 'connected') {
          await this.connection.request('renew', { token: this.#session.token });
        }
      } catch {
        // The connection asks again before its next reconnect.
      }
    }, Math.max(1000, due));
  }

  /**
   * A REST call with the user's token. `form` is sent form-encoded, `json` as JSON.
   * Resolves with the parsed answer; rejects with an ApiError.
   */
  async api(method, path, { form, json } = {}) {
    const headers = { 'X-Twilio-Token': await this.token() };
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    } else if (json) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const resp = await fetch(path, { method, headers, body });
    const answer = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new ApiError(resp.status, answer);
    return answer;
  }

  signOut() {
    clearTimeout(this.#timer);
    sessionStorage.removeItem(STORAGE_KEY);
    this.connection.close();
    this.onSignedOut();
  }
}
