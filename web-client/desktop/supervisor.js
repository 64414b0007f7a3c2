/**
 * The supervisor's view: every worker with its activity and tasks, and every queue's waiting
 * tasks, longest wait and available agents, live from the routing seat's `statistics` events
 * (a snapshot at start and after each reconnection, then only the workers that changed);
 * the live conversations (the workspace's assigned, wrapping and waiting tasks); and a
 * conversation opened to monitor anonymously (messages, typing, attachments as they happen),
 * with "Join" to take part visibly.
 */

import { h, replace } from './dom.js';
import { ChatPanel } from './chat-panel.js';
import { emptyRoster, formatWait, mergeRoster, queueRows, taskView, workerRows } from './model.js';

const LIVE = ['pending', 'reserved', 'assigned', 'wrapping'];

export class SupervisorView {
  #session;
  #panel = null;
  #refreshTimer = null;
  #roster = emptyRoster();

  constructor(session, root) {
    this.#session = session;
    this.workers = h('tbody');
    this.queues = h('tbody');
    this.conversations = h('ul', { class: 'conversation-list', attrs: { 'aria-label': 'Live conversations' } });
    this.stage = h('div', { class: 'stage' }, h('p', { class: 'empty', text: 'Choose a conversation to monitor it. Nobody sees that you are watching.' }));
    const table = (caption, heads, body) =>
      h('table', {}, h('caption', { text: caption }), h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col', text: t })))), body);
    replace(
      root,
      h(
        'section',
        { class: 'floor', attrs: { 'aria-label': 'Floor' } },
        table('Agents', ['Agent', 'Activity', 'Tasks'], this.workers),
        table('Queues', ['Queue', 'Waiting', 'Longest wait', 'Available agents'], this.queues),
        h('h2', { text: 'Live conversations' }),
        this.conversations,
      ),
      this.stage,
    );
    root.className = 'app supervisor';
  }

  async start() {
    const conn = this.#session.connection;
    conn.addEventListener('statistics', (e) => {
      this.#statistics(e.detail.data);
      this.#scheduleConversations();
    });
    conn.addEventListener('event', (e) => {
      const frame = e.detail;
      if (this.#panel && frame.conversation_sid === this.#panel.sid) this.#panel.handle(frame);
    });
    conn.addEventListener('state', (e) => {
      if (e.detail?.state === 'connected') this.refresh().catch(() => {});
    });
    await this.refresh();
  }

  async refresh() {
    // A new connection may be to a restarted server, whose frames are numbered afresh.
    this.#roster = emptyRoster();
    this.#statistics(await this.#session.connection.request('statistics'));
    await this.#loadConversations();
  }

  #statistics(stats) {
    mergeRoster(this.#roster, stats);
    replace(
      this.workers,
      workerRows({ workers: [...this.#roster.workers.values()] }).map((w) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row', text: w.name }),
          h('td', {}, h('span', { class: `chip ${w.available ? 'available' : 'away'}`, text: w.activity })),
          h('td', { text: w.tasks ? `${w.tasks} (${w.detail})` : '0' }),
        ),
      ),
    );
    replace(
      this.queues,
      queueRows(stats).map((q) =>
        h('tr', {}, h('th', { scope: 'row', text: q.name }), h('td', { text: String(q.waiting) }), h('td', { text: formatWait(q.longestWait) }), h('td', { text: `${q.available} of ${q.eligible}` })),
      ),
    );
  }

  /** Statistics change whenever tasks do: read the task list again, at most once a second. */
  #scheduleConversations() {
    this.#refreshTimer ??= setTimeout(() => {
      this.#refreshTimer = null;
      this.#loadConversations().catch(() => {});
    }, 1000);
  }

  async #loadConversations() {
    const ws = this.#session.workspaceSid;
    const lists = await Promise.all(
      LIVE.map((s) => this.#session.api('GET', `/taskrouter/v1/Workspaces/${ws}/Tasks?AssignmentStatus=${s}&PageSize=200`)),
    );
    const tasks = lists.flatMap((l) => l.tasks).map((t) => ({ task: t, view: taskView({ sid: t.sid, task: t, reservation_status: t.assignment_status }) }));
    const rows = tasks.filter(({ view }) => view.conversationSid);
    replace(
      this.conversations,
      rows.length
        ? rows.map(({ task, view }) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: `task ${this.#panel?.sid === view.conversationSid ? 'selected' : ''}`,
                  attrs: { 'aria-label': `Monitor ${view.customerName}, ${view.channelType}, ${task.assignment_status}` },
                  on: { click: () => this.#monitor(view) },
                },
                h('span', { class: 'task-name', text: view.customerName }),
                h('span', { class: `chip ${task.assignment_status}`, text: `${view.channelType} · ${task.assignment_status}` }),
                h('span', { class: 'muted', text: formatWait(task.age) }),
              ),
            ),
          )
        : h('li', { class: 'muted', text: 'No live conversations' }),
    );
  }

  async #monitor(view) {
    if (this.#panel?.sid === view.conversationSid) return;
    if (this.#panel) {
      this.#panel.el.remove();
      this.#session.connection.unmonitor(this.#panel.sid).catch(() => {});
    }
    const panel = new ChatPanel(this.#session, view.conversationSid, { mode: 'monitor', title: view.customerName });
    this.#panel = panel;
    const join = h('button', {
      type: 'button',
      text: 'Join conversation',
      on: {
        click: async () => {
          try {
            await panel.join();
            join.remove();
            status.textContent = 'You joined: everyone sees your messages.';
          } catch (e) {
            status.textContent = `Could not join: ${e.message}`;
          }
        },
      },
    });
    const status = h('p', { class: 'muted', attrs: { role: 'status' }, text: 'Monitoring silently.' });
    panel.actions.append(status, join);
    this.stage.querySelector('.empty')?.setAttribute('hidden', '');
    this.stage.append(panel.el);
    panel.setVisible(true);
    this.#loadConversations().catch(() => {});
  }
}
