/**
 * The desktop's entry point (`/desktop`): takes the signed-in user from /login (or sends the
 * browser there), opens the gateway connection, shows its state in the header ("Online",
 * "Reconnecting…"), and starts the agent's desktop or, for a supervisor, the supervisor's
 * view. Agents switch their activity (Available, Unavailable, Break, Offline) in the header.
 */

import { h, replace } from './dom.js';
import { AgentView } from './agent.js';
import { SupervisorView } from './supervisor.js';
import { DesktopSession, storedSession } from './session.js';

const STATES = {
  connecting: 'Connecting…',
  connected: 'Online',
  reconnecting: 'Reconnecting…',
  disconnected: 'Offline',
};

const $ = (id) => document.getElementById(id);

function showNotice(text) {
  const notice = $('notice');
  notice.textContent = text;
  notice.hidden = false;
}

async function activitySwitcher(session) {
  const conn = session.connection;
  const select = $('activity');
  const [{ activities }, { worker }] = await Promise.all([
    session.api('GET', `/taskrouter/v1/Workspaces/${session.workspaceSid}/Activities?PageSize=50`),
    conn.request('worker'),
  ]);
  const order = ['Available', 'Unavailable', 'Break', 'Offline'];
  activities.sort((a, b) => (order.indexOf(a.friendly_name) + 1 || 99) - (order.indexOf(b.friendly_name) + 1 || 99));
  replace(select, activities.map((a) => h('option', { value: a.sid, text: a.friendly_name })));
  const show = (w) => {
    select.value = w.activity_sid;
    select.className = w.available ? 'available' : 'away';
  };
  show(worker);
  select.addEventListener('change', async () => {
    try {
      const answer = await conn.request('activity', { activity_sid: select.value });
      show(answer.worker);
    } catch (e) {
      showNotice(`Could not change activity: ${e.message}`);
    }
  });
  conn.addEventListener('worker_updated', (e) => show(e.detail.data.worker));
  $('activity-box').hidden = false;
}

async function main() {
  const stored = storedSession();
  if (!stored) {
    location.replace('/login?next=/desktop');
    return;
  }
  const session = new DesktopSession(stored);
  session.onSignedOut = () => location.assign('/login?next=/desktop');
  $('signout').addEventListener('click', () => session.signOut());
  $('me').textContent = `${session.name} · ${session.role}`;
  const pill = $('connection');
  const conn = session.connection;
  conn.addEventListener('state', (e) => {
    pill.textContent = STATES[e.detail.state] ?? e.detail.state;
    pill.dataset.state = e.detail.state;
    if (e.detail.state === 'disconnected' && e.detail.code >= 4500) {
      showNotice('The server ended this session. Sign in again.');
    }
  });
  try {
    await conn.connect();
  } catch (e) {
    showNotice(`Could not connect: ${e.message}`);
    return;
  }
  const root = $('app');
  if (session.role === 'supervisor') {
    await new SupervisorView(session, root).start();
  } else if (!session.workerSid) {
    showNotice('This login has no TaskRouter worker: ask an administrator to link one.');
  } else {
    await activitySwitcher(session);
    await new AgentView(session, root).start();
  }
}

main().catch((e) => showNotice(`Something went wrong: ${e.message}`));
