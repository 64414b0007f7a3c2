/**
 * The simulator page's pure part: customer addresses per channel, which messages make a
 * thread, ordering without duplicates, and safe links.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_PHONE,
  bare,
  channelFor,
  customerAddress,
  errorText,
  inThread,
  isCustomerAddress,
  merge,
  safeUrl,
} from '../simulator/model.js';

test('customer addresses follow the channel', () => {
  assert.equal(customerAddress(DEFAULT_PHONE, 'sms'), '+15557654321');
  assert.equal(customerAddress(DEFAULT_PHONE, 'whatsapp'), 'whatsapp:+15557654321');
  assert.equal(customerAddress(' whatsapp:+15557654321 ', 'sms'), '+15557654321');
  assert.equal(customerAddress('whatsapp:+15557654321', 'whatsapp'), 'whatsapp:+15557654321');
  assert.equal(customerAddress('12345', 'messenger'), 'messenger:12345');
  assert.equal(bare('WhatsApp:+1555'), '+1555');
});

test('the channel: messenger numbers use messenger, else the WhatsApp toggle decides', () => {
  assert.equal(channelFor({ type: 'messenger' }, true), 'messenger');
  assert.equal(channelFor({ type: 'sms' }, true), 'whatsapp');
  assert.equal(channelFor({ type: 'whatsapp' }, false), 'sms');
  assert.equal(channelFor(undefined, false), 'sms');
});

test('customer addresses are checked as the server checks them', () => {
  for (const ok of ['+15557654321', 'whatsapp:+15557654321', 'messenger:abc123']) {
    assert.ok(isCustomerAddress(ok), ok);
  }
  for (const bad of ['', '15557654321', '+12', 'whatsapp:', 'messenger:a b', '+1555x', 'sms:+15557654321']) {
    assert.ok(!isCustomerAddress(bad), bad);
  }
});

test('a thread holds what the customer sent to the number and what the number sent back', () => {
  const number = '+15550001111';
  assert.ok(inThread({ direction: 'inbound', from: DEFAULT_PHONE, to: number }, number));
  assert.ok(inThread({ direction: 'outbound', from: number, to: DEFAULT_PHONE }, number));
  assert.ok(!inThread({ direction: 'inbound', from: DEFAULT_PHONE, to: '+15550002222' }, number));
  assert.ok(!inThread({ direction: 'outbound', from: '+15550002222', to: DEFAULT_PHONE }, number));
});

test('merge keeps one copy per sid, oldest first, arrival order within a millisecond', () => {
  const a = { sid: 'SMa', date_ms: 20 };
  const b = { sid: 'SMb', date_ms: 10 };
  const c = { sid: 'SMc', date_ms: 20 };
  const list = [a, b, c, { ...a }].reduce(merge, []);
  assert.deepEqual(list.map((m) => m.sid), ['SMb', 'SMa', 'SMc']);
  assert.equal(merge(list, b), list, 'a known message changes nothing');
});

test('only http(s) links are kept', () => {
  const base = 'http://127.0.0.1:8080/simulator';
  assert.equal(safeUrl('/mcs/v1/x', base), 'http://127.0.0.1:8080/mcs/v1/x');
  assert.equal(safeUrl('https://media.example/x', base), 'https://media.example/x');
  assert.equal(safeUrl('javascript:alert(1)', base), null);
  assert.equal(safeUrl('data:text/html,hi', base), null);
});

test('error text comes from a Twilio error body, else the status', () => {
  assert.equal(errorText(404, { code: 20404, message: 'not found' }), 'not found');
  assert.equal(errorText(502, null), 'The server answered 502.');
  assert.equal(errorText(500, { message: 42 }), 'The server answered 500.');
});
