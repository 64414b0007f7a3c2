/**
 * The webchat widget's entry point: the one script a business puts on its pages,
 *
 *   <script type="module" src="https://HOST/webchat/widget.js"
 *           data-switchboard-address="IG…"></script>
 *
 * It finds its own tag, takes the Switchboard server's origin from its own URL, and mounts a
 * launcher in a shadow root on a host element of its own, so the page's CSS and the widget's
 * cannot reach each other; the stylesheet (widget.css, same origin) is linked inside the
 * shadow root. Optional attributes on the tag: `data-switchboard-title` (the panel's heading)
 * and `data-switchboard-context` (JSON sent as `PreEngagementData`). A chat started earlier
 * (this tab, a reload, another tab) is reopened from `localStorage`.
 */

import { ChatSession } from './session.js';
import { WebchatView } from './view.js';

const ORIGIN = new URL(import.meta.url).origin;
const HOST_ID = 'switchboard-webchat';

/** Mounts the widget for the first `script[data-switchboard-address]` of the page. */
function mount(doc = document) {
  if (doc.getElementById(HOST_ID)) return; // Included twice: one widget is enough.
  const script = doc.querySelector('script[data-switchboard-address]');
  const addressSid = script?.dataset.switchboardAddress?.trim();
  if (!addressSid) {
    console.warn('Switchboard webchat: add data-switchboard-address="IG…" to the widget script tag');
    return;
  }
  const host = doc.createElement('div');
  host.id = HOST_ID;
  const root = host.attachShadow({ mode: 'open' });
  const style = doc.createElement('link');
  style.setAttribute('rel', 'stylesheet');
  style.setAttribute('href', `${ORIGIN}/webchat/widget.css`);
  root.append(style);

  const session = new ChatSession({
    origin: ORIGIN,
    addressSid,
    storage: storage(),
    preEngagementData: parseContext(script.dataset.switchboardContext),
  });
  const view = new WebchatView(root, session, { title: script.dataset.switchboardTitle || 'Chat with us' });
  doc.body.append(host);
  session.restore();
  if (session.wasOpen) view.setOpen(true, { focus: false });
}

/** `localStorage`, or null where the page may not use it (sandboxed frames, some privacy modes). */
function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

function parseContext(text) {
  if (!text) return null;
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : null;
  } catch {
    console.warn('Switchboard webchat: data-switchboard-context is not JSON; ignored');
    return null;
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mount(), { once: true });
else mount();
