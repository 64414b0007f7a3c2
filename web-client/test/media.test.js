/**
 * Chat attachments (chat/media.js) against a fake `fetch`: the upload request as the server
 * expects it, Twilio error bodies turned into messages fit to show, the signed link lookup,
 * and the size and type rules.
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { errorMessage, formatSize, isImage, mediaUrl, uploadMedia } from '../chat/media.js';

const ORIGIN = 'https://chat.owl.example';

/** A fetch that records its calls and answers `status` with `body` as JSON. */
function fakeFetch(status, body) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url, init });
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => {
        if (body === undefined) throw new SyntaxError('not JSON');
        return body;
      },
    };
  };
  return { fetch, calls };
}

const file = new Blob(['%PDF-1.7'], { type: 'application/pdf' });
file.name = 'order #12 (final).pdf';

test('upload: raw bytes, the file type, the token header and the encoded file name', async () => {
  const { fetch, calls } = fakeFetch(201, {
    sid: 'ME1',
    content_type: 'application/pdf',
    filename: 'order #12 (final).pdf',
    size: 8,
    links: {},
  });
  const media = await uploadMedia({ origin: `${ORIGIN}/`, serviceSid: 'IS1', token: 'tok', file, fetch });
  assert.deepEqual(media, { sid: 'ME1', content_type: 'application/pdf', filename: 'order #12 (final).pdf', size: 8 });
  assert.equal(calls.length, 1);
  const { url, init } = calls[0];
  assert.equal(url, `${ORIGIN}/mcs/v1/Services/IS1/Media?Filename=order%20%2312%20(final).pdf`);
  assert.equal(init.method, 'POST');
  assert.equal(init.body, file);
  assert.deepEqual(init.headers, { 'Content-Type': 'application/pdf', 'X-Twilio-Token': 'tok' });
});

test('upload: a file without a type goes as application/octet-stream', async () => {
  const { fetch, calls } = fakeFetch(201, { sid: 'ME2', content_type: 'application/octet-stream', size: 1 });
  const blob = new Blob(['x']);
  await uploadMedia({ origin: ORIGIN, serviceSid: 'IS1', token: 't', file: blob, fetch });
  assert.equal(calls[0].init.headers['Content-Type'], 'application/octet-stream');
  assert.equal(calls[0].url, `${ORIGIN}/mcs/v1/Services/IS1/Media`);
});

test('upload errors: too large, refused type, the server message otherwise, unreachable', async () => {
  const cases = [
    [413, { code: 20001, status: 413, message: 'Request body exceeds the limit of 157286400 bytes' }, 'File too large (max 150 MB)', 20001],
    [413, undefined, 'File too large', undefined],
    [415, { code: 12300, status: 415, message: 'Content type x/y is not accepted for chat media' }, 'This file type is not accepted', 12300],
    [400, { code: 20001, status: 400, message: 'Content-Type must be the uploaded file\'s media type' }, 'Content-Type must be the uploaded file\'s media type', 20001],
    [401, { code: 20003, status: 401, message: 'Authentication Error' }, 'Authentication Error', 20003],
  ];
  for (const [status, body, message, code] of cases) {
    const { fetch } = fakeFetch(status, body);
    await assert.rejects(uploadMedia({ origin: ORIGIN, serviceSid: 'IS1', token: 't', file, fetch }), (error) => {
      assert.equal(error.message, message);
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      return true;
    });
  }
  const offline = async () => {
    throw new TypeError('Failed to fetch');
  };
  await assert.rejects(uploadMedia({ origin: ORIGIN, serviceSid: 'IS1', token: 't', file, fetch: offline }), /Could not reach/);
});

test('mediaUrl: GET the record with the token, answer its signed link', async () => {
  const link = `${ORIGIN}/mcs/v1/Services/IS1/Media/ME1/Content?Token=abc`;
  const { fetch, calls } = fakeFetch(200, { sid: 'ME1', links: { content: '/x', content_direct_temporary: link } });
  assert.equal(await mediaUrl({ origin: ORIGIN, serviceSid: 'IS1', token: 'tok', sid: 'ME1', fetch }), link);
  assert.equal(calls[0].url, `${ORIGIN}/mcs/v1/Services/IS1/Media/ME1`);
  assert.equal(calls[0].init.method, undefined);
  assert.deepEqual(calls[0].init.headers, { 'X-Twilio-Token': 'tok' });

  const missing = fakeFetch(404, { code: 20404, status: 404, message: 'The requested resource /ME9 was not found' });
  await assert.rejects(mediaUrl({ origin: ORIGIN, serviceSid: 'IS1', token: 't', sid: 'ME9', fetch: missing.fetch }), {
    message: 'The requested resource /ME9 was not found',
    status: 404,
    code: 20404,
  });
  const linkless = fakeFetch(200, { sid: 'ME1', links: {} });
  await assert.rejects(mediaUrl({ origin: ORIGIN, serviceSid: 'IS1', token: 't', sid: 'ME1', fetch: linkless.fetch }), /no link/);
});

test('formatSize reads like people write sizes', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(1023), '1023 B');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(20 * 1024), '20 KB');
  assert.equal(formatSize(150 * 1024 * 1024), '150 MB');
  assert.equal(formatSize(3.25 * 1024 ** 3), '3.3 GB');
  assert.equal(formatSize(-1), '');
});

test('isImage: the raster types a browser previews, parameters ignored; SVG is not one', () => {
  for (const yes of ['image/png', 'IMAGE/JPEG', 'image/gif; charset=binary', 'image/webp']) assert.ok(isImage(yes), yes);
  for (const no of ['image/svg+xml', 'application/pdf', '', undefined, 'text/html']) assert.ok(!isImage(no), String(no));
});

test('errorMessage without a body uses the status', () => {
  assert.equal(errorMessage(502, null), 'The server answered 502');
});
