// reports.js — the supervisor's Reports view: the daily roll-ups of a date range
// ({"t":"report"}, docs/console-protocol.md, "Reports") as per-day charts drawn here in plain
// SVG (no chart library: the page stays small and has no external assets), tables by queue,
// agent, strategy, escalation reason, disposition and compliance block over the range, and the CSV export
// (the router writes the CSV, the page saves it with a Blob: the download rides the
// authenticated websocket, no token in a URL). Uses console.js's $, el, send and S; console.js
// calls Reports.sync() when it shows or hides its views.
'use strict';

const Reports = (() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, ...kids) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  };
  const SERIES = [['escalated', 'Escalated', '#6b7bd6'], ['answered', 'Answered', '#2a9d68'], ['closed', 'Closed', '#c9822b']];
  const QUEUE_COLS = ['escalated', 'offered', 'answered', 'abandoned', 'closed', 'sla_met', 'sla_breached'];
  const STRATEGY_COLS = ['sent', 'delivered', 'replied', 'promised', 'paid', 'collected_cents'];
  let last = null; // the report shown (for the CSV button's range)

  const iso = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  const pct = (met, br) => (met + br > 0 ? Math.round((met * 100) / (met + br)) + '%' : '–');
  const add = (into, from) => { for (const [k, v] of Object.entries(from || {})) if (typeof v === 'number') into[k] = (into[k] || 0) + v; };

  // --- the view ---------------------------------------------------------------------------
  const view = el('main', { id: 'reports', hidden: '', testid: 'reports' },
    el('div', { class: 'row rep-controls' },
      el('label', {}, 'From ', el('input', { id: 'rep-from', type: 'date', testid: 'rep-from' })),
      el('label', {}, 'To ', el('input', { id: 'rep-to', type: 'date', testid: 'rep-to' })),
      el('button', { id: 'rep-show', testid: 'rep-show' }, 'Show'),
      el('button', { id: 'rep-csv', testid: 'rep-csv' }, 'Download CSV'),
      el('span', { id: 'rep-status', class: 'muted', testid: 'rep-status' })),
    el('section', { class: 'tiles', id: 'rep-tiles', testid: 'rep-tiles' }),
    el('div', { class: 'rep-charts' },
      el('figure', { class: 'rep-chart' }, el('figcaption', {}, 'Conversations per day'),
        el('div', { id: 'rep-chart-volume', testid: 'rep-chart-volume' })),
      el('figure', { class: 'rep-chart' }, el('figcaption', {}, 'First replies within the SLA, per day'),
        el('div', { id: 'rep-chart-sla', testid: 'rep-chart-sla' }))),
    el('h2', {}, 'By queue'),
    el('table', { testid: 'rep-queues' }, el('thead', {}, el('tr', {}, el('th', {}, 'queue'),
      ...QUEUE_COLS.map((c) => el('th', { class: 'n' }, c.replace('_', ' '))), el('th', { class: 'n' }, 'within SLA'))),
    el('tbody', { id: 'rep-queues' })),
    el('h2', {}, 'By agent'),
    el('table', { testid: 'rep-agents' }, el('thead', {}, el('tr', {}, el('th', {}, 'agent'),
      el('th', { class: 'n' }, 'answered'), el('th', { class: 'n' }, 'closed'), el('th', {}, 'dispositions'))),
    el('tbody', { id: 'rep-agents' })),
    el('h2', {}, 'By strategy'),
    el('table', { testid: 'rep-strategies' }, el('thead', {}, el('tr', {}, el('th', {}, 'strategy'),
      ...STRATEGY_COLS.map((c) => el('th', { class: 'n' }, c === 'collected_cents' ? 'collected' : c)))),
    el('tbody', { id: 'rep-strategies' })),
    el('div', { class: 'cols' },
      el('div', {}, el('h2', {}, 'Escalation reasons'), el('ul', { id: 'rep-reasons', testid: 'rep-reasons' })),
      el('div', {}, el('h2', {}, 'Dispositions'), el('ul', { id: 'rep-dispositions', testid: 'rep-dispositions' })),
      el('div', {}, el('h2', {}, 'Compliance blocks'), el('ul', { id: 'rep-blocks', testid: 'rep-blocks' }))));
  document.body.insertBefore(view, document.querySelector('script'));
  const button = el('button', { id: 'to-reports', hidden: '', testid: 'to-reports' }, 'Reports');
  $('to-desk').before(button);

  function status(text, error) {
    $('rep-status').textContent = text;
    $('rep-status').className = error ? 'error' : 'muted';
  }

  function sync() {
    const signedIn = $('login').hidden;
    view.hidden = !signedIn || S.view !== 'reports';
    button.hidden = !signedIn || S.role !== 'supervisor' || S.view === 'reports';
  }

  function open() {
    S.view = 'reports';
    showApp();
    if (!$('rep-from').value) {
      const to = new Date(), from = new Date(to.getTime() - 6 * 86400000);
      $('rep-from').value = iso(from);
      $('rep-to').value = iso(to);
    }
    show();
  }

  async function ask(format) {
    const from = $('rep-from').value, to = $('rep-to').value;
    if (!from || !to) { status('Pick the first and the last day.', true); return null; }
    status('Loading…');
    const m = await send('report', { from, to, format }).catch(() => ({ t: 'error', text: 'offline' }));
    if (m.t !== 'ok') { status(m.text || m.code || 'error', true); return null; }
    return m;
  }

  async function show() {
    const m = await ask('json');
    if (!m) return;
    last = m;
    render(m);
    status(m.days.length + ' day' + (m.days.length === 1 ? '' : 's') + ', business days in ' + m.zone);
  }

  async function csv() {
    const m = await ask('csv');
    if (!m) return;
    const url = URL.createObjectURL(new Blob([m.csv], { type: 'text/csv;charset=utf-8' }));
    const a = el('a', { href: url, download: m.filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status('Saved ' + m.filename);
  }

  // --- charts -------------------------------------------------------------------------------
  // Grouped bars, one group per day (a day without a value has no bar); gridlines at quarters.
  function bars(days, series, max, fmt) {
    const W = 640, H = 220, L = 40, B = 34, T = 10, R = 8;
    const cw = (W - L - R) / Math.max(1, days.length), bw = Math.max(2, Math.min(18, (cw - 6) / series.length));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart' });
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, fmt(v)));
    }
    const every = Math.ceil(days.length / 14);
    days.forEach((d, i) => {
      const x0 = L + i * cw + (cw - bw * series.length) / 2;
      series.forEach(([key, label, color], j) => {
        const v = d.values[key];
        if (v === null || v === undefined) return;
        g.append(svg('rect', { x: x0 + j * bw, y: y(v), width: bw - 1, height: Math.max(0, y(0) - y(v)), fill: color },
          svg('title', {}, d.date + ' ' + label + ': ' + fmt(v))));
      });
      if (i % every === 0) g.append(svg('text', { x: L + i * cw + cw / 2, y: H - B + 14, 'text-anchor': 'middle', class: 'axis' }, d.date.slice(5)));
    });
    let lx = L;
    for (const [, label, color] of series) {
      g.append(svg('rect', { x: lx, y: H - 12, width: 10, height: 10, fill: color }),
        svg('text', { x: lx + 14, y: H - 3, class: 'axis' }, label));
      lx += 24 + label.length * 7;
    }
    return g;
  }

  // The y axis' top: four gridline steps of 1, 2 or 5 × a power of ten, at least n.
  function tidy(n) {
    const need = Math.max(1, n / 4), p = Math.pow(10, Math.floor(Math.log10(need))), s = need / p;
    return 4 * (s <= 1 ? 1 : s <= 2 ? 2 : s <= 5 ? 5 : 10) * p;
  }

  // --- tables -------------------------------------------------------------------------------
  function list(id, o) {
    const rows = Object.entries(o).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    $(id).replaceChildren(...(rows.length ? rows.map(([k, v]) => el('li', {}, k + ': ' + v)) : [el('li', { class: 'muted' }, 'none')]));
  }

  function render(m) {
    const queues = {}, agents = {}, reasons = {}, disps = {}, blocks = {}, strategies = {}, total = {};
    const perDay = m.days.map((d) => {
      const day = { escalated: 0, answered: 0, closed: 0, sla_met: 0, sla_breached: 0 };
      for (const [q, v] of Object.entries(d.queues || {})) { add(queues[q] = queues[q] || {}, v); add(day, v); }
      for (const [a, v] of Object.entries(d.agents || {})) {
        const t = agents[a] = agents[a] || { dispositions: {} };
        add(t, v);
        add(t.dispositions, v.dispositions);
      }
      add(reasons, d.reasons); add(disps, d.dispositions); add(blocks, d.blocks);
      for (const [n, v] of Object.entries(d.strategies || {})) add(strategies[n] = strategies[n] || {}, v);
      add(total, day);
      const share = day.sla_met + day.sla_breached > 0 ? (day.sla_met * 100) / (day.sla_met + day.sla_breached) : null;
      return { date: d.date, values: { escalated: day.escalated, answered: day.answered, closed: day.closed, sla: share } };
    });
    const tile = (n, label, id) => el('div', { class: 'tile' }, el('b', { testid: id }, String(n)), el('span', {}, label));
    $('rep-tiles').replaceChildren(tile(total.escalated || 0, 'escalated', 'rep-escalated'),
      tile(total.answered || 0, 'answered', 'rep-answered'), tile(total.closed || 0, 'closed', 'rep-closed'),
      tile(pct(total.sla_met || 0, total.sla_breached || 0), 'first replies within the SLA', 'rep-sla'));
    const top = Math.max(0, ...perDay.flatMap((d) => [d.values.escalated, d.values.answered, d.values.closed]));
    $('rep-chart-volume').replaceChildren(bars(perDay, SERIES, tidy(top), (v) => String(Math.round(v))));
    $('rep-chart-sla').replaceChildren(bars(perDay, [['sla', 'Within SLA', '#2a9d68']], 100, (v) => Math.round(v) + '%'));
    $('rep-queues').replaceChildren(...Object.keys(queues).sort().map((q) => el('tr', { testid: 'rep-queue-' + q },
      el('td', {}, q), ...QUEUE_COLS.map((c) => el('td', { class: 'n' }, String(queues[q][c] || 0))),
      el('td', { class: 'n', testid: 'rep-queue-sla-' + q }, pct(queues[q].sla_met || 0, queues[q].sla_breached || 0)))));
    $('rep-agents').replaceChildren(...Object.keys(agents).sort().map((a) => el('tr', { testid: 'rep-agent-' + a },
      el('td', {}, (m.agent_names[a] || a) + ' (' + a + ')'), el('td', { class: 'n' }, String(agents[a].answered || 0)),
      el('td', { class: 'n' }, String(agents[a].closed || 0)),
      el('td', {}, Object.entries(agents[a].dispositions).sort().map(([k, v]) => k + ' ' + v).join(', ') || '–'))));
    const names = Object.keys(strategies).sort();
    $('rep-strategies').replaceChildren(...(names.length ? names.map((n) => el('tr', { testid: 'rep-strategy-' + n },
      el('td', {}, n), ...STRATEGY_COLS.map((c) => el('td', { class: 'n' },
        c === 'collected_cents' ? ((strategies[n][c] || 0) / 100).toFixed(2) : String(strategies[n][c] || 0)))))
      : [el('tr', {}, el('td', { class: 'muted', colspan: String(STRATEGY_COLS.length + 1) }, 'no strategy sent anything in these days'))]));
    list('rep-reasons', reasons);
    list('rep-dispositions', disps);
    list('rep-blocks', blocks);
  }

  button.addEventListener('click', open);
  $('rep-show').addEventListener('click', show);
  $('rep-csv').addEventListener('click', csv);
  return { sync, last: () => last };
})();
