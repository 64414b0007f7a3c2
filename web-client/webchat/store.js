/**
 * Where the widget remembers its chat across reloads and tabs: one record per deployment key
 * under `switchboard.webchat.<AddressSid>` in `localStorage` (model.js `chatRecord` says what
 * it holds). Storage that is missing, full or refused (sandboxed frames, some privacy modes)
 * only means the chat does not survive a reload: nothing here throws.
 */

import { parseRecord, storageKey } from './model.js';

export class ChatStore {
  #storage;
  #key;

  /**
   * @param {Storage | null} storage usually `localStorage`
   * @param {string} addressSid the chat address (IG…)
   */
  constructor(storage, addressSid) {
    this.#storage = storage;
    this.#key = storageKey(addressSid);
  }

  /** The stored record, or null when there is none (or it is not one of ours). */
  load() {
    try {
      return parseRecord(this.#storage?.getItem(this.#key) ?? null);
    } catch {
      return null;
    }
  }

  /** Keeps `record` (from `chatRecord`). */
  save(record) {
    try {
      this.#storage?.setItem(this.#key, JSON.stringify(record));
    } catch {
      // Full or refused: see the module doc.
    }
  }

  /** Forgets the chat. */
  clear() {
    try {
      this.#storage?.removeItem(this.#key);
    } catch {
      // As above.
    }
  }
}
