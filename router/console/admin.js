// admin.js — a supervisor's powers in the console page (docs/console-protocol.md, "Take over and
// whisper", "Admin"): on a conversation opened read-only, take it over or whisper to the agent who
// has it; the Admin view (the queues the flow can produce with their agents, every account with
// its state, log out / disable / enable); and, for agents, the live whisper and "taken over"
// notices. Loaded after console.js, whose helpers ($, el, send, S, showApp) it uses; console.js
// hands it every message (HiloAdmin.handle) and every view change (HiloAdmin.show).
'use strict';

const HiloAdmin = (() => {
  const A = { data: null, timer: null, notices: [] };

  // --- notices (whispers, take-overs) for whoever is signed in ------------------------------
  const box = el('div', { id: 'notices', class: 'notices', testid: 'notices', role: 'status' });
  document.body.append(box);
  function notice(cls, testid, text) {
    const n = el('div', { class: 'notice ' + cls, testid },
      el('span', {}, text), el('button', { class: 'x', title: 'dismiss', onclick: () => n.remove() }, '×'));
    box.append(n);
    while (box.children.length > 4) box.firstChild.remove();
  }

  // --- on a conversation: take over, whisper ------------------------------------------------
  const panel = el('div', { id: 'sup-conv', class: 'sup-conv', hidden: '', testid: 'sup-conv' },
    el('div', { class: 'row' },
      el('span', { id: 'sup-holder', class: 'holder', testid: 'sup-holder' }),
      el('button', { id: 'sup-takeover', testid: 'sup-takeover', onclick: takeOver }, 'Take over')),
    el('div', { class: 'row' },
      el('textarea', { id: 'whisper-text', testid: 'whisper-text', rows: '2', maxlength: '2000',
        placeholder: 'Whisper to the agent (never sent to the debtor)' }),
      el('button', { id: 'whisper-send', testid: 'whisper-send', onclick: whisper }, 'Whisper')),
    el('ul', { id: 'sup-whispers', class: 'notes', testid: 'sup-whispers' }),
    el('p', { id: 'sup-conv-status', class: 'status', role: 'alert', testid: 'sup-conv-status' }));
  $('readonly').after(panel);

  function holderText(c) {
    if (c.agent) return 'Assigned to ' + c.agent + (c.state === 'assigned' ? '' : ' (' + c.state + ')');
    if (c.offer_agent) return 'Offered to ' + c.offer_agent;
    return c.state === 'queued' ? 'Waiting in ' + (c.queue || 'a queue') : 'State: ' + (c.state || '?');
  }

  function renderPanel() {
    const m = S.conv;
    const show = S.role === 'supervisor' && m && m.debtor === S.open && m.readonly;
    panel.hidden = !show;
    if (!show) return;
    if (panel.dataset.debtor !== m.debtor) {
      $('sup-conv-status').textContent = '';
      $('whisper-text').value = '';
      panel.dataset.debtor = m.debtor;
    }
    const c = m.conv || {};
    $('sup-holder').textContent = holderText(c);
    $('sup-takeover').disabled = !(c.state === 'assigned' || c.state === 'queued');
    const to = c.agent || c.offer_agent;
    $('whisper-send').disabled = !to;
    $('whisper-text').disabled = !to;
    // The whispers sent on this conversation (the notes panel is not shown read-only).
    $('sup-whispers').replaceChildren(...(m.notes || []).filter((n) => n.kind === 'whisper').map((n) =>
      el('li', { class: 'whisper', testid: 'sup-whisper' }, el('b', {}, (n.from_name || n.from) + ' → ' + n.to + ': '),
        n.text + ' — ' + new Date(n.ms).toLocaleString())));
  }

  function status(text, bad) {
    $('sup-conv-status').textContent = text;
    $('sup-conv-status').className = 'status' + (bad ? ' error' : '');
  }

  async function takeOver() {
    const d = S.open;
    if (!d) return;
    const r = await send('takeover', { debtor: d });
    if (d !== S.open) return;
    status(r.t === 'ok' ? 'You have this conversation now.' : 'Not taken over: ' + (r.text || r.code), r.t !== 'ok');
  }

  async function whisper() {
    const d = S.open, text = $('whisper-text').value.trim();
    if (!d || !text) return;
    const r = await send('whisper', { debtor: d, text });
    if (d !== S.open) return;
    if (r.t === 'ok') { $('whisper-text').value = ''; status('Whispered to ' + r.to + '.'); }
    else status('Not sent: ' + (r.text || r.code), true);
  }

  // --- the Admin view -----------------------------------------------------------------------
  const toAdmin = el('button', { id: 'to-admin', hidden: '', testid: 'to-admin' }, 'Admin');
  $('to-floor').after(toAdmin);
  const view = el('main', { id: 'admin', class: 'admin', hidden: '', testid: 'admin' },
    el('div', { class: 'row' }, el('h2', {}, 'Queues the flow can produce'),
      el('button', { id: 'admin-refresh', testid: 'admin-refresh', onclick: () => load() }, 'Refresh'),
      el('span', { id: 'admin-status', class: 'muted', testid: 'admin-status' })),
    el('table', { testid: 'admin-queues' }, el('thead', {}, el('tr', {}, el('th', {}, 'queue'), el('th', {}, 'named by'),
      el('th', {}, 'escalations'), el('th', { class: 'n' }, 'waiting'), el('th', {}, 'agents with the skill'))),
    el('tbody', { id: 'admin-queues' })),
    el('h2', {}, 'Accounts'),
    el('table', { testid: 'admin-agents' }, el('thead', {}, el('tr', {}, el('th', {}, 'agent'), el('th', {}, 'name'),
      el('th', {}, 'role'), el('th', {}, 'state'), el('th', { class: 'n' }, 'sessions'), el('th', {}, 'skills'),
      el('th', {}, 'actions'))), el('tbody', { id: 'admin-agents' })));
  $('floor').after(view);
  toAdmin.addEventListener('click', () => { S.view = 'admin'; showApp(); });

  const stateOf = (a) => a.disabled ? 'disabled' : !a.online && a.sessions === 0 ? 'signed out' : a.state;
  function chip(id) {
    const a = A.data && A.data.agents.find((x) => x.agent === id);
    const st = a ? stateOf(a) : 'unknown';
    return el('span', { class: 'chip ' + st.replace(' ', '-'), testid: 'admin-chip-' + id, title: st }, id);
  }

  async function act(op, agent) {
    const words = { agent_logout: 'Log ' + agent + ' out? Their open consoles close.',
      agent_disable: 'Disable ' + agent + '? They are logged out and cannot sign in again until enabled.' };
    if (words[op] && !window.confirm(words[op])) return;
    const r = await send(op, { agent });
    $('admin-status').textContent = r.t === 'ok' ? agent + ': ' + op.slice(6) + ' done' : agent + ': ' + (r.text || r.code);
    load();
  }

  function render() {
    const d = A.data;
    if (!d) return;
    $('admin-queues').replaceChildren(...d.queues.slice().sort((x, y) => x.queue.localeCompare(y.queue)).map((q) =>
      el('tr', { testid: 'admin-queue-' + q.queue, class: q.agents.length ? '' : 'unserved' },
        el('td', {}, q.queue), el('td', {}, q.sources.join(', ')), el('td', { class: 'why' }, q.escalations.join(', ')),
        el('td', { class: 'n' }, String(q.waiting)),
        el('td', {}, ...(q.agents.length ? q.agents.slice().sort().map(chip) : [el('span', { class: 'late' }, 'nobody')])))));
    $('admin-agents').replaceChildren(...d.agents.slice().sort((x, y) => x.agent.localeCompare(y.agent)).map((a) =>
      el('tr', { testid: 'admin-agent-' + a.agent },
        el('td', {}, a.agent), el('td', {}, a.name), el('td', {}, a.role),
        el('td', { testid: 'admin-state-' + a.agent }, el('span', { class: 'chip ' + stateOf(a).replace(' ', '-') }, stateOf(a))),
        el('td', { class: 'n' }, String(a.sessions)), el('td', { class: 'why' }, a.skills),
        el('td', {}, a.agent === S.me ? el('span', { class: 'muted' }, 'you') : null,
          a.agent !== S.me && a.sessions > 0 ? el('button', { testid: 'admin-logout-' + a.agent,
            onclick: () => act('agent_logout', a.agent) }, 'Log out') : null,
          a.agent !== S.me ? el('button', { testid: 'admin-' + (a.disabled ? 'enable-' : 'disable-') + a.agent,
            onclick: () => act(a.disabled ? 'agent_enable' : 'agent_disable', a.agent) }, a.disabled ? 'Enable' : 'Disable') : null))));
    $('admin-status').textContent = d.truncated ? 'only the first accounts and queues are shown' : '';
  }

  async function load() {
    const r = await send('admin').catch(() => null);
    if (!r || r.t !== 'ok') { if (r) $('admin-status').textContent = r.text || r.code; return; }
    A.data = r;
    render();
  }

  function show() {
    toAdmin.hidden = S.role !== 'supervisor' || S.view === 'admin';
    view.hidden = S.view !== 'admin';
    clearInterval(A.timer);
    A.timer = null;
    if (S.view === 'admin' && S.ws) { load(); A.timer = setInterval(load, 5000); }
    renderPanel();
  }

  function hide() {
    clearInterval(A.timer);
    A.timer = null;
    view.hidden = true;
    toAdmin.hidden = true;
    panel.hidden = true;
    box.replaceChildren(); // nothing of a debtor stays for whoever signs in next
  }

  function handle(m) {
    switch (m.t) {
      case 'hello': show(); break;
      case 'conv': case 'conv_gone': renderPanel(); break;
      case 'whisper':
        notice('whisper', 'whisper-notice', 'Whisper from ' + m.from_name + ' about ' + m.debtor + ': ' + m.text);
        break;
      default: break;
    }
    if (m.t === 'conv_gone' && m.reason === 'taken_over')
      notice('taken', 'taken-notice', (m.by_name || m.by) + ' took over the conversation with ' + m.debtor + '.');
  }

  return { handle, show, hide };
})();
