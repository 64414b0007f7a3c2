/**
 * The desktop's pure rules (desktop/model.js): what a reservation shows, the offer countdown,
 * the order of the agent's list, delivery labels, "Seen", message merging, wait formatting,
 * the supervisor's rows and token renewal.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import {
  attributesOf,
  deliveryLabel,
  formatWait,
  mergeMessages,
  needsRenewal,
  queueRows,
  secondsLeft,
  seenIndex,
  taskView,
  upsertReservation,
  workerRows,
  emptyRoster,
  mergeRoster,
} from '../desktop/model.js';

test('attributesOf parses JSON text, passes objects through, and is {} otherwise', () => {
  assert.deepEqual(attributesOf('{"a":1,"b":{"c":"d"}}'), { a: 1, b: { c: 'd' } });
  const object = { full_name: 'Alice' };
  assert.equal(attributesOf(object), object, 'an object is the same object');
  for (const bad of [undefined, null, '', 'not json', '{', '42', '"text"', 'null', 7, true]) {
    assert.deepEqual(attributesOf(bad), {}, `attributesOf(${JSON.stringify(bad)})`);
  }
  // Arrays are objects: they pass (the desktop only reads named keys from them).
  assert.deepEqual(attributesOf('[1]'), [1]);
});

test('taskView reads the task attributes of a webchat offer', () => {
  const view = taskView({
    sid: 'WR1',
    reservation_status: 'pending',
    task_sid: 'WT1',
    workspace_sid: 'WS1',
    task: {
      sid: 'WT-ignored',
      task_queue_friendly_name: 'Support',
      task_channel_unique_name: 'chat',
      attributes: JSON.stringify({
        conversationSid: 'CH1',
        flexInteractionSid: 'KD1',
        flexInteractionChannelSid: 'UO1',
        channelType: 'web',
        customerName: 'Ana Lima',
        customerAddress: 'ana@example.com',
        pre_engagement_data: { email: 'ana@example.com', friendlyName: 'Ana Lima' },
      }),
    },
  });
  assert.deepEqual(view, {
    sid: 'WR1',
    status: 'pending',
    taskSid: 'WT1',
    conversationSid: 'CH1',
    interactionSid: 'KD1',
    channelSid: 'UO1',
    channelType: 'web',
    customerName: 'Ana Lima',
    customerAddress: 'ana@example.com',
    direction: 'inbound',
    preEngagement: { email: 'ana@example.com', friendlyName: 'Ana Lima' },
    queue: 'Support',
    taskChannel: 'chat',
    workspaceSid: 'WS1',
  });
});

test('taskView falls back sensibly when the task says little', () => {
  const bare = taskView({ sid: 'WR2', reservation_status: 'accepted' });
  assert.equal(bare.taskSid, undefined);
  assert.equal(bare.conversationSid, null);
  assert.equal(bare.interactionSid, null);
  assert.equal(bare.channelSid, null);
  assert.equal(bare.channelType, 'chat');
  assert.equal(bare.customerName, 'Customer');
  assert.equal(bare.direction, 'inbound');
  assert.deepEqual(bare.preEngagement, {});
  assert.equal(bare.queue, null);
  assert.equal(bare.workspaceSid, null);

  // The task's SID when the reservation lacks one; its channel when no channelType.
  const sms = taskView({
    sid: 'WR3',
    reservation_status: 'accepted',
    task: { sid: 'WT3', task_channel_unique_name: 'sms', attributes: { from: '+15557654321', direction: 'outbound', pre_engagement_data: 'x' } },
  });
  assert.equal(sms.taskSid, 'WT3');
  assert.equal(sms.channelType, 'sms');
  assert.equal(sms.customerName, '+15557654321', 'from is the last name to try');
  assert.equal(sms.direction, 'outbound');
  assert.deepEqual(sms.preEngagement, {}, 'non-object pre-engagement data is ignored');

  // customerName beats customerAddress beats from; an empty name falls through.
  const named = (a) => taskView({ sid: 'WR', task: { attributes: a } }).customerName;
  assert.equal(named({ customerName: 'N', customerAddress: 'A', from: 'F' }), 'N');
  assert.equal(named({ customerName: '', customerAddress: 'A', from: 'F' }), 'A');
  assert.equal(named({ customerAddress: '', from: 'F' }), 'F');
});

test('secondsLeft counts whole seconds up to timeout_at, or date_created + timeout_ms', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(secondsLeft({ timeout_at: '2026-01-01T00:00:30Z' }, now), 30);
  assert.equal(secondsLeft({ timeout_at: '2026-01-01T00:00:29.001Z' }, now), 30, 'rounds up');
  assert.equal(secondsLeft({ timeout_at: '2025-12-31T23:59:00Z' }, now), 0, 'never negative');
  assert.equal(secondsLeft({ date_created: '2026-01-01T00:00:00Z', timeout_ms: 120000 }, now), 120);
  assert.equal(secondsLeft({ date_created: '2026-01-01T00:00:00Z', timeout_ms: 120000 }, now + 119500), 1);
  assert.equal(secondsLeft({ date_created: '2026-01-01T00:00:10Z' }, now), 10, 'no timeout_ms counts as 0');
  // timeout_at wins over date_created + timeout_ms.
  assert.equal(secondsLeft({ timeout_at: '2026-01-01T00:00:05Z', date_created: '2026-01-01T00:00:00Z', timeout_ms: 60000 }, now), 5);
  assert.equal(secondsLeft({}, now), 0, 'no dates at all');
  assert.equal(secondsLeft({ timeout_at: 'soon' }, now), 0, 'an unreadable date');
});

test('upsertReservation: offers first, then accepted, then wrapping, each oldest first', () => {
  const r = (sid, status, minute) => ({ sid, reservation_status: status, date_created: `2026-01-01T00:${minute}:00Z` });
  let list = [];
  for (const x of [r('W1', 'wrapping', '01'), r('A2', 'accepted', '05'), r('P3', 'pending', '09'), r('A1', 'accepted', '02'), r('P1', 'pending', '03')]) {
    list = upsertReservation(list, x);
  }
  assert.deepEqual(list.map((x) => x.sid), ['P1', 'P3', 'A1', 'A2', 'W1']);

  // A status change replaces by SID (no duplicate) and moves it.
  list = upsertReservation(list, r('P1', 'accepted', '03'));
  assert.deepEqual(list.map((x) => x.sid), ['P3', 'A1', 'P1', 'A2', 'W1']);
  assert.equal(list.filter((x) => x.sid === 'P1').length, 1);
  assert.equal(list.find((x) => x.sid === 'P1').reservation_status, 'accepted');

  // An unknown status goes last.
  list = upsertReservation(list, r('X1', 'weird', '00'));
  assert.equal(list.at(-1).sid, 'X1');

  // The input list is not changed.
  const before = list.map((x) => x.sid);
  upsertReservation(list, r('N1', 'pending', '00'));
  assert.deepEqual(list.map((x) => x.sid), before);
});

test('upsertReservation removes a reservation once its status is final', () => {
  const base = [
    { sid: 'A', reservation_status: 'accepted', date_created: '2026-01-01T00:00:00Z' },
    { sid: 'B', reservation_status: 'pending', date_created: '2026-01-01T00:00:01Z' },
  ];
  for (const status of ['rejected', 'timeout', 'canceled', 'rescinded', 'completed']) {
    const list = upsertReservation(base, { sid: 'A', reservation_status: status });
    assert.deepEqual(list.map((x) => x.sid), ['B'], status);
    // A final reservation that was never listed is not added either.
    assert.deepEqual(upsertReservation([], { sid: 'Z', reservation_status: status }), [], `new ${status}`);
  }
  for (const status of ['pending', 'accepted', 'wrapping']) {
    assert.equal(upsertReservation(base, { sid: 'A', reservation_status: status, date_created: '2026-01-01T00:00:00Z' }).length, 2, status);
  }
});

test('deliveryLabel for each delivery summary', () => {
  const d = (x) => ({ total: 1, sent: 'none', delivered: 'none', read: 'none', failed: 'none', undelivered: 'none', ...x });
  assert.equal(deliveryLabel(undefined), null, 'no summary (chat)');
  assert.equal(deliveryLabel(null), null);
  assert.equal(deliveryLabel({ total: 0 }), null, 'no receipts yet');
  assert.equal(deliveryLabel(d({})), null, 'nothing happened yet');
  assert.equal(deliveryLabel(d({ failed: 'all' })), 'Failed');
  assert.equal(deliveryLabel(d({ failed: 'some', delivered: 'some' })), 'Failed', 'any failure wins');
  assert.equal(deliveryLabel(d({ undelivered: 'some', read: 'all' })), 'Failed');
  assert.equal(deliveryLabel(d({ read: 'all', delivered: 'all' })), 'Read');
  assert.equal(deliveryLabel(d({ read: 'some', delivered: 'some' })), 'Delivered', 'read by some: at least delivered');
  assert.equal(deliveryLabel(d({ delivered: 'all', sent: 'all' })), 'Delivered');
  assert.equal(deliveryLabel(d({ delivered: 'some', sent: 'some' })), 'Sent');
  assert.equal(deliveryLabel(d({ sent: 'all' })), 'Sent');
  assert.equal(deliveryLabel(d({ sent: 'some' })), 'Sent');
});

test('seenIndex: my newest message that someone else read', () => {
  const messages = [
    { index: 0, author: 'me' },
    { index: 1, author: 'them' },
    { index: 2, author: 'me' },
    { index: 3, author: 'me' },
    { index: 4, author: 'them' },
  ];
  const p = (identity, last) => ({ identity, last_read_message_index: last });
  assert.equal(seenIndex(messages, 'me', []), null, 'nobody else');
  assert.equal(seenIndex(messages, 'me', [p('me', 4)]), null, 'my own reading does not count');
  assert.equal(seenIndex(messages, 'me', [p('them', null)]), null, 'they read nothing');
  assert.equal(seenIndex(messages, 'me', [p('them', 0)]), 0);
  assert.equal(seenIndex(messages, 'me', [p('them', 1)]), 0, 'index 1 is theirs');
  assert.equal(seenIndex(messages, 'me', [p('them', 2)]), 2);
  assert.equal(seenIndex(messages, 'me', [p('them', 4)]), 3);
  assert.equal(seenIndex(messages, 'me', [p('them', 0), p('other', 2), p('me', 4)]), 2, 'the furthest reader counts');
  assert.equal(seenIndex([{ author: 'me' }], 'me', [p('them', 9)]), null, 'a message without an index (not stored yet)');
});

test('mergeMessages adds or replaces by index, in index order', () => {
  const list = [{ index: 2, body: 'two' }, { index: 5, body: 'five' }];
  const merged = mergeMessages(list, [{ index: 5, body: 'five, edited' }, { index: 0, body: 'zero' }, { index: 3, body: 'three' }]);
  assert.deepEqual(merged, [
    { index: 0, body: 'zero' },
    { index: 2, body: 'two' },
    { index: 3, body: 'three' },
    { index: 5, body: 'five, edited' },
  ]);
  assert.deepEqual(list.map((m) => m.body), ['two', 'five'], 'the input is not changed');
  assert.deepEqual(mergeMessages([], []), []);
  // Index 10 sorts after 9 (numbers, not text).
  assert.deepEqual(mergeMessages([{ index: 10 }], [{ index: 9 }]).map((m) => m.index), [9, 10]);
});

test('formatWait: seconds, minutes:seconds, hours and minutes', () => {
  assert.equal(formatWait(0), '0 s');
  assert.equal(formatWait(12.9), '12 s');
  assert.equal(formatWait(59), '59 s');
  assert.equal(formatWait(60), '1:00');
  assert.equal(formatWait(65), '1:05');
  assert.equal(formatWait(3599), '59:59');
  assert.equal(formatWait(3600), '1 h 0 min');
  assert.equal(formatWait(3600 * 26 + 61), '26 h 1 min');
  assert.equal(formatWait(-5), '0 s');
  assert.equal(formatWait(undefined), '0 s');
  assert.equal(formatWait(null), '0 s');
});

test('queueRows: waiting, active and agents per queue, by name', () => {
  const rows = queueRows({
    queues: [
      {
        task_queue_sid: 'WQ2',
        friendly_name: 'Support',
        tasks_by_status: { pending: 2, reserved: 1, assigned: 3, wrapping: 1 },
        longest_task_waiting_age: 42,
        total_available_workers: 1,
        total_eligible_workers: 4,
      },
      { task_queue_sid: 'WQ1', friendly_name: 'Billing' },
    ],
  });
  assert.deepEqual(rows, [
    { sid: 'WQ1', name: 'Billing', waiting: 0, longestWait: 0, available: 0, eligible: 0, active: 0 },
    { sid: 'WQ2', name: 'Support', waiting: 3, longestWait: 42, available: 1, eligible: 4, active: 4 },
  ]);
  assert.deepEqual(queueRows(undefined), []);
  assert.deepEqual(queueRows({}), []);
});

test('workerRows: full name, activity and tasks per channel, by name', () => {
  const rows = workerRows({
    workers: [
      {
        sid: 'WK2',
        friendly_name: 'zed',
        attributes: '{"full_name":"Bob Agent"}',
        activity_name: 'Available',
        available: true,
        channels: [
          { task_channel_unique_name: 'chat', assigned_tasks: 2 },
          { task_channel_unique_name: 'voice', assigned_tasks: 0 },
          { task_channel_unique_name: 'sms', assigned_tasks: 1 },
        ],
      },
      { sid: 'WK1', friendly_name: 'alice', attributes: 'not json', activity_name: 'Offline', available: 0 },
    ],
  });
  assert.deepEqual(rows, [
    { sid: 'WK1', name: 'alice', activity: 'Offline', available: false, tasks: 0, detail: '' },
    { sid: 'WK2', name: 'Bob Agent', activity: 'Available', available: true, tasks: 3, detail: 'chat 2, sms 1' },
  ]);
  assert.deepEqual(workerRows(null), []);
});

test('mergeRoster: snapshots replace, numbered changes update, stale ones are dropped', () => {
  const w = (sid, activity) => ({ sid, friendly_name: sid, activity_name: activity });
  const names = (r) => [...r.workers.values()].map((x) => `${x.sid}:${x.activity_name}`).sort();
  const r = emptyRoster();
  mergeRoster(r, { seq: 3, workers: [w('a', 'Offline'), w('b', 'Offline')] });
  assert.deepEqual(names(r), ['a:Offline', 'b:Offline']);
  mergeRoster(r, { seq: 4, workers_changed: [w('a', 'Available')], workers_removed: ['b'] });
  assert.deepEqual(names(r), ['a:Available']);
  // A frame the roster already includes changes nothing.
  mergeRoster(r, { seq: 4, workers_changed: [w('a', 'Break')], workers_removed: [] });
  mergeRoster(r, { seq: 2, workers_changed: [w('c', 'Break')], workers_removed: [] });
  assert.deepEqual(names(r), ['a:Available']);
  assert.equal(r.seq, 4);
  // Every worker changed: the frame carries the whole roster.
  mergeRoster(r, { seq: 5, workers: [w('c', 'Available')] });
  assert.deepEqual(names(r), ['c:Available']);
  assert.equal(mergeRoster(r, null), r);
});

test('mergeRoster: a snapshot older than frames already applied is taken, then those frames again', () => {
  const w = (sid, activity) => ({ sid, friendly_name: sid, activity_name: activity });
  const r = emptyRoster();
  // Subscribed first: frames 7 and 8 arrive before the snapshot that includes 7 only.
  mergeRoster(r, { seq: 7, workers_changed: [w('a', 'Break')], workers_removed: [] });
  mergeRoster(r, { seq: 8, workers_changed: [w('b', 'Available')], workers_removed: [] });
  mergeRoster(r, { seq: 7, workers: [w('a', 'Break'), w('b', 'Offline'), w('c', 'Offline')] });
  const rows = Object.fromEntries([...r.workers.values()].map((x) => [x.sid, x.activity_name]));
  assert.deepEqual(rows, { a: 'Break', b: 'Available', c: 'Offline' });
  assert.equal(r.seq, 8);
});

test('needsRenewal: when less than the margin is left, or the date is unreadable', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(needsRenewal('2026-01-01T01:00:00Z', now), false, 'an hour left');
  assert.equal(needsRenewal('2026-01-01T00:05:00Z', now), false, 'exactly the default 5 min margin');
  assert.equal(needsRenewal('2026-01-01T00:04:59Z', now), true, 'just under 5 min');
  assert.equal(needsRenewal('2025-12-31T23:00:00Z', now), true, 'already expired');
  assert.equal(needsRenewal('2026-01-01T00:01:00Z', now, 30000), false, 'a smaller margin');
  assert.equal(needsRenewal('2026-01-01T00:01:00Z', now, 120000), true, 'a larger margin');
  assert.equal(needsRenewal(undefined, now), true);
  assert.equal(needsRenewal('garbage', now), true);
});
