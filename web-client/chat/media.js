/**
 * Chat attachments, shared by the webchat widget and the agent desktop: upload a file to the
 * Media Content Service (`POST /mcs/v1/Services/{IS}/Media`, docs/protocol.md § send), find
 * the signed, expiring URL of an uploaded file, and the small presentation rules around them.
 * Callers authenticate with their access token in `X-Twilio-Token`. `fetch` is a parameter so
 * `node --test` drives these with a fake; nothing here touches the DOM.
 */

/**
 * Uploads one file; resolves with its media record.
 * @param {object} options
 * @param {string} options.origin the server, e.g. `https://chat.example.com`
 * @param {string} options.serviceSid the conversation service (IS…)
 * @param {string} options.token an access token
 * @param {Blob & {name?: string}} options.file
 * @param {typeof fetch} [options.fetch]
 * @returns {Promise<{sid: string, content_type: string, filename: string | null, size: number}>}
 * @throws {MediaError} with a message fit to show, `status` and `code`
 */
export async function uploadMedia({ origin, serviceSid, token, file, fetch = globalThis.fetch }) {
  const query = file?.name ? `?Filename=${encodeURIComponent(file.name)}` : '';
  const response = await request(fetch, `${mediaBase(origin, serviceSid)}${query}`, {
    method: 'POST',
    headers: { 'Content-Type': file?.type || 'application/octet-stream', 'X-Twilio-Token': token },
    body: file,
  });
  const media = await response.json();
  return {
    sid: media.sid,
    content_type: media.content_type,
    filename: media.filename ?? null,
    size: media.size,
  };
}

/**
 * The signed, expiring URL of an uploaded file (`links.content_direct_temporary`), fit for
 * `<img src>` and `<a href>` without credentials.
 * @param {object} options
 * @param {string} options.origin
 * @param {string} options.serviceSid
 * @param {string} options.token
 * @param {string} options.sid the media SID (ME…)
 * @param {typeof fetch} [options.fetch]
 * @returns {Promise<string>}
 */
export async function mediaUrl({ origin, serviceSid, token, sid, fetch = globalThis.fetch }) {
  const response = await request(fetch, `${mediaBase(origin, serviceSid)}/${encodeURIComponent(sid)}`, {
    headers: { 'X-Twilio-Token': token },
  });
  const media = await response.json();
  const url = media?.links?.content_direct_temporary;
  if (typeof url !== 'string' || !url) throw new MediaError('The server sent no link for this file', {});
  return new URL(url, origin).href;
}

/** An upload or lookup the server refused (or that never reached it). */
export class MediaError extends Error {
  /**
   * @param {string} message fit to show to the user
   * @param {{status?: number, code?: number}} details
   */
  constructor(message, { status, code } = {}) {
    super(message);
    this.name = 'MediaError';
    this.status = status;
    this.code = code;
  }
}

/**
 * `1536` → `1.5 KB`: sizes as people read them (powers of 1024, one decimal below 10).
 * @param {number} bytes
 * @returns {string}
 */
export function formatSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${units[unit]}`;
}

/** Image types a browser shows inline (SVG left out: it is a document, not a picture). */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);

/**
 * Whether media of `contentType` can be previewed as an `<img>`.
 * @param {string} contentType e.g. `image/png; charset=binary`
 * @returns {boolean}
 */
export function isImage(contentType) {
  const essence = String(contentType ?? '').split(';')[0].trim().toLowerCase();
  return INLINE_IMAGES.has(essence);
}

/**
 * The text to show for a refused request, from the status and Twilio's error body
 * `{code, message, status, more_info}`.
 * @param {number} status
 * @param {unknown} body
 * @returns {string}
 */
export function errorMessage(status, body) {
  const code = body?.code;
  const message = typeof body?.message === 'string' ? body.message : '';
  // 20001 is also "bad parameter": only its size-limit message means too large.
  if (status === 413 || (code === 20001 && /limit of \d+ bytes/i.test(message))) {
    const limit = /limit of (\d+) bytes/i.exec(message);
    return limit ? `File too large (max ${formatSize(Number(limit[1]))})` : 'File too large';
  }
  if (status === 415 || code === 12300) return 'This file type is not accepted';
  return message || `The server answered ${status}`;
}

function mediaBase(origin, serviceSid) {
  return `${String(origin).replace(/\/+$/, '')}/mcs/v1/Services/${encodeURIComponent(serviceSid)}/Media`;
}

/** `fetch`, with refusals and network failures turned into a `MediaError`. */
async function request(fetch, url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new MediaError('Could not reach the server; check your connection', {});
  }
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  throw new MediaError(errorMessage(response.status, body), {
    status: response.status,
    code: typeof body?.code === 'number' ? body.code : undefined,
  });
}
