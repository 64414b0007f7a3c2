/**
 * The real `switchboard` binary for integration tests: boots it on 127.0.0.1:0 (or a given
 * port) with a temporary data directory, fixed account credentials and any extra `serve` flags
 * (`--demo` for the browser tests' demo logins), reads the address it prints, and talks to it
 * as a Twilio client does (Basic auth, form bodies, JSON answers).
 * Also mints access tokens the way Twilio's helper libraries do (HS256 over an API key's
 * secret), so no CLI round trip is needed.
 *
 * It lives outside test/ because `node --test test/` runs every .js file there as a test file.
 */

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The account the server is started with (`SWITCHBOARD_ACCOUNT_SID`). */
export const ACCOUNT = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
/** Its auth token (`SWITCHBOARD_AUTH_TOKEN`). */
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';

const here = path.dirname(fileURLToPath(import.meta.url));

/** `$SWITCHBOARD_BIN`, else the debug build next to web-client/. */
export function binaryPath() {
  return process.env.SWITCHBOARD_BIN ?? path.resolve(here, '../../target/debug/switchboard');
}

/**
 * Why the integration tests cannot run, or null when they can. A missing binary is only a
 * reason to skip when SWITCHBOARD_BIN was not set: the test script sets it, so there a missing
 * binary fails loudly instead.
 */
export function skipReason() {
  if (existsSync(binaryPath())) return null;
  if (process.env.SWITCHBOARD_BIN) throw new Error(`SWITCHBOARD_BIN=${binaryPath()} does not exist`);
  return `no server binary at ${binaryPath()} (cd .. && cargo build --bins)`;
}

/** Base64url without padding, as JWTs want it. */
function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

/**
 * An access token in Twilio's format: HS256 with `cty: twilio-fpa;v=1`, signed with the API
 * key's secret. `role` adds a TaskRouter grant ('agent', 'supervisor'); none makes a guest.
 */
export function mintToken({ key, identity, role, account = ACCOUNT, ttlSecs = 3600, secret = key.secret }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' };
  const grants = { identity, chat: {} };
  if (role) grants.task_router = { role };
  const payload = { jti: `${key.sid}-${now}`, iss: key.sid, sub: account, exp: now + ttlSecs, nbf: now, grants };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export class TestServer {
  /** `http://127.0.0.1:PORT` */
  origin = null;
  /** `ws://127.0.0.1:PORT/v1/ws` */
  wsUrl = null;
  #child = null;
  #dataDir;
  #ownsDataDir;
  #env;
  #args;
  #output = '';

  constructor(dataDir, ownsDataDir, env, args = []) {
    this.#dataDir = dataDir;
    this.#ownsDataDir = ownsDataDir;
    this.#env = env;
    this.#args = args;
  }

  /**
   * Boots a server and waits until it says where it listens.
   * @param {{env?: object, dataDir?: string, args?: string[]}} [options] extra environment
   *   (SWITCHBOARD__… overrides), a data directory to reuse, and extra `serve` flags such as
   *   `['--demo']` (kept for restart(); the demo seeding only creates what is missing)
   */
  static async spawn({ env = {}, dataDir, args = [] } = {}) {
    const owns = !dataDir;
    const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'switchboard-web-client-')));
    const server = new TestServer(dir, owns, {
      SWITCHBOARD_ACCOUNT_SID: ACCOUNT,
      SWITCHBOARD_AUTH_TOKEN: AUTH_TOKEN,
      SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND: '0',
      ...env,
    }, args);
    await server.#start('127.0.0.1:0');
    return server;
  }

  async #start(listen) {
    const child = spawn(binaryPath(), ['serve', '--listen', listen, '--data-dir', this.#dataDir, ...this.#args], {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...this.#env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    // Never outlive the test process, even one that dies before stop().
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    // Keep reading both pipes for the whole run (a full pipe would block the server), and
    // keep the tail for error messages.
    const keep = (chunk) => {
      this.#output = (this.#output + chunk).slice(-20000);
    };
    child.stderr.setEncoding('utf8').on('data', keep);
    child.stdout.setEncoding('utf8');
    const address = await new Promise((resolve, reject) => {
      let line = '';
      const timer = setTimeout(() => {
        reject(new Error(`switchboard did not say where it listens within 30 s:\n${this.#output}`));
      }, 30000);
      const onData = (chunk) => {
        keep(chunk);
        line += chunk;
        const m = line.match(/switchboard listening on http:\/\/(\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`switchboard exited (${code ?? signal}) before listening:\n${this.#output}`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    this.origin = `http://${address}`;
    this.wsUrl = `ws://${address}/v1/ws`;
  }

  /** The last lines the server printed (for assertion messages). */
  get output() {
    return this.#output;
  }

  /** Kills the process at once (SIGKILL: no draining, sockets just drop). */
  async kill() {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts the server again on the same address and data directory. */
  async restart() {
    await this.kill();
    const address = new URL(this.origin).host;
    await this.#start(address);
  }

  /** Stops the server and removes the data directory it made. */
  async stop() {
    await this.kill();
    if (this.#ownsDataDir) await rm(this.#dataDir, { recursive: true, force: true });
  }

  /**
   * A REST call with the account's Basic auth. `form` is sent form-encoded.
   * @returns {Promise<{status: number, body: any}>}
   */
  async rest(method, urlPath, form) {
    const headers = { Authorization: `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}` };
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(`${this.origin}${urlPath}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** A REST call that must answer `status`; returns the body. */
  async expect(status, method, urlPath, form) {
    const res = await this.rest(method, urlPath, form);
    if (res.status !== status) {
      throw new Error(`${method} ${urlPath}: expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** A new API key: `{sid, secret}`. */
  createKey(friendlyName = 'web-client tests') {
    return this.expect(201, 'POST', `/api/2010-04-01/Accounts/${ACCOUNT}/Keys.json`, { FriendlyName: friendlyName });
  }

  /** A new conversation's SID. */
  async createConversation(friendlyName = 'web-client test') {
    return (await this.expect(201, 'POST', '/conversations/v1/Conversations', { FriendlyName: friendlyName })).sid;
  }

  /** Adds a chat participant; returns the Participant. */
  addParticipant(conversationSid, identity) {
    return this.expect(201, 'POST', `/conversations/v1/Conversations/${conversationSid}/Participants`, {
      Identity: identity,
    });
  }

  /** Posts a message over REST; returns the Message. */
  postMessage(conversationSid, author, body) {
    return this.expect(201, 'POST', `/conversations/v1/Conversations/${conversationSid}/Messages`, {
      Author: author,
      Body: body,
    });
  }
}
