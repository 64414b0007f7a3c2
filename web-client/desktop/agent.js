/**
 * The agent's desktop (modelled on Flex UI 2): incoming offers with accept/reject and a
 * countdown, the agent's tasks (several chats at once, unread counts), the selected chat, and
 * the customer's context with the task's actions: transfer to a queue or an agent, invite a
 * second agent, end the chat (wrap-up) and complete. Also starts outbound SMS/WhatsApp
 * conversations. Reservations come from the routing seat (`worker`, `reservation_*` events);
 * after every reconnect the task list is read again, so nothing changed meanwhile is missed.
 */

import { h, replace } from './dom.js';
import { ChatPanel } from './chat-panel.js';
import { secondsLeft, taskView, upsertReservation } from './model.js';

export class AgentView {
  #session;
  #reservations = [];
  #panels = new Map();
  #selected = null;
  #targets = null;
  #clock = null;

  constructor(session, root) {
    this.#session = session;
    this.offers = h('ul', { class: 'offers', attrs: { 'aria-label': 'Incoming offers' } });
    this.tasks = h('ul', { class: 'task-list', attrs: { 'aria-label': 'My tasks' } });
    this.stage = h('div', { class: 'stage' }, h('p', { class: 'empty', text: 'No chat selected. Accepted tasks appear on the left.' }));
    this.context = h('aside', { class: 'context', attrs: { 'aria-label': 'Customer' } });
    this.outbound = this.#outboundForm();
    replace(
      root,
      h(
        'aside',
        { class: 'sidebar', attrs: { 'aria-label': 'Tasks' } },
        h('h2', { text: 'Offers' }),
        this.offers,
        h('h2', { text: 'My tasks' }),
        this.tasks,
        this.outbound,
      ),
      this.stage,
      this.context,
    );
    root.className = 'app agent';
  }

  /** Wires the connection's events and reads the worker's state. */
  async start() {
    const conn = this.#session.connection;
    conn.addEventListener('reservation_created', (e) => this.#reservation(e.detail.data.reservation));
    conn.addEventListener('reservation_updated', (e) => this.#reservation(e.detail.data.reservation));
    conn.addEventListener('event', (e) => {
      const frame = e.detail;
      if (frame.conversation_sid) this.#conversationEvent(frame);
    });
    conn.addEventListener('state', (e) => {
      if (e.detail?.state === 'connected') this.refresh().catch(() => {});
    });
    this.#clock = setInterval(() => this.#tick(), 1000);
    await this.refresh();
  }

  /** Reads the worker and its live reservations again. */
  async refresh() {
    const { reservations } = await this.#session.connection.request('worker');
    this.#reservations = [];
    for (const r of reservations) this.#reservations = upsertReservation(this.#reservations, r);
    for (const r of this.#reservations) if (r.reservation_status !== 'pending') this.#panelFor(taskView(r));
    this.#render();
  }

  #reservation(reservation) {
    this.#reservations = upsertReservation(this.#reservations, reservation);
    const view = taskView(reservation);
    // The agent started this one (outbound): take it at once, as Flex does.
    if (view.status === 'pending' && view.direction === 'outbound' && this.#pendingOutbound) {
      this.#pendingOutbound = false;
      this.outboundStatus.textContent = '';
      this.#accept(view);
    }
    if (view.status === 'accepted' && view.conversationSid) this.#panelFor(view);
    if (['completed', 'canceled', 'rescinded'].includes(view.status) && view.conversationSid) this.#drop(view.conversationSid);
    this.#render();
  }

  #pendingOutbound = false;
  #contextKey = null;

  #panelFor(view) {
    if (!view.conversationSid) return null;
    let panel = this.#panels.get(view.conversationSid);
    if (!panel) {
      panel = new ChatPanel(this.#session, view.conversationSid, { title: view.customerName, onChange: () => this.#renderTasks() });
      this.#panels.set(view.conversationSid, panel);
      this.stage.append(panel.el);
      panel.load();
    }
    return panel;
  }

  #drop(conversationSid) {
    const panel = this.#panels.get(conversationSid);
    if (!panel) return;
    panel.el.remove();
    this.#panels.delete(conversationSid);
    if (this.#selected === conversationSid) this.#selected = null;
  }

  #conversationEvent(frame) {
    const panel = this.#panels.get(frame.conversation_sid);
    if (panel) panel.handle(frame);
  }

  async #accept(view) {
    try {
      await this.#session.connection.request('accept', { reservation_sid: view.sid });
      this.#select(view.conversationSid);
    } catch (e) {
      this.#flash(`Could not accept: ${e.message}`);
    }
  }

  async #answer(type, view) {
    try {
      const { reservation } = await this.#session.connection.request(type, { reservation_sid: view.sid });
      this.#reservation(reservation);
    } catch (e) {
      this.#flash(`Could not ${type}: ${e.message}`);
    }
  }

  #select(conversationSid) {
    this.#selected = conversationSid;
    for (const [sid, panel] of this.#panels) panel.setVisible(sid === conversationSid);
    this.stage.querySelector('.empty')?.toggleAttribute('hidden', Boolean(conversationSid));
    this.#render();
  }

  #tick() {
    for (const li of this.offers.querySelectorAll('[data-timeout]')) {
      const left = secondsLeft({ timeout_at: li.dataset.timeout }, Date.now());
      li.querySelector('.countdown').textContent = `${left} s left`;
    }
  }

  #render() {
    const pending = this.#reservations.filter((r) => r.reservation_status === 'pending');
    replace(this.offers, pending.length ? pending.map((r) => this.#offer(r)) : h('li', { class: 'muted', text: 'No offers' }));
    this.#tick();
    this.#renderTasks();
    this.#renderContext();
  }

  #offer(r) {
    const view = taskView(r);
    const timeout = r.timeout_at ?? new Date(Date.parse(r.date_created) + (r.timeout_ms ?? 0)).toISOString();
    return h(
      'li',
      { class: 'offer', attrs: { 'data-timeout': timeout, 'aria-label': `Offer: ${view.channelType} from ${view.customerName}` } },
      h('p', { class: 'offer-title' }, h('strong', { text: view.customerName }), ` · ${view.channelType}`),
      h('p', { class: 'muted', text: view.queue ? `Queue: ${view.queue}` : '' }),
      h('p', { class: 'countdown', attrs: { 'aria-hidden': 'true' } }),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', text: 'Accept', attrs: { 'aria-label': `Accept chat from ${view.customerName}` }, on: { click: () => this.#accept(view) } }),
        h('button', { type: 'button', class: 'ghost', text: 'Reject', attrs: { 'aria-label': `Reject chat from ${view.customerName}` }, on: { click: () => this.#answer('reject', view) } }),
      ),
    );
  }

  #renderTasks() {
    const live = this.#reservations.filter((r) => r.reservation_status !== 'pending');
    replace(
      this.tasks,
      live.length
        ? live.map((r) => {
            const view = taskView(r);
            const unread = this.#panels.get(view.conversationSid)?.unread ?? 0;
            const label = `${view.customerName}, ${view.channelType}, ${view.status}${unread ? `, ${unread} unread` : ''}`;
            return h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: `task ${view.conversationSid === this.#selected ? 'selected' : ''}`,
                  attrs: { 'aria-label': label, 'aria-current': view.conversationSid === this.#selected ? 'true' : 'false' },
                  on: { click: () => this.#select(view.conversationSid) },
                },
                h('span', { class: 'task-name', text: view.customerName }),
                h('span', { class: `chip ${view.status}`, text: view.status === 'wrapping' ? 'Wrap-up' : view.channelType }),
                unread ? h('span', { class: 'badge', text: String(unread), attrs: { 'aria-hidden': 'true' } }) : null,
              ),
            );
          })
        : h('li', { class: 'muted', text: 'No tasks' }),
    );
  }

  #selectedView() {
    const r = this.#reservations.find((x) => taskView(x).conversationSid === this.#selected && x.reservation_status !== 'pending');
    return r ? taskView(r) : null;
  }

  #renderContext() {
    const view = this.#selectedView();
    // Rebuilt only when the selected task changes, so a target being chosen is kept.
    const key = view ? `${view.sid}:${view.status}` : '';
    if (key === this.#contextKey) return;
    this.#contextKey = key;
    if (!view) {
      replace(this.context, h('h2', { text: 'Customer' }), h('p', { class: 'muted', text: 'Select a task to see its customer.' }));
      return;
    }
    const facts = [
      ['Name', view.customerName],
      ['Channel', view.channelType],
      ['Address', view.customerAddress],
      ['Queue', view.queue],
      ['Direction', view.direction],
      ...Object.entries(view.preEngagement).filter(([k]) => k !== 'friendlyName').map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ].filter(([, v]) => v);
    const dl = h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })]));
    const actions = view.status === 'wrapping'
      ? [h('button', { type: 'button', text: 'Complete', on: { click: () => this.#answer('complete', view) } })]
      : [
          this.#transferForm(view),
          h('button', { type: 'button', class: 'danger', text: 'End chat', on: { click: () => this.#endChat(view) } }),
        ];
    replace(this.context, h('h2', { text: 'Customer' }), dl, h('div', { class: 'actions' }, actions));
  }

  /** Transfer (cold) or invite, to a queue or an agent of the workspace. */
  #transferForm(view) {
    const select = h('select', { id: `target-${view.sid}` }, h('option', { value: '', text: 'Loading…' }));
    this.#transferTargets().then((targets) => {
      replace(
        select,
        h('optgroup', { label: 'Queues' }, targets.queues.map((q) => h('option', { value: q.sid, text: q.friendly_name }))),
        h('optgroup', { label: 'Agents' }, targets.workers.map((w) => h('option', { value: w.sid, text: w.name }))),
      );
    }, () => replace(select, h('option', { value: '', text: 'No targets' })));
    const go = (kind) => async () => {
      if (!select.value) return;
      try {
        if (kind === 'transfer') await this.#transfer(view, select.value);
        else await this.#invite(view, select.value);
        this.#flash(kind === 'transfer' ? 'Transfer requested' : 'Invite sent');
      } catch (e) {
        this.#flash(`Could not ${kind}: ${e.message}`);
      }
    };
    return h(
      'fieldset',
      { class: 'transfer', disabled: !view.channelSid },
      h('legend', { text: 'Transfer or invite' }),
      h('label', { htmlFor: select.id, text: 'Queue or agent' }),
      select,
      h('div', { class: 'row' },
        h('button', { type: 'button', text: 'Transfer', on: { click: go('transfer') } }),
        h('button', { type: 'button', class: 'ghost', text: 'Invite', on: { click: go('invite') } })),
    );
  }

  async #transferTargets() {
    this.#targets ??= (async () => {
      const ws = this.#session.workspaceSid;
      const [queues, workers] = await Promise.all([
        this.#session.api('GET', `/taskrouter/v1/Workspaces/${ws}/TaskQueues?PageSize=200`),
        this.#session.api('GET', `/taskrouter/v1/Workspaces/${ws}/Workers?PageSize=200`),
      ]);
      const me = this.#session.connection.session?.identity;
      return {
        queues: queues.task_queues,
        workers: workers.workers
          .map((w) => ({ sid: w.sid, name: JSON.parse(w.attributes || '{}').full_name || w.friendly_name, uri: JSON.parse(w.attributes || '{}').contact_uri }))
          .filter((w) => w.uri !== `client:${me}`),
      };
    })();
    this.#targets.catch(() => { this.#targets = null; });
    return this.#targets;
  }

  #channelPath(view) {
    return `/flex-api/v1/Interactions/${view.interactionSid}/Channels/${view.channelSid}`;
  }

  async #transfer(view, to) {
    const { participants } = await this.#session.api('GET', `${this.#channelPath(view)}/Participants`);
    const me = participants.find((p) => p.type === 'agent' && p.media_properties?.identity === this.#session.identity);
    if (!me) throw new Error('you are not on this interaction');
    await this.#session.api('POST', `${this.#channelPath(view)}/Transfers`, { json: { type: 'cold', from: me.sid, to } });
  }

  async #invite(view, to) {
    const properties = {
      workspace_sid: this.#session.workspaceSid,
      task_channel_unique_name: view.taskChannel ?? 'chat',
      attributes: { invitedBy: this.#session.identity },
      [to.startsWith('WQ') ? 'queue_sid' : 'worker_sid']: to,
    };
    await this.#session.api('POST', `${this.#channelPath(view)}/Invites`, { form: { Routing: JSON.stringify({ properties }) } });
  }

  /** Ends the chat for everyone (the interaction channel closes) and starts wrap-up. */
  async #endChat(view) {
    try {
      if (view.channelSid) {
        await this.#session.api('POST', this.#channelPath(view), { form: { Status: 'closed' } });
      } else {
        await this.#answer('wrapup', view);
      }
      const { reservations } = await this.#session.connection.request('worker');
      for (const r of reservations) this.#reservation(r);
    } catch (e) {
      this.#flash(`Could not end the chat: ${e.message}`);
    }
  }

  #outboundForm() {
    const id = (n) => `outbound-${n}`;
    const status = h('p', { class: 'muted', attrs: { role: 'status' } });
    this.outboundStatus = status;
    const form = h(
      'form',
      {
        class: 'outbound',
        on: {
          submit: async (e) => {
            e.preventDefault();
            const data = new FormData(form);
            const to = String(data.get('to')).trim();
            const from = String(data.get('from')).trim();
            const type = String(data.get('channel'));
            const prefix = type === 'whatsapp' ? 'whatsapp:' : '';
            try {
              this.#pendingOutbound = true;
              await this.#session.api('POST', '/flex-api/v1/Interactions', {
                form: {
                  Channel: JSON.stringify({ type, initiated_by: 'agent', participants: [{ address: prefix + to, proxy_address: prefix + from }] }),
                  Routing: JSON.stringify({
                    properties: {
                      workspace_sid: this.#session.workspaceSid,
                      worker_sid: this.#session.workerSid,
                      task_channel_unique_name: type,
                      attributes: { customerName: to, direction: 'outbound' },
                    },
                  }),
                },
              });
              status.textContent = `Starting a conversation with ${to}…`;
              form.reset();
            } catch (err) {
              this.#pendingOutbound = false;
              status.textContent = `Could not start it: ${err.message}`;
            }
          },
        },
      },
      h('h2', { text: 'New outbound message' }),
      h('label', { htmlFor: id('channel'), text: 'Channel' }),
      h('select', { id: id('channel'), name: 'channel' }, h('option', { value: 'sms', text: 'SMS' }), h('option', { value: 'whatsapp', text: 'WhatsApp' })),
      h('label', { htmlFor: id('to'), text: 'Customer number' }),
      h('input', { id: id('to'), name: 'to', type: 'tel', required: true, placeholder: '+15551234567', pattern: '\\+[1-9][0-9]{6,14}' }),
      h('label', { htmlFor: id('from'), text: 'From number' }),
      h('input', { id: id('from'), name: 'from', type: 'tel', required: true, placeholder: '+15550001111', pattern: '\\+[1-9][0-9]{6,14}' }),
      h('button', { type: 'submit', text: 'Start conversation' }),
      status,
    );
    return form;
  }

  #flash(text) {
    const notice = document.getElementById('notice');
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { notice.hidden = true; }, 6000);
  }
}
