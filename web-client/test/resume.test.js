/**
 * `ResumeState` on its own: which `message_added` events are new, what goes into
 * `hello.resume`, and how hello replies, membership events and commands change what is tracked.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { ResumeState } from '../sdk/resume.js';

const A = 'CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'CHbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'CHcccccccccccccccccccccccccccccccc';

const summary = (sid, last, participant = true) => ({
  conversation: { sid },
  participant: participant ? { identity: 'alice' } : null,
  last_message_index: last,
});

test('admit: new indexes pass and are recorded; repeats and older ones are dropped', () => {
  const r = new ResumeState();
  assert.equal(r.admit(A, 0), true);
  assert.equal(r.admit(A, 1), true);
  assert.equal(r.admit(A, 1), false);
  assert.equal(r.admit(A, 0), false);
  assert.equal(r.admit(A, 3), true, 'a gap is fine: deleted messages leave their index unused');
  assert.equal(r.admit(A, 2), false, 'but nothing goes backwards');
  assert.equal(r.admit(B, 7), true, 'conversations are independent');
  assert.equal(r.lastIndex(A), 3);
  assert.equal(r.duplicatesDropped, 3);
  assert.equal(r.admit(undefined, 1), true, 'frames without what dedupe needs are passed on');
});

test('the hello reply: listed conversations start at their last message, resumed ones keep theirs', () => {
  const r = new ResumeState();
  r.onSession({ conversations: [summary(A, 4), summary(B, null)] });
  assert.equal(r.lastIndex(A), 4);
  assert.equal(r.lastIndex(B), undefined, 'empty: the first message_added starts it');
  assert.deepEqual(r.resumeMap(), { [A]: 4 });
  r.admit(A, 5);
  r.admit(B, 0);
  // Reconnected: the server lists A at 9 but replays 6..9 next; the index must stay at 5.
  r.onSession({ conversations: [summary(A, 9), summary(B, 0), summary(C, 2)] });
  assert.equal(r.lastIndex(A), 5);
  assert.deepEqual(r.resumeMap(), { [A]: 5, [B]: 0, [C]: 2 });
  // Left while away: no longer listed, no longer resumed.
  r.onSession({ conversations: [summary(A, 9)] });
  assert.deepEqual(r.resumeMap(), { [A]: 5 });
});

test('membership events and commands change what is resumed', () => {
  const r = new ResumeState();
  r.onEvent({ event: 'conversation_joined', conversation_sid: A, data: summary(A, 2) });
  assert.deepEqual(r.resumeMap(), { [A]: 2 });
  r.onEvent({ event: 'conversation_left', conversation_sid: A, data: { participant: {} } });
  assert.deepEqual(r.resumeMap(), {});
  assert.equal(r.lastIndex(A), undefined);

  r.onCommand({ type: 'monitor', conversation_sid: B }, summary(B, 3, false));
  assert.deepEqual(r.monitored, [B]);
  assert.equal(r.lastIndex(B), 3);
  assert.deepEqual(r.resumeMap(), {}, 'monitored conversations resume through monitor, not hello');
  r.onCommand({ type: 'join', conversation_sid: B }, {});
  assert.deepEqual(r.resumeMap(), { [B]: 3 });
  r.onCommand({ type: 'leave', conversation_sid: B }, {});
  assert.equal(r.lastIndex(B), 3, 'still monitored: still tracked');
  r.onCommand({ type: 'unmonitor', conversation_sid: B }, {});
  assert.deepEqual(r.monitored, []);
  assert.equal(r.lastIndex(B), undefined);

  r.onCommand({ type: 'monitor', conversation_sid: C, after_index: 1 }, summary(C, 5, false));
  assert.equal(r.lastIndex(C), 1, 'with after_index: seen up to there, the replay moves it on');
  assert.equal(r.admit(C, 2), true);
  r.onEvent({ event: 'conversation_removed', conversation_sid: C, data: { sid: C } });
  assert.deepEqual(r.monitored, []);
});

test('a send reply does not move the index (another author\'s message may still be on its way)', () => {
  const r = new ResumeState();
  r.onSession({ conversations: [summary(A, 3)] });
  r.onCommand({ type: 'send', conversation_sid: A }, { message: { index: 5 } });
  assert.equal(r.lastIndex(A), 3);
  assert.equal(r.admit(A, 4), true, "bob's message 4, fanned out after our reply for 5, is not lost");
  assert.equal(r.admit(A, 5), true, 'our own message arrives as an event like any other');
});

test('a conversation known while empty that now has messages is named for a backfill', () => {
  const r = new ResumeState();
  r.onSession({ conversations: [summary(A, null), summary(B, null), summary(C, 1)] });
  r.admit(B, 0);
  assert.deepEqual(r.resumeMap(), { [B]: 0, [C]: 1 }, 'A has no index to resume from');
  // Reconnected: A got messages 0..2 meanwhile; B and C are resumed by the server.
  const missed = r.onSession({ conversations: [summary(A, 2), summary(B, 3), summary(C, 1)] });
  assert.deepEqual(missed, [{ sid: A, last: 2 }]);
  assert.equal(r.lastIndex(A), undefined, 'not live from 2: 0..2 are still to be delivered');
  assert.equal(r.lastIndex(B), 0);
  r.advance(A, 2);
  assert.equal(r.lastIndex(A), 2);
  r.advance(A, 1);
  assert.equal(r.lastIndex(A), 2, 'advance never moves back');
  // Still empty: nothing to backfill.
  const r2 = new ResumeState();
  r2.onSession({ conversations: [summary(A, null)] });
  assert.deepEqual(r2.onSession({ conversations: [summary(A, null)] }), []);
});
