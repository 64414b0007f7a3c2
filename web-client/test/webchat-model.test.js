/**
 * The webchat widget's pure part (webchat/model.js): the stored record, the form checks and
 * Start body, merging messages by index, agents and their names, "Seen", joined/left
 * notices, typing expiry, what to mark read, and the order of the list shown.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import {
  NAME_MAX,
  agentName,
  applyParticipant,
  authorName,
  chatRecord,
  checkForm,
  failPending,
  isAgent,
  isExpired,
  mergeMessages,
  newestIndex,
  nextTypingExpiry,
  parseRecord,
  participantMap,
  participantNotice,
  pendingMessage,
  placeNotice,
  readTarget,
  removeMessage,
  seenIndex,
  startBody,
  startTyping,
  stopTyping,
  storageKey,
  timeline,
  typingText,
} from '../webchat/model.js';

const GUEST = 'guest:abc';
const answer = {
  token: 'jwt',
  identity: GUEST,
  conversation_sid: 'CH1',
  chat_service_sid: 'IS1',
  account_sid: 'AC1',
  expires_at: '2030-01-01T00:00:00Z',
  friendly_name: 'Dana',
};
const ann = { sid: 'MB1', identity: 'ann', attributes: '{"friendlyName":"Ann"}', last_read_message_index: null };
const bob = { sid: 'MB2', identity: 'bob', attributes: '{}', last_read_message_index: null };
const guest = { sid: 'MB0', identity: GUEST, attributes: '{}', last_read_message_index: 3 };
const msg = (index, author = GUEST, extra = {}) => ({ index, author, body: `m${index}`, ...extra });

test('the record: its key, the fields kept, read back only when whole', () => {
  assert.equal(storageKey('IG1'), 'switchboard.webchat.IG1');
  const record = chatRecord(answer, false);
  assert.deepEqual(record, {
    token: 'jwt',
    identity: GUEST,
    conversation_sid: 'CH1',
    chat_service_sid: 'IS1',
    expires_at: '2030-01-01T00:00:00Z',
    friendly_name: 'Dana',
    open: false,
  });
  assert.deepEqual(parseRecord(JSON.stringify(record)), record);
  for (const bad of [null, '', 'not json', '42', '{"token":"x"}', JSON.stringify({ ...record, token: 7 })]) {
    assert.equal(parseRecord(bad), null, String(bad));
  }
});

test('a token is expired a little before its expiry, and when its date is unreadable', () => {
  const at = Date.parse('2030-01-01T00:00:00Z');
  assert.ok(!isExpired(answer, at - 60000));
  assert.ok(isExpired(answer, at - 10000));
  assert.ok(isExpired({ expires_at: 'soon' }, 0));
});

test('the form: a name is required and bounded, email is optional but checked', () => {
  assert.deepEqual(checkForm({ name: '  Dana ', email: '', question: ' Where is my order? ' }), {
    values: { name: 'Dana', email: '', question: 'Where is my order?' },
    errors: {},
  });
  assert.deepEqual(Object.keys(checkForm({ name: ' ' }).errors), ['name']);
  assert.deepEqual(Object.keys(checkForm({ name: 'x'.repeat(NAME_MAX + 1) }).errors), ['name']);
  assert.deepEqual(Object.keys(checkForm({ name: '🦉'.repeat(NAME_MAX) }).errors), [], 'characters, not UTF-16 units');
  assert.deepEqual(Object.keys(checkForm({ name: 'D', email: 'nope' }).errors), ['email']);
  assert.deepEqual(Object.keys(checkForm({ name: 'D', email: 'd@owl.example' }).errors), []);
});

test('the Start body carries only what was given', () => {
  const values = { name: 'Dana & co', email: '', question: 'Hi?' };
  assert.equal(startBody('IG1', values).toString(), 'AddressSid=IG1&FriendlyName=Dana+%26+co&Question=Hi%3F');
  const full = startBody('IG1', { ...values, email: 'd@owl.example' }, { page: '/shoes' });
  assert.equal(full.get('Email'), 'd@owl.example');
  assert.deepEqual(JSON.parse(full.get('PreEngagementData')), { page: '/shoes' });
});

test('messages merge by index: no duplicates, ascending, a later copy wins', () => {
  let list = mergeMessages([], [msg(2), msg(0)]);
  list = mergeMessages(list, [msg(1), msg(2)]);
  list = mergeMessages(list, [msg(0, GUEST, { body: 'edited' })]);
  assert.deepEqual(list.map((m) => m.index), [0, 1, 2]);
  assert.equal(list[0].body, 'edited');
  const same = { ...list[1] };
  assert.equal(mergeMessages(list, [same])[1], list[1], 'an identical copy keeps the shown object');
  assert.deepEqual(removeMessage(list, 1).map((m) => m.index), [0, 2]);
  assert.equal(newestIndex(list), 2);
  assert.equal(newestIndex([]), null);
});

test('a pending message stays last until its server copy arrives, and can fail', () => {
  const pending = pendingMessage({ body: 'hello', clientMessageId: 'c1', identity: GUEST }, 0);
  let list = mergeMessages([msg(0)], [pending]);
  list = mergeMessages(list, [msg(1, 'ann')]);
  assert.deepEqual(list.map((m) => m.index ?? 'pending'), [0, 1, 'pending']);
  assert.equal(failPending(list, 'c1', 'offline')[2].error, 'offline');
  list = mergeMessages(list, [msg(2, GUEST, { client_message_id: 'c1' })]);
  assert.deepEqual(list.map((m) => m.index ?? 'pending'), [0, 1, 2]);
});

test('agents are the other chat identities; they are called by friendlyName, else Agent', () => {
  assert.ok(isAgent(ann, GUEST));
  assert.ok(!isAgent(guest, GUEST));
  assert.ok(!isAgent({ sid: 'MB9', identity: null, messaging_binding: {} }, GUEST));
  assert.equal(agentName(ann), 'Ann');
  assert.equal(agentName(bob), 'Agent');
  assert.equal(agentName({ attributes: 'not json' }), 'Agent');
  assert.equal(agentName({ attributes: { friendlyName: ' Cy ' } }), 'Cy');
});

test('participants follow added/updated/removed events', () => {
  let map = participantMap([guest, ann]);
  map = applyParticipant(map, 'participant_added', bob);
  map = applyParticipant(map, 'participant_updated', { ...ann, last_read_message_index: 4 });
  assert.equal(map.get('MB1').last_read_message_index, 4);
  map = applyParticipant(map, 'participant_removed', bob);
  assert.deepEqual([...map.keys()], ['MB0', 'MB1']);
});

test('message authors: the customer by name, agents by participant or identity', () => {
  const map = participantMap([guest, ann]);
  const me = { identity: GUEST, friendly_name: 'Dana' };
  assert.equal(authorName(msg(0), me, map), 'Dana');
  assert.equal(authorName(msg(0), { identity: GUEST }, map), 'You');
  assert.equal(authorName(msg(1, 'ann', { participant_sid: 'MB1' }), me, map), 'Ann');
  assert.equal(authorName(msg(1, 'ann'), me, map), 'Ann');
  assert.equal(authorName(msg(1, 'system'), me, map), 'Agent');
});

test('"Seen" once an agent has read up to the customer\'s last message', () => {
  const messages = [msg(0), msg(1, 'ann'), msg(2), msg(3, 'ann')];
  assert.equal(seenIndex(messages, GUEST, participantMap([guest, ann])), null, 'the guest reading does not count');
  assert.equal(seenIndex(messages, GUEST, [guest, { ...ann, last_read_message_index: 1 }]), null);
  assert.equal(seenIndex(messages, GUEST, [guest, { ...ann, last_read_message_index: 2 }]), 2);
  assert.equal(seenIndex(messages, GUEST, [{ ...ann, last_read_message_index: 9 }]), 2);
  assert.equal(seenIndex([msg(0, 'ann')], GUEST, [{ ...ann, last_read_message_index: 0 }]), null);
});

test('joined/left notices for agents only', () => {
  assert.deepEqual(participantNotice('participant_added', ann, GUEST), { kind: 'joined', text: 'Ann joined the chat', participant_sid: 'MB1' });
  assert.deepEqual(participantNotice('participant_removed', bob, GUEST), { kind: 'left', text: 'Agent left the chat', participant_sid: 'MB2' });
  assert.equal(participantNotice('participant_added', guest, GUEST), null);
  assert.equal(participantNotice('participant_updated', ann, GUEST), null);
});

test('typing: others only, named, expiring after timeout_ms, stopped by their message', () => {
  const context = { guestIdentity: GUEST, participants: participantMap([ann, bob]), now: 1000 };
  let typing = startTyping(new Map(), { identity: GUEST, timeout_ms: 5000 }, context);
  assert.equal(typing.size, 0);
  typing = startTyping(typing, { identity: 'ann', participant_sid: 'MB1', timeout_ms: 5000 }, context);
  typing = startTyping(typing, { identity: 'bob', timeout_ms: 2000 }, context);
  assert.equal(typingText(typing), 'Ann and Agent are typing…');
  assert.equal(nextTypingExpiry(typing), 3000);
  typing = stopTyping(typing, 3000);
  assert.equal(typingText(typing), 'Ann is typing…');
  assert.equal(typingText(stopTyping(typing, 3001, 'ann')), '');
  assert.equal(nextTypingExpiry(new Map()), null);
});

test('read: the newest message, when visible and not read yet', () => {
  const messages = [msg(0), msg(1, 'ann')];
  assert.equal(readTarget(messages, null, true), 1);
  assert.equal(readTarget(messages, 0, true), 1);
  assert.equal(readTarget(messages, 1, true), null);
  assert.equal(readTarget(messages, null, false), null);
  assert.equal(readTarget([], null, true), null);
});

test('the list shown: notices after the message they followed, pending messages last', () => {
  const messages = mergeMessages([msg(0), msg(1, 'ann')], [pendingMessage({ body: 'p', clientMessageId: 'c', identity: GUEST }, 5)]);
  const joined = placeNotice({ kind: 'joined', text: 'Ann joined the chat' }, [msg(0)], 1);
  const early = placeNotice({ kind: 'joined', text: 'Bob joined the chat' }, [], 0);
  const left = placeNotice({ kind: 'left', text: 'Ann left the chat' }, messages, 9);
  const shown = timeline(messages, [left, joined, early]).map((i) => (i.kind === 'notice' ? i.notice.text : i.message.body));
  assert.deepEqual(shown, ['Bob joined the chat', 'm0', 'Ann joined the chat', 'm1', 'Ann left the chat', 'p']);
});
