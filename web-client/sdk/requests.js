/**
 * Commands in flight: each gets an id, its `reply` or `error` frame is matched back to it by
 * that id, it fails after a timeout, and when its socket drops it either fails or — when it is
 * safe to repeat — waits to be written again on the next socket. `RequestError` is how a
 * command fails. No sockets are owned here: `Connection` says which socket to write on.
 */

const noop = () => {};

/**
 * Why a command failed. `code` is the server's numeric error code (20403, 20404, …) with
 * `status` its HTTP status when the server refused it; `'timeout'` when no answer came in
 * time; `'disconnected'` when the connection ended first (`closeCode` then says how);
 * `'frame_too_large'` when it was too large to send at all.
 * `clientMessageId` is set for `send`, so the caller can retry it without a duplicate.
 */
export class RequestError extends Error {
  /**
   * @param {string} message
   * @param {{code: number | string, status?: number, command?: string, closeCode?: number,
   *   frame?: object, clientMessageId?: string}} details
   */
  constructor(message, { code, status, command, closeCode, frame, clientMessageId } = {}) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.status = status;
    this.command = command;
    this.closeCode = closeCode;
    this.frame = frame;
    this.clientMessageId = clientMessageId;
  }
}

/**
 * One command.
 * @typedef {object} Entry
 * @property {number} id
 * @property {string} type
 * @property {object} frame what goes on the wire
 * @property {object | null} sentOn the socket it was last written on; null while it waits
 * @property {boolean} retry written again on the next socket when its socket drops
 * @property {boolean} internal made by the connection itself (hello, heartbeat, re-monitor)
 * @property {(result: object) => void} [onResult] runs as the reply is read, before later
 *   frames (a promise callback would run only after the rest of the chunk was read)
 * @property {(error: RequestError) => void} [onError] likewise for an `error` frame
 * @property {() => void} [onTimeout]
 */

export class Requests {
  #timeoutMs;
  #nextId = 1;
  /** id → Entry, in the order they were made (so waiting ones go out oldest first). */
  #entries = new Map();

  /** @param {number} timeoutMs how long a command waits for its answer */
  constructor(timeoutMs) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Makes a command. Its timer starts now; it is restarted each time the command is written.
   * @returns {{entry: Entry, promise: Promise<object>}}
   */
  add(type, fields, { retry = false, internal = false, onResult, onError, onTimeout } = {}) {
    const id = this.#nextId++;
    const entry = { id, type, frame: { ...fields, type, id }, sentOn: null, retry, internal, onResult, onError, onTimeout };
    const promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    // Internal commands often have nobody awaiting them: callbacks handle how they end.
    if (internal) promise.catch(noop);
    this.#entries.set(id, entry);
    this.#arm(entry);
    return { entry, promise };
  }

  /** Writes a command on `socket`, and gives it a full timeout from now. */
  write(entry, socket) {
    entry.sentOn = socket;
    this.#arm(entry);
    try {
      socket.send(JSON.stringify(entry.frame));
    } catch {
      // The socket is closing; its close event decides what happens to this command.
    }
  }

  /** Writes every command made by the application that waits for a socket, oldest first. */
  flush(socket) {
    for (const entry of this.#entries.values()) {
      if (entry.sentOn === null && !entry.internal) this.write(entry, socket);
    }
  }

  /**
   * Settles the command a `reply` or `error` frame answers, when it was written on `socket`;
   * an answer to a command of an earlier socket, or to one that timed out, is dropped.
   * @returns {boolean} whether a command was waiting for it
   */
  settle(frame, socket) {
    const entry = this.#entries.get(frame.id);
    if (!entry || entry.sentOn !== socket) return false;
    this.#remove(entry);
    if (frame.type === 'error') {
      const e = frame.error ?? {};
      const error = new RequestError(e.message ?? `${entry.type} refused`, {
        code: e.code,
        status: e.status,
        command: entry.type,
        frame,
        clientMessageId: entry.frame.client_message_id,
      });
      entry.onError?.(error);
      entry.reject(error);
    } else {
      const result = frame.result ?? {};
      entry.onResult?.(result);
      entry.resolve(result);
    }
    return true;
  }

  /**
   * `socket` is gone. Its commands that may be repeated wait for the next socket when
   * `keepRetries` (their timers keep running); the others fail with `error(entry)`.
   */
  dropSocket(socket, keepRetries, error) {
    for (const entry of [...this.#entries.values()]) {
      if (entry.sentOn !== socket) continue;
      if (keepRetries && entry.retry) {
        entry.sentOn = null;
      } else {
        this.#remove(entry);
        entry.reject(error(entry));
      }
    }
  }

  /** Every command fails with `error(entry)`. */
  failAll(error) {
    for (const entry of [...this.#entries.values()]) {
      this.#remove(entry);
      entry.reject(error(entry));
    }
  }

  #remove(entry) {
    clearTimeout(entry.timer);
    this.#entries.delete(entry.id);
  }

  #arm(entry) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (this.#entries.get(entry.id) !== entry) return;
      this.#remove(entry);
      entry.reject(
        new RequestError(`no answer to ${entry.type} within ${this.#timeoutMs} ms`, {
          code: 'timeout',
          command: entry.type,
          clientMessageId: entry.frame.client_message_id,
        }),
      );
      entry.onTimeout?.();
    }, this.#timeoutMs);
  }
}
