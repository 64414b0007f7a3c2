/**
 * The desktop's rules, free of the DOM (tested with node --test): what a reservation shows,
 * the offer countdown, the task list, message delivery labels, "seen", and the supervisor's
 * queue and worker rows from the workspace statistics (the worker roster kept from numbered
 * snapshots and changes).
 */

/** Reservation statuses after which a reservation leaves the agent's list. */
const FINAL = new Set(['rejected', 'timeout', 'canceled', 'rescinded', 'completed']);

/** Parses JSON text attributes; objects pass through; anything else is `{}`. */
export function attributesOf(value) {
  if (value && typeof value === 'object') return value;
  try {
    const parsed = JSON.parse(value ?? '{}');
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** What the desktop shows of a reservation and its task. */
export function taskView(reservation) {
  const task = reservation.task ?? {};
  const a = attributesOf(task.attributes);
  return {
    sid: reservation.sid,
    status: reservation.reservation_status,
    taskSid: reservation.task_sid ?? task.sid,
    conversationSid: a.conversationSid ?? null,
    interactionSid: a.flexInteractionSid ?? null,
    channelSid: a.flexInteractionChannelSid ?? null,
    channelType: a.channelType ?? task.task_channel_unique_name ?? 'chat',
    customerName: a.customerName || a.customerAddress || a.from || 'Customer',
    customerAddress: a.customerAddress ?? null,
    direction: a.direction ?? 'inbound',
    preEngagement: a.pre_engagement_data && typeof a.pre_engagement_data === 'object' ? a.pre_engagement_data : {},
    queue: task.task_queue_friendly_name ?? null,
    taskChannel: task.task_channel_unique_name ?? null,
    workspaceSid: reservation.workspace_sid ?? null,
  };
}

/** Whole seconds left to answer an offer (never negative). */
export function secondsLeft(reservation, now) {
  const due = reservation.timeout_at
    ? Date.parse(reservation.timeout_at)
    : Date.parse(reservation.date_created) + (reservation.timeout_ms ?? 0);
  if (Number.isNaN(due)) return 0;
  return Math.max(0, Math.ceil((due - now) / 1000));
}

/**
 * The agent's reservations after `reservation` changed: replaced or added by SID, removed
 * once final. Offers first, then accepted, then wrapping, each oldest first.
 */
export function upsertReservation(list, reservation) {
  const rest = list.filter((r) => r.sid !== reservation.sid);
  if (!FINAL.has(reservation.reservation_status)) rest.push(reservation);
  const order = { pending: 0, accepted: 1, wrapping: 2 };
  return rest.sort(
    (a, b) =>
      (order[a.reservation_status] ?? 3) - (order[b.reservation_status] ?? 3) ||
      String(a.date_created).localeCompare(String(b.date_created)),
  );
}

/** "Delivered", "Read", "Failed", … for a message's `delivery` summary (SMS, WhatsApp). */
export function deliveryLabel(delivery) {
  if (!delivery || !delivery.total) return null;
  if (delivery.failed !== 'none' || delivery.undelivered !== 'none') return 'Failed';
  if (delivery.read === 'all') return 'Read';
  if (delivery.delivered === 'all' || delivery.read === 'some') return 'Delivered';
  if (delivery.sent === 'all' || delivery.sent === 'some' || delivery.delivered === 'some') return 'Sent';
  return null;
}

/**
 * The index of `me`'s newest message that someone else has read (their
 * `last_read_message_index` reached it), or null: where "Seen" goes.
 */
export function seenIndex(messages, me, participants) {
  let horizon = -1;
  for (const p of participants) {
    if (p.identity === me) continue;
    if (typeof p.last_read_message_index === 'number') horizon = Math.max(horizon, p.last_read_message_index);
  }
  let seen = null;
  for (const m of messages) {
    if (m.author === me && typeof m.index === 'number' && m.index <= horizon) seen = m.index;
  }
  return seen;
}

/** Adds or replaces messages by index, keeping them in index order (no duplicates). */
export function mergeMessages(list, incoming) {
  const byIndex = new Map(list.map((m) => [m.index, m]));
  for (const m of incoming) byIndex.set(m.index, m);
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** `1:05`, `12 s`: a wait or age in seconds. */
export function formatWait(seconds) {
  const s = Math.max(0, Math.floor(seconds ?? 0));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The supervisor's queue rows: waiting tasks, longest wait, available agents. */
export function queueRows(statistics) {
  return (statistics?.queues ?? [])
    .map((q) => ({
      sid: q.task_queue_sid,
      name: q.friendly_name,
      waiting: (q.tasks_by_status?.pending ?? 0) + (q.tasks_by_status?.reserved ?? 0),
      longestWait: q.longest_task_waiting_age ?? 0,
      available: q.total_available_workers ?? 0,
      eligible: q.total_eligible_workers ?? 0,
      active: (q.tasks_by_status?.assigned ?? 0) + (q.tasks_by_status?.wrapping ?? 0),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The supervisor's worker rows: name, activity and tasks per channel. */
export function workerRows(statistics) {
  return (statistics?.workers ?? [])
    .map((w) => {
      const channels = (w.channels ?? []).filter((c) => c.assigned_tasks > 0);
      const tasks = channels.reduce((n, c) => n + c.assigned_tasks, 0);
      return {
        sid: w.sid,
        name: attributesOf(w.attributes).full_name || w.friendly_name,
        activity: w.activity_name,
        available: Boolean(w.available),
        tasks,
        detail: channels.map((c) => `${c.task_channel_unique_name} ${c.assigned_tasks}`).join(', '),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Frames kept to re-apply on top of a snapshot that arrives after them. */
const ROSTER_RECENT = 16;

/** An empty worker roster for {@link mergeRoster}. */
export function emptyRoster() {
  return { seq: -1, workers: new Map(), recent: [] };
}

function applyRosterChanges(workers, frame) {
  for (const w of frame.workers_changed ?? []) workers.set(w.sid, w);
  for (const sid of frame.workers_removed ?? []) workers.delete(sid);
}

/**
 * Merges `statistics` (a `statistics` reply or event) into `roster` and returns it. A frame
 * with `workers` (a snapshot, or every worker changed) replaces the roster; one with
 * `workers_changed`/`workers_removed` updates it. Frames are numbered (`seq`, the snapshot's is
 * the last frame it includes): a change frame at or below the roster's number is stale and
 * dropped, and change frames newer than a snapshot that arrived after them are applied again
 * on top of it.
 */
export function mergeRoster(roster, statistics) {
  if (!statistics) return roster;
  const seq = Number.isInteger(statistics.seq) ? statistics.seq : null;
  if (Array.isArray(statistics.workers)) {
    roster.workers = new Map(statistics.workers.map((w) => [w.sid, w]));
    roster.recent = seq === null ? [] : roster.recent.filter((f) => f.seq > seq);
    roster.seq = seq ?? roster.seq;
    for (const frame of roster.recent) {
      applyRosterChanges(roster.workers, frame);
      roster.seq = Math.max(roster.seq, frame.seq);
    }
    return roster;
  }
  if (seq !== null && seq <= roster.seq) return roster;
  applyRosterChanges(roster.workers, statistics);
  if (seq !== null) {
    roster.seq = seq;
    roster.recent.push({ seq, workers_changed: statistics.workers_changed, workers_removed: statistics.workers_removed });
    if (roster.recent.length > ROSTER_RECENT) roster.recent.shift();
  }
  return roster;
}

/** Whether a session's token should be renewed now (less than `marginMs` left). */
export function needsRenewal(expiresAt, now, marginMs = 5 * 60 * 1000) {
  const at = Date.parse(expiresAt);
  return Number.isNaN(at) || at - now < marginMs;
}
