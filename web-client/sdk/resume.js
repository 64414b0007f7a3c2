/**
 * What a client must remember to resume without gaps or repeats (docs/protocol.md §3): per
 * conversation, the highest message index delivered to the application; which conversations
 * the identity takes part in (resumed through `hello.resume`) and which the session monitors
 * (resumed through `monitor.after_index`). Fed with the frames `Connection` reads; no sockets
 * or timers, so it is tested on its own.
 *
 * Only `message_added` events move an index. A `send` reply does not: its index can be ahead
 * of another author's message still on its way to us, and recording it would make that
 * message look like a duplicate and drop it. The session's own message arrives as a
 * `message_added` like everyone else's, and that moves the index.
 *
 * A conversation the client knew while it had no message (no index yet) cannot be put in
 * `hello.resume` or `monitor.after_index`: both take the index of a message seen, and the
 * server resumes nothing without one. When the server then reports messages in it, they were
 * missed: `onSession` names those conversations so `Connection` fetches them with `history`
 * (a "backfill") before it lets their live events through.
 */

export class ResumeState {
  /** conversation SID → highest message index delivered to the application */
  #highest = new Map();
  /** conversations the identity is a participant of */
  #participating = new Set();
  /** conversations this session monitors */
  #monitored = new Set();
  /** `message_added` events dropped because they were delivered already */
  duplicatesDropped = 0;

  /** The highest message index delivered for a conversation, or undefined. */
  lastIndex(conversationSid) {
    return this.#highest.get(conversationSid);
  }

  /** Conversations this session monitors. */
  get monitored() {
    return [...this.#monitored];
  }

  /**
   * `hello.resume`: for each conversation the identity takes part in, the last index
   * delivered. (Monitored ones are resumed through `monitor.after_index`.)
   */
  resumeMap() {
    const resume = {};
    for (const sid of this.#participating) {
      const index = this.#highest.get(sid);
      if (index !== undefined) resume[sid] = index;
    }
    return resume;
  }

  /**
   * A `message_added` event: true when it is new (its index is recorded), false when a message
   * with this index or a later one was delivered already.
   */
  admit(conversationSid, index) {
    if (!conversationSid || typeof index !== 'number') return true;
    const seen = this.#highest.get(conversationSid);
    if (seen !== undefined && index <= seen) {
      this.duplicatesDropped++;
      return false;
    }
    this.#highest.set(conversationSid, index);
    return true;
  }

  /**
   * The `Session` of a `hello` reply: the conversations it lists are the identity's now (new
   * ones are live from their last message on), and the ones it no longer lists were left
   * while the client was away.
   * @returns {{sid: string, last: number}[]} conversations known without an index that now
   *   have messages: messages up to `last` were missed and must be backfilled
   */
  onSession(session) {
    const listed = new Set();
    const backfill = [];
    for (const summary of session?.conversations ?? []) {
      const sid = summary?.conversation?.sid;
      if (!sid) continue;
      listed.add(sid);
      const last = summary.last_message_index;
      if (this.#participating.has(sid) && !this.#highest.has(sid) && typeof last === 'number') {
        backfill.push({ sid, last });
        continue;
      }
      if (summary.participant) this.#participating.add(sid);
      this.startAt(sid, last);
    }
    for (const sid of [...this.#participating]) {
      if (!listed.has(sid)) this.#leave(sid);
    }
    return backfill;
  }

  /** Membership events: `conversation_joined`, `conversation_left`, `conversation_removed`. */
  onEvent(frame) {
    const sid = frame.conversation_sid ?? frame.data?.conversation?.sid;
    if (!sid) return;
    switch (frame.event) {
      case 'conversation_joined':
        this.#participating.add(sid);
        this.startAt(sid, frame.data?.last_message_index);
        break;
      case 'conversation_left':
        this.#leave(sid);
        break;
      case 'conversation_removed':
        this.#monitored.delete(sid);
        this.#leave(sid);
        break;
      default:
        break;
    }
  }

  /** A command succeeded: `monitor`, `unmonitor`, `join` and `leave` change what is tracked. */
  onCommand(command, result) {
    const sid = command.conversation_sid;
    switch (command.type) {
      case 'monitor':
        this.#monitored.add(sid);
        // With after_index the client has seen up to there (the replay moves it on); without
        // it, live from the conversation's last message.
        this.startAt(sid, command.after_index ?? result?.last_message_index);
        break;
      case 'unmonitor':
        this.unmonitor(sid);
        break;
      case 'join':
        this.#participating.add(sid);
        break;
      case 'leave':
        this.#leave(sid);
        break;
      default:
        break;
    }
  }

  /** No longer monitored (also when a re-monitor after a reconnect is refused). */
  unmonitor(sid) {
    this.#monitored.delete(sid);
    this.#forgetIfUnused(sid);
  }

  /**
   * A conversation seen for the first time is live from its last message on. An index already
   * known is never moved: that would skip messages a resume is about to deliver.
   */
  startAt(sid, lastMessageIndex) {
    if (!sid || this.#highest.has(sid)) return;
    if (typeof lastMessageIndex === 'number') this.#highest.set(sid, lastMessageIndex);
  }

  /** Everything up to `index` has been delivered (after a backfill). Never moves back. */
  advance(sid, index) {
    const seen = this.#highest.get(sid);
    if (typeof index === 'number' && (seen === undefined || index > seen)) this.#highest.set(sid, index);
  }

  #leave(sid) {
    this.#participating.delete(sid);
    this.#forgetIfUnused(sid);
  }

  #forgetIfUnused(sid) {
    if (!this.#participating.has(sid) && !this.#monitored.has(sid)) this.#highest.delete(sid);
  }
}
