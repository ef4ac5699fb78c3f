// drill.js — the supervisor floor's drill-down and live SLA alerts (docs/console-protocol.md,
// "Drill-down", "SLA alerts"). A click on a queue's row opens who waits in it (why, on which
// channel, for how long), on an agent's row what that agent holds and is offered, the "Calls"
// button the voice conversations waiting and assigned; the router pushes the open view once a
// second until it is closed. The alerts banner lists every conversation past its first-response
// or resolution target, as pushed. Uses console.js's $, el, send, fmtMs, fmtTarget; all text
// goes in with textContent (names come from the portfolio).
'use strict';

const Drill = (() => {
  let open = null; // {view, id} asked for, or null

  const panel = el('section', { id: 'f-detail', class: 'detail', testid: 'detail', hidden: '' });
  const banner = el('section', { id: 'f-alerts', class: 'alerts', testid: 'sla-alerts', hidden: '', role: 'alert' });
  const floor = $('floor');
  floor.insertBefore(banner, floor.firstChild);
  $('f-queues').closest('table').after(panel);
  const callsBtn = el('button', { testid: 'open-calls', class: 'calls-btn' }, 'Calls waiting and in progress');
  panel.before(callsBtn);
  callsBtn.after(el('span', { class: 'muted drill-hint' }, 'Click a queue or an agent for who waits and what they hold.'));

  function request(view, id) {
    open = view === 'none' ? null : { view, id };
    if (!open) { panel.hidden = true; panel.replaceChildren(); }
    else panel.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    panel.hidden = !open;
    send('detail', Object.assign({ view }, id ? { id } : {})).then((m) => {
      if (m.t === 'error' && open && open.view === view && open.id === id) {
        panel.replaceChildren(el('p', { class: 'late', testid: 'detail-error' }, m.text || m.code));
      }
    }).catch(() => {});
  }

  // Clicks on the floor's tables (rows are re-drawn every second: one listener on the body).
  $('f-queues').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr && tr.dataset.testid) request('queue', tr.dataset.testid.slice('queue-'.length));
  });
  $('f-agents').addEventListener('click', (ev) => {
    if (ev.target.closest('select')) return;
    const tr = ev.target.closest('tr');
    if (tr && tr.dataset.testid) request('agent', tr.dataset.testid.slice('agent-'.length));
  });
  callsBtn.addEventListener('click', () => request('calls'));

  const who = (r) => el('td', { testid: 'who-' + r.debtor }, el('b', {}, r.name || '(no name)'),
    el('small', { class: 'muted' }, ' ' + r.debtor));
  const chan = (c) => el('td', {}, c ? el('span', { class: 'badge ' + c }, c) : '–');
  const why = (r) => el('td', { class: 'reason' }, (r.reason || '–').replace(/_/g, ' ') +
    (r.reason_detail ? ' — ' + r.reason_detail : ''));
  const since = (now, ms) => (ms ? fmtMs(now - ms) : '–');
  const table = (testid, heads, rows, empty) => rows.length
    ? el('table', { class: 'drill', testid }, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows))
    : el('p', { class: 'muted', testid }, empty);

  function head(title, sub) {
    const close = el('button', { testid: 'detail-close', class: 'close' }, 'Close');
    close.addEventListener('click', () => request('none'));
    return el('header', {}, el('h3', { testid: 'detail-title' }, title), sub ? el('span', { class: 'muted' }, sub) : null,
      close);
  }

  function queueView(m) {
    const late = (r) => (m.now - r.since_ms > m.first_response_target_ms ? 'late' : '');
    return [head('Waiting in ' + m.id, m.waiting_total + ' waiting · targets: first reply ' +
      fmtTarget(m.first_response_target_ms) + ', resolution ' + fmtTarget(m.resolution_target_ms)),
    table('detail-waiting', ['debtor', 'channel', 'why', 'waiting', 'offered to'], m.waiting.map((r) =>
      el('tr', { testid: 'waiting-' + r.debtor }, who(r), chan(r.channel), why(r),
        el('td', { class: late(r), testid: 'waited-' + r.debtor }, since(m.now, r.since_ms)),
        el('td', {}, r.offered_to || '–'))), 'Nobody is waiting in this queue.')];
  }

  function agentView(m) {
    const a = m.agent;
    const load = ['whatsapp', 'sms', 'voice'].map((c) => c + ' ' + a.load[c] + '/' + a.capacity[c]).join(' · ');
    const state = (a.disabled ? 'disabled · ' : '') + a.state + (a.state_since_ms && a.online ? ' for ' + since(m.now, a.state_since_ms) : '');
    return [head((a.name || m.id) + ' (' + m.id + ')', state + ' · ' + load),
      table('detail-convs', ['debtor', 'holds', 'channel', 'why', 'since', 'since escalation'], m.conversations.map((r) =>
        el('tr', { testid: 'holds-' + r.debtor }, who(r), el('td', { class: 'holds ' + r.holds }, r.holds), chan(r.channel),
          why(r), el('td', {}, since(m.now, r.holds === 'assigned' ? r.assigned_ms : r.offered_ms)),
          el('td', {}, since(m.now, r.since_ms)))), 'No conversation assigned or offered.')];
  }

  function callsView(m) {
    return [head('Calls', m.waiting.length + ' waiting · ' + m.in_progress.length + ' with an agent'),
      el('h4', {}, 'Waiting in a queue'),
      table('calls-waiting', ['caller', 'queue', 'why', 'waiting'], m.waiting.map((r) =>
        el('tr', { testid: 'call-waiting-' + r.debtor }, who(r), el('td', {}, r.queue || '–'), why(r),
          el('td', {}, since(m.now, r.since_ms)))), 'No call is waiting.'),
      el('h4', {}, 'With an agent'),
      table('calls-in-progress', ['caller', 'agent', 'since', 'why'], m.in_progress.map((r) =>
        el('tr', { testid: 'call-agent-' + r.debtor }, who(r), el('td', {}, r.agent || '–'),
          el('td', {}, since(m.now, r.assigned_ms)), why(r))), 'No call is with an agent.')];
  }

  function detail(m) {
    if (!open || m.view !== open.view || (open.id && m.id !== open.id)) return;
    const views = { queue: queueView, agent: agentView, calls: callsView };
    if (!views[m.view]) return;
    panel.replaceChildren(...views[m.view](m));
    panel.hidden = false;
  }

  function alerts(m) {
    const list = Array.isArray(m.alerts) ? m.alerts : [];
    banner.hidden = list.length === 0;
    if (!list.length) { banner.replaceChildren(); return; }
    list.sort((x, y) => x.deadline_ms - y.deadline_ms);
    banner.replaceChildren(el('h3', {}, list.length + (list.length === 1 ? ' conversation' : ' conversations') + ' past target'),
      el('ul', {}, ...list.map((a) => {
        const what = a.kind === 'first_response'
          ? 'waiting for a first reply ' + fmtMs(a.waited_ms) + ' (target ' + fmtTarget(a.target_ms) + ')'
          : 'open ' + fmtMs(a.waited_ms) + ' since escalation (resolution target ' + fmtTarget(a.target_ms) + ')';
        const li = el('li', { testid: 'alert-' + a.kind + '-' + a.debtor, class: a.kind },
          el('b', {}, a.queue), ' — ', el('span', {}, (a.name || '(no name)') + ' (' + a.debtor + ')'), ' ' + what +
          (a.agent ? ', with ' + a.agent : ''));
        li.addEventListener('click', () => (a.agent ? request('agent', a.agent) : request('queue', a.queue)));
        return li;
      })));
  }

  // After a reconnect the router knows nothing of this page: ask for the open view again.
  function resync() { if (open) request(open.view, open.id); }

  return { detail, alerts, resync };
})();
