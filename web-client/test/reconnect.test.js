/**
 * The reconnect policy on its own: which close codes reconnect, renew or stop, and the bounds
 * of full-jitter exponential backoff.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { backoffCeiling, backoffDelay, closeAction } from '../sdk/reconnect.js';

test('close codes: 4000–4499 reconnect, 4004 renews, 4500–4999 stop', () => {
  const table = [
    [1000, 'stop'],
    [1001, 'reconnect'],
    [1002, 'stop'],
    [1005, 'reconnect'],
    [1006, 'reconnect'],
    [1008, 'stop'],
    [1009, 'stop'],
    [1011, 'reconnect'],
    [1012, 'reconnect'],
    [1013, 'reconnect'],
    [4000, 'reconnect'],
    [4001, 'reconnect'],
    [4002, 'reconnect'],
    [4003, 'reconnect'],
    [4004, 'renew'],
    [4499, 'reconnect'],
    [4500, 'stop'],
    [4501, 'stop'],
    [4503, 'stop'],
    [4504, 'stop'],
    [4999, 'stop'],
  ];
  for (const [code, action] of table) assert.equal(closeAction(code), action, `close code ${code}`);
});

test('backoff ceiling doubles from baseMs and is capped at maxMs', () => {
  const b = { baseMs: 250, maxMs: 30000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeiling(n, b)),
    [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.equal(backoffCeiling(5000, b), 30000, 'no overflow for huge attempt counts');
  assert.equal(backoffCeiling(0), 250, 'defaults: 250 ms base');
  assert.equal(backoffCeiling(100), 30000, 'defaults: 30 s cap');
});

test('full jitter: delay = random · ceiling, anywhere in [0, ceiling)', () => {
  const b = { baseMs: 100, maxMs: 5000 };
  assert.equal(backoffDelay(3, b, () => 0), 0, 'can retry at once');
  assert.equal(backoffDelay(3, b, () => 0.5), 400);
  assert.ok(backoffDelay(3, b, () => 0.999999) < 800);
  assert.ok(backoffDelay(20, b, () => 0.999999) < 5000, 'never above maxMs');
});

test('full jitter with Math.random stays in bounds and spreads over the window', () => {
  const b = { baseMs: 250, maxMs: 30000 };
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = backoffCeiling(attempt, b);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(attempt, b));
    for (const d of samples) assert.ok(d >= 0 && d < ceiling, `attempt ${attempt}: ${d} in [0, ${ceiling})`);
    // Full jitter, not "ceiling ± a little": both halves of the window are used.
    assert.ok(samples.some((d) => d < ceiling / 4), `attempt ${attempt}: some early retries`);
    assert.ok(samples.some((d) => d > (ceiling * 3) / 4), `attempt ${attempt}: some late retries`);
  }
});
