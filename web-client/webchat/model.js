/**
 * The webchat widget's pure part: the stored chat record, the pre-engagement form's checks,
 * the message list (merged by index, without duplicates, with the customer's own messages
 * shown while they are on their way), who the agents are and what to call them, "Seen", the
 * joined/left notices and typing expiry. No DOM, no network and no clock of its own (`now` is
 * always a parameter), so `node --test` covers it.
 */

/** The `localStorage` key of the chat started with a deployment key (AddressSid). */
export function storageKey(addressSid) {
  return `switchboard.webchat.${addressSid}`;
}

const RECORD_FIELDS = ['token', 'identity', 'conversation_sid', 'chat_service_sid', 'expires_at'];

/**
 * The record kept across reloads, from a Start or Refresh answer (other fields dropped), plus
 * whether the panel is open.
 * @param {object} answer
 * @param {boolean} [open]
 */
export function chatRecord(answer, open = true) {
  const record = {};
  for (const field of RECORD_FIELDS) record[field] = answer?.[field];
  record.friendly_name = typeof answer?.friendly_name === 'string' ? answer.friendly_name : '';
  record.open = Boolean(open);
  return record;
}

/**
 * A stored record read back, or null when it is missing or not one of ours (a page may have
 * written anything under the key).
 * @param {string | null} text
 */
export function parseRecord(text) {
  if (!text) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const valid = RECORD_FIELDS.every((f) => typeof value[f] === 'string' && value[f] !== '');
  return valid ? chatRecord(value, value.open) : null;
}

/**
 * Whether the record's token is expired, or will be within `skewMs` (clocks differ).
 * @param {{expires_at: string}} record
 * @param {number} now ms since the epoch
 */
export function isExpired(record, now, skewMs = 30000) {
  const at = Date.parse(record?.expires_at);
  return !Number.isFinite(at) || at - skewMs <= now;
}

/** Longest customer name the server takes. */
export const NAME_MAX = 64;
/** Longest first question the widget sends. */
export const QUESTION_MAX = 1600;

/**
 * Checks the pre-engagement form. `errors` maps a field (`name`, `email`, `question`) to a
 * message fit to show next to it; empty when the form may be sent.
 * @param {{name?: string, email?: string, question?: string}} form
 * @returns {{values: {name: string, email: string, question: string}, errors: object}}
 */
export function checkForm(form) {
  const values = {
    name: String(form?.name ?? '').trim(),
    email: String(form?.email ?? '').trim(),
    question: String(form?.question ?? '').trim(),
  };
  const errors = {};
  if (!values.name) errors.name = 'Please enter your name.';
  else if ([...values.name].length > NAME_MAX) errors.name = `Your name can be at most ${NAME_MAX} characters.`;
  if (values.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) {
    errors.email = 'Please enter a valid email address, or leave it empty.';
  }
  if ([...values.question].length > QUESTION_MAX) {
    errors.question = `Your question can be at most ${QUESTION_MAX} characters.`;
  }
  return { values, errors };
}

/**
 * The form-urlencoded body of `POST /switchboard/v1/Webchat/Start`.
 * @param {string} addressSid
 * @param {{name: string, email: string, question: string}} values checked by `checkForm`
 * @param {object} [preEngagementData] extra context from the page (sent as JSON text)
 */
export function startBody(addressSid, values, preEngagementData) {
  const body = new URLSearchParams({ AddressSid: addressSid, FriendlyName: values.name });
  if (values.email) body.set('Email', values.email);
  if (values.question) body.set('Question', values.question);
  if (preEngagementData && typeof preEngagementData === 'object') {
    body.set('PreEngagementData', JSON.stringify(preEngagementData));
  }
  return body;
}

// --- messages -----------------------------------------------------------------------------

/**
 * `list` with `incoming` messages merged in: one entry per index, ascending (a later copy of
 * an index replaces the earlier, as an edit does; an identical copy keeps the earlier object),
 * and a pending message dropped once the server's copy (same `client_message_id`) is in.
 * Pending entries have no index and stay last.
 * @param {object[]} list
 * @param {object[]} incoming
 * @returns {object[]}
 */
export function mergeMessages(list, incoming) {
  const byIndex = new Map();
  const pending = [];
  for (const m of [...list, ...incoming]) {
    if (typeof m?.index === 'number') {
      // The same version again (an event and a send reply): keep the object already shown.
      const known = byIndex.get(m.index);
      if (!known || !sameVersion(known, m)) byIndex.set(m.index, m);
    } else if (m?.pending) pending.push(m);
  }
  const sent = new Set([...byIndex.values()].map((m) => m.client_message_id).filter(Boolean));
  const stored = [...byIndex.values()].sort((a, b) => a.index - b.index);
  return [...stored, ...pending.filter((p) => !sent.has(p.client_message_id))];
}

function sameVersion(a, b) {
  return a.sid === b.sid && a.date_updated === b.date_updated && a.body === b.body && a.attributes === b.attributes;
}

/** `list` without the message at `index` (a `message_removed`). */
export function removeMessage(list, index) {
  return list.filter((m) => m.index !== index);
}

/**
 * A message of the customer's that the server has not confirmed yet.
 * @param {{body: string, clientMessageId: string, identity: string, media?: object[]}} draft
 * @param {number} now
 */
export function pendingMessage({ body, clientMessageId, identity, media = null }, now) {
  return {
    pending: true,
    client_message_id: clientMessageId,
    author: identity,
    body,
    media,
    date_created: new Date(now).toISOString(),
  };
}

/** `list` with the pending message `clientMessageId` marked failed with `error` (text). */
export function failPending(list, clientMessageId, error) {
  return list.map((m) => (m.pending && m.client_message_id === clientMessageId ? { ...m, error } : m));
}

/** The newest message index in the list, or null. */
export function newestIndex(list) {
  let newest = null;
  for (const m of list) if (typeof m.index === 'number' && (newest === null || m.index > newest)) newest = m.index;
  return newest;
}

// --- participants -------------------------------------------------------------------------

/** A participant's `attributes` (JSON text, or an object) as an object; `{}` when unreadable. */
export function attributesOf(participant) {
  const a = participant?.attributes;
  if (a && typeof a === 'object') return a;
  try {
    const parsed = JSON.parse(a ?? '{}');
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** Whether `participant` is an agent: a chat identity other than the guest's. */
export function isAgent(participant, guestIdentity) {
  return Boolean(participant?.identity) && participant.identity !== guestIdentity;
}

/** What the customer calls an agent: its `friendlyName` attribute, else "Agent". */
export function agentName(participant) {
  const name = attributesOf(participant).friendlyName;
  return typeof name === 'string' && name.trim() ? name.trim() : 'Agent';
}

/**
 * Participants by SID after a `participants` answer or a `participant_*` event.
 * @param {Map<string, object>} map
 * @param {string} event `participant_added`, `participant_updated` or `participant_removed`
 * @param {object} participant
 * @returns {Map<string, object>} a new map
 */
export function applyParticipant(map, event, participant) {
  const next = new Map(map);
  if (!participant?.sid) return next;
  if (event === 'participant_removed') next.delete(participant.sid);
  else next.set(participant.sid, { ...next.get(participant.sid), ...participant });
  return next;
}

/** Participants by SID from a list. */
export function participantMap(list) {
  return new Map((list ?? []).filter((p) => p?.sid).map((p) => [p.sid, p]));
}

/**
 * The notice a participant event makes for the customer ("Ann joined the chat"), or null:
 * only agents joining or leaving are told.
 * @param {string} event
 * @param {object} participant
 * @param {string} guestIdentity
 * @returns {{kind: 'joined' | 'left', text: string, participant_sid: string} | null}
 */
export function participantNotice(event, participant, guestIdentity) {
  if (!isAgent(participant, guestIdentity)) return null;
  const name = agentName(participant);
  if (event === 'participant_added') return { kind: 'joined', text: `${name} joined the chat`, participant_sid: participant.sid };
  if (event === 'participant_removed') return { kind: 'left', text: `${name} left the chat`, participant_sid: participant.sid };
  return null;
}

/**
 * The name shown on a message: the customer's own name for theirs, the agent's name (from
 * the participants, by SID then identity) for the others.
 * @param {object} message
 * @param {{identity: string, friendly_name?: string}} guest
 * @param {Map<string, object>} participants
 */
export function authorName(message, guest, participants) {
  if (message.author === guest.identity) return guest.friendly_name || 'You';
  const byParticipant = message.participant_sid && participants.get(message.participant_sid);
  const agent = byParticipant || [...participants.values()].find((p) => p.identity === message.author);
  return agent ? agentName(agent) : 'Agent';
}

/**
 * The index of the customer's last message when an agent has read it ("Seen"), else null.
 * @param {object[]} messages
 * @param {string} guestIdentity
 * @param {Map<string, object> | object[]} participants
 */
export function seenIndex(messages, guestIdentity, participants) {
  let last = null;
  for (const m of messages) if (m.author === guestIdentity && typeof m.index === 'number') last = m.index;
  if (last === null) return null;
  const everyone = participants instanceof Map ? [...participants.values()] : participants;
  const seen = everyone.some(
    (p) => isAgent(p, guestIdentity) && typeof p.last_read_message_index === 'number' && p.last_read_message_index >= last,
  );
  return seen ? last : null;
}

// --- typing -------------------------------------------------------------------------------

/** How often the customer's typing is announced at most (the server fans out once a second). */
export const TYPING_SEND_INTERVAL_MS = 2000;

/**
 * Who is typing, after a `typing` event from someone other than the guest: identity →
 * `{name, until}` (ms since the epoch).
 * @param {Map<string, {name: string, until: number}>} typing
 * @param {{identity: string, participant_sid?: string, timeout_ms?: number}} data
 * @param {{guestIdentity: string, participants: Map<string, object>, now: number}} context
 */
export function startTyping(typing, data, { guestIdentity, participants, now }) {
  const next = new Map(typing);
  if (!data?.identity || data.identity === guestIdentity) return next;
  const participant =
    (data.participant_sid && participants.get(data.participant_sid)) ||
    [...participants.values()].find((p) => p.identity === data.identity);
  const timeout = Number.isFinite(data.timeout_ms) && data.timeout_ms > 0 ? data.timeout_ms : 5000;
  next.set(data.identity, { name: participant ? agentName(participant) : 'Agent', until: now + timeout });
  return next;
}

/** `typing` without whoever stopped: timed out, or just sent a message (`identity`). */
export function stopTyping(typing, now, identity) {
  return new Map([...typing].filter(([who, t]) => who !== identity && t.until > now));
}

/** The soonest expiry among those typing (to schedule the next `stopTyping`), or null. */
export function nextTypingExpiry(typing) {
  let soonest = null;
  for (const t of typing.values()) if (soonest === null || t.until < soonest) soonest = t.until;
  return soonest;
}

/** "Ann is typing…", "Ann and Agent are typing…", or '' when nobody is. */
export function typingText(typing) {
  const names = [...new Set([...typing.values()].map((t) => t.name))];
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
}

// --- reading ------------------------------------------------------------------------------

/**
 * The index to send in `read`, or null: the newest message, when the customer can see it
 * (panel open, page visible) and it is past what was already read.
 * @param {object[]} messages
 * @param {number | null} lastRead the index last sent (or the participant's)
 * @param {boolean} visible
 */
export function readTarget(messages, lastRead, visible) {
  if (!visible) return null;
  const newest = newestIndex(messages);
  if (newest === null) return null;
  return lastRead === null || lastRead === undefined || newest > lastRead ? newest : null;
}

// --- the list shown -----------------------------------------------------------------------

/**
 * A notice placed in the list: after the newest message known when it happened.
 * @param {{kind: string, text: string}} notice
 * @param {object[]} messages
 * @param {number} now
 */
export function placeNotice(notice, messages, now) {
  return { ...notice, after: newestIndex(messages) ?? -1, at: now };
}

/**
 * What the message list shows, in order: messages by index, each notice right after the
 * message it followed, then the messages still on their way.
 * @param {object[]} messages from `mergeMessages`
 * @param {{after: number}[]} notices from `placeNotice`
 * @returns {({kind: 'message', message: object} | {kind: 'notice', notice: object})[]}
 */
export function timeline(messages, notices) {
  const items = [];
  const waiting = [...notices].sort((a, b) => a.after - b.after || a.at - b.at);
  let n = 0;
  for (const message of messages) {
    if (typeof message.index === 'number') {
      while (n < waiting.length && waiting[n].after < message.index) items.push({ kind: 'notice', notice: waiting[n++] });
    } else {
      while (n < waiting.length) items.push({ kind: 'notice', notice: waiting[n++] });
    }
    items.push({ kind: 'message', message });
  }
  while (n < waiting.length) items.push({ kind: 'notice', notice: waiting[n++] });
  return items;
}
