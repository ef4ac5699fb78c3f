// console.js — the hilo console in the browser: login (POST /api/login), one websocket to /ws
// with reconnect (backoff + jitter) and a full resync after every reconnect, the agent
// workspace and the supervisor floor. Protocol: docs/console-protocol.md. All text is put in
// the page with textContent (never innerHTML) — message bodies come from debtors. What the
// agent types belongs to one conversation (drafts.js): every send names the debtor whose draft
// it is, never "whichever conversation is open when the answer comes back".
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'testid') e.dataset.testid = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
};
const fmtMs = (ms) => {
  if (ms === null || ms === undefined) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? s + 's' : Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
};
// A target: "45s", "2m", "1h30m".
const fmtTarget = (ms) => {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return s < 60 ? s + 's' : (h ? h + 'h' : '') + (m ? m + 'm' : '') + (s % 60 ? (s % 60) + 's' : '');
};
const money = (cents, cur) => (cents / 100).toFixed(2) + ' ' + (cur || '');

const S = {
  token: sessionStorage.getItem('hilo.token'),
  me: null, role: null,
  ws: null, backoff: 500, timer: null, lastRx: 0, rid: 0, pending: {},
  view: 'desk', agent: null, open: null, conv: null, canned: [],
};

// --- connection -------------------------------------------------------------------------

function setConn(state) {
  const c = $('conn');
  c.textContent = state;
  c.className = 'conn ' + state;
}

function send(t, body) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('offline'));
  const rid = ++S.rid;
  S.ws.send(JSON.stringify(Object.assign({ t, rid }, body || {})));
  return new Promise((resolve) => { S.pending[rid] = resolve; });
}

function connect() {
  clearTimeout(S.timer);
  if (!S.token) return showLogin();
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(proto + '//' + location.host + '/ws?token=' + encodeURIComponent(S.token));
  S.ws = ws;
  setConn('connecting');
  ws.onmessage = (ev) => {
    S.lastRx = Date.now();
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    handle(m);
  };
  ws.onclose = (ev) => {
    if (S.ws !== ws) return;
    S.ws = null;
    for (const r of Object.values(S.pending)) r({ t: 'error', code: 'offline', text: 'connection lost' });
    S.pending = {};
    if (ev.code === 4401) { // the session is gone: sign in again
      sessionStorage.removeItem('hilo.token');
      S.token = null;
      setConn('offline');
      const why = S.bye ? ' (' + S.bye + ')' : '';
      S.bye = null;
      return showLogin('Your session ended' + why + '; please sign in again.');
    }
    setConn('reconnecting');
    const wait = Math.min(S.backoff, 10000) * (0.75 + Math.random() * 0.5);
    S.backoff = Math.min(S.backoff * 2, 10000);
    S.timer = setTimeout(connect, wait);
  };
}

// A socket that stays open but silent is dead: the server pings every 15 s when idle.
setInterval(() => {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return;
  if (Date.now() - S.lastRx > 40000) { S.ws.close(); return; }
  if (Date.now() - S.lastRx > 20000) S.ws.send(JSON.stringify({ t: 'ping' }));
}, 5000);

function handle(m) {
  if (m.rid && S.pending[m.rid] && (m.t === 'ok' || m.t === 'error' || m.t === 'reply_result')) {
    S.pending[m.rid](m);
    delete S.pending[m.rid];
  }
  switch (m.t) {
    case 'hello':
      S.backoff = 500;
      S.me = m.agent; S.role = m.role;
      setConn('connected');
      $('who').textContent = m.name + ' (' + m.role + ')';
      showApp();
      // Full resync after any (re)connect: the server sends the agent snapshot by itself;
      // what we followed is asked for again.
      if (S.open) follow(S.open);
      if (S.view === 'floor') { send('floor'); send('strategies'); Drill.resync(); }
      break;
    case 'ping': S.ws && S.ws.send(JSON.stringify({ t: 'pong' })); break;
    case 'agent': S.agent = m; S.agentAt = Date.now(); renderAgent(); break;
    case 'conv': if (m.debtor === S.open) { S.conv = m; renderConv(); Notice.conv(m); } break;
    case 'conv_gone': if (m.reason === 'call_unanswered') callUnanswered(m); // calls.js
      else lose(m.debtor, m.reason === 'taken_over' ? 'was taken over by ' + (m.by_name || m.by)
        : 'is no longer yours (closed or transferred)'); break;
    case 'floor': renderFloor(m); break;
    case 'strategies': renderStrategies(m); break;
    case 'detail': Drill.detail(m); break; // drill.js
    case 'sla_alerts': Drill.alerts(m); break;
    case 'logged_out': S.bye = m.reason; break; // why, shown on the sign-in page
    default: break;
  }
  if (typeof HiloAdmin !== 'undefined') HiloAdmin.handle(m); // admin.js: take-over, whisper, admin view
}

// --- login ------------------------------------------------------------------------------

function showLogin(msg) {
  // Nothing typed for a debtor survives for whoever signs in next on this page.
  Drafts.forgetAll();
  S.open = null; S.conv = null;
  $('login').hidden = false;
  $('desk').hidden = true;
  $('floor').hidden = true;
  for (const id of ['avail-wrap', 'logout', 'to-floor', 'to-desk']) $(id).hidden = true;
  if (typeof HiloAdmin !== 'undefined') HiloAdmin.hide();
  if (typeof Notice !== 'undefined') Notice.reset();
  $('login-error').textContent = msg || '';
  if (typeof Reports !== 'undefined') Reports.sync(); // reports.js
}

function showApp() {
  $('login').hidden = true;
  $('logout').hidden = false;
  $('avail-wrap').hidden = false;
  $('to-floor').hidden = S.role !== 'supervisor' || S.view === 'floor';
  $('to-desk').hidden = S.view === 'desk';
  $('desk').hidden = S.view !== 'desk';
  $('floor').hidden = S.view !== 'floor';
  if (typeof HiloAdmin !== 'undefined') HiloAdmin.show();
  if (typeof Reports !== 'undefined') Reports.sync(); // reports.js
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const r = await fetch('/api/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: $('login-agent').value.trim(), password: $('login-password').value }),
    });
    const j = await r.json();
    if (!r.ok) { $('login-error').textContent = j.text || j.error || ('error ' + r.status); return; }
    S.token = j.token;
    sessionStorage.setItem('hilo.token', j.token);
    $('login-password').value = '';
    S.view = j.role === 'supervisor' ? 'floor' : 'desk';
    connect();
  } catch (e) {
    $('login-error').textContent = 'The router cannot be reached.';
  }
});

$('logout').addEventListener('click', async () => {
  await send('logout').catch(() => {});
  sessionStorage.removeItem('hilo.token');
  S.token = null;
  showLogin();
});
$('availability').addEventListener('change', () => send('state', { state: $('availability').value }));
$('to-floor').addEventListener('click', () => { S.view = 'floor'; showApp(); send('floor'); send('strategies'); });
$('to-desk').addEventListener('click', () => { S.view = 'desk'; showApp(); });

// --- the agent workspace ----------------------------------------------------------------

// Offers in the order they should be taken (priority, then the longest wait) and conversations
// latest first: the same order on every snapshot, so nothing jumps under the agent's pointer.
function orderLists(a) {
  a.offers.sort((x, y) => (y.priority || 0) - (x.priority || 0) || (y.waiting_ms || 0) - (x.waiting_ms || 0) ||
    (x.debtor < y.debtor ? -1 : 1));
  a.convs.sort((x, y) => (y.last_in_ms || y.updated_ms || 0) - (x.last_in_ms || x.updated_ms || 0) ||
    (x.debtor < y.debtor ? -1 : 1));
}

// The offers' "expires in" counts down every second, on the router's clock (the snapshot's now).
setInterval(() => {
  if (!S.agent) return;
  const now = S.agent.now + (Date.now() - S.agentAt);
  for (const e of document.querySelectorAll('[data-deadline]')) {
    if (e.dataset.deadline) e.textContent = 'expires in ' + fmtMs(Number(e.dataset.deadline) - now);
  }
}, 1000);

function renderAgent() {
  const a = S.agent;
  orderLists(a);
  if (document.activeElement !== $('availability')) $('availability').value = a.state === 'available' ? 'available' : 'away';
  const offers = $('offers');
  offers.replaceChildren(...a.offers.map((o) => el('li', { testid: 'offer-' + o.debtor, class: S.open === o.debtor ? 'active' : '' },
    el('div', {}, el('span', { class: 'badge ' + (o.channel || '') }, o.channel || '?'), o.name || o.debtor),
    el('div', { class: 'meta' }, (o.reason || '') + (o.detail ? ': ' + o.detail : '') + ' · ' + (o.queue || '') +
      ' · waiting ' + fmtMs(o.waiting_ms)),
    el('div', { class: 'meta', testid: 'deadline-' + o.debtor, 'data-deadline': o.deadline_ms || '' }, 'expires in ' + fmtMs((o.deadline_ms || 0) - a.now)),
    el('button', { testid: 'accept-' + o.debtor, onclick: (ev) => { ev.stopPropagation(); accept(o.debtor); } }, 'Accept'),
    el('button', { testid: 'decline-' + o.debtor, onclick: (ev) => { ev.stopPropagation(); send('decline', { debtor: o.debtor }); } }, 'Decline'),
  )));
  for (const li of offers.children) li.addEventListener('click', () => openConv(li.dataset.testid.slice(6)));
  const convs = $('convs');
  convs.replaceChildren(...a.convs.map((c) => el('li', {
    testid: 'conv-' + c.debtor, class: S.open === c.debtor ? 'active' : '', onclick: () => openConv(c.debtor),
  }, el('div', {}, el('span', { class: 'badge ' + (c.channel || '') }, c.channel || '?'), c.name || c.debtor),
  el('div', { class: 'meta' }, c.state + (c.reason ? ' · ' + c.reason : '')))));
  Drafts.retain(a.convs.map((c) => c.debtor).concat(a.offers.map((o) => o.debtor)));
  if (typeof Notice !== 'undefined') Notice.agent(a); // notice.js: unread, previews, title, alerts
  const l = a.load, cap = a.capacity;
  $('load').textContent = 'load: whatsapp ' + l.whatsapp + '/' + cap.whatsapp + ' · sms ' + l.sms + '/' + cap.sms +
    ' · voice ' + l.voice + '/' + cap.voice + ' · handled today ' + a.handled_today;
}

async function accept(debtor) {
  const r = await send('accept', { debtor });
  if (r.t === 'ok') openConv(debtor);
  else if (S.conv) Drafts.status(S.open, 'tool', 'Accept failed: ' + r.text);
  else $('conv-head').textContent = 'Accept failed: ' + r.text;
}

// The page's fields follow the conversation: the one left keeps what was typed for it, the one
// opened gets its own back (drafts.js). Until its thread arrives, nothing can be typed or sent.
function openConv(debtor) {
  if (S.open && S.open !== debtor) send('unfollow', { debtor: S.open });
  S.open = debtor;
  Drafts.show(debtor);
  if (!S.conv || S.conv.debtor !== debtor) {
    S.conv = null;
    renderConv('Opening ' + debtor + '…');
  }
  follow(debtor);
}

function follow(debtor) {
  send('open', { debtor }).then((r) => {
    if (r.t !== 'error' || S.open !== debtor) return;
    if (r.code === 'forbidden' || r.code === 'not_found') lose(debtor, 'cannot be opened: ' + r.text);
    else $('conv-head').textContent = r.text;
  });
}

// The conversation is not (or no longer) this agent's: what was typed for it is dropped, so it
// can never be sent to anyone else.
function lose(debtor, why) {
  const name = S.conv && S.conv.debtor === debtor ? (S.conv.debtor_info.full_name || debtor) : debtor;
  Drafts.forget(debtor);
  if (debtor !== S.open) return;
  S.open = null; S.conv = null;
  renderConv('The conversation with ' + name + ' ' + why + '; anything typed for it was discarded.');
}

// --- the debtor's outbound strategy (docs/console-protocol.md, "Strategies") -------------

const CHANNEL_NAMES = { sms: 'SMS', whatsapp: 'WhatsApp', voice: 'Call' };
const HOLD_WORDS = { reply: 'the debtor replied', conversation: 'the debtor is in a conversation',
  payment: 'a payment came in', agent: 'an agent has the conversation' };
const STOP_WORDS = { paid: 'paid', promise: 'a promise to pay is pending', dispute: 'dispute', hardship: 'hardship',
  cease_contact: 'asked not to be contacted', wrong_number: 'wrong number', agent_conversation: 'an agent has the conversation',
  opted_out: 'opted out', no_consent: 'no consent', no_phone: 'no phone', no_window: 'no allowed time',
  render: 'the text cannot be made', daily_budget: 'over the daily budget', paused: 'the strategy is paused',
  no_segment: 'in no segment', attribute: 'attribute', gate: 'compliance gate' };

// "Fri 27 Nov 10:00" in the debtor's zone (UTC, and said so, when the zone is unknown).
function debtorTime(ms, tz) {
  const fmt = (zone) => {
    const p = {};
    for (const x of new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms))) p[x.type] = x.value;
    return p.weekday + ' ' + p.day + ' ' + p.month + ' ' + p.hour + ':' + p.minute;
  };
  try { return fmt(tz || 'UTC') + (tz ? " (debtor's time)" : ' (UTC)'); } catch (e) { return fmt('UTC') + ' (UTC)'; }
}

// "stopped: paid", "attribute:attorney" -> "attribute attorney", "gate:holiday" -> "compliance gate: holiday".
function stopWords(why) {
  const [code, detail] = (why || '').split(/:(.*)/s);
  const w = STOP_WORDS[code] || code || 'unknown reason';
  return detail ? w + (code === 'gate' ? ': ' : ' ') + detail : w;
}

function strategyNow(c, tz) {
  const step = (CHANNEL_NAMES[c.channel] || 'Step') + " '" + c.step + "'";
  switch (c.state) {
    case 'due': return step + ' due ' + debtorTime(c.at_ms, tz);
    case 'out': return step + ' sent ' + (c.sent_ms ? debtorTime(c.sent_ms, tz) : '') +
      (c.at_ms ? '; waiting for its result until ' + debtorTime(c.at_ms, tz) : '; waiting for its result');
    case 'hold': return 'held: ' + (HOLD_WORDS[c.why] || c.why || 'an event came') +
      (c.step ? ' (' + step + (c.prev === 'out' ? ' was sent)' : ' was due)') : '');
    case 'stop': return 'stopped: ' + stopWords(c.why);
    case 'end': return 'ended' + (c.last ? " after '" + c.last + "'" : '');
    default: return c.state + (c.step ? ' ' + step : '');
  }
}

function strategyPanel(st, tz) {
  if (!st) return [];
  const out = [el('h3', {}, 'Strategy')];
  const c = st.current;
  if (c) {
    out.push(el('div', { class: 'strat-now', testid: 'strategy-step' }, strategyNow(c, tz)),
      el('div', { class: 'muted', testid: 'strategy-meta' }, c.strategy + ' · segment ' + (c.segment || '–') +
        ' · variant ' + (c.variant || '–') + (c.last && c.state !== 'end' ? " · last sent '" + c.last + "'" : '')));
  }
  if (st.events && st.events.length) {
    out.push(el('ul', { class: 'strat-events', testid: 'strategy-events' }, ...st.events.map((e) => el('li', {},
      (e.ms ? debtorTime(e.ms, tz).replace(/ \(.*\)$/, '') + ' · ' : '') + e.event + (e.step ? " '" + e.step + "'" : '') +
      (e.reason ? ': ' + e.reason : '')))));
  }
  return out;
}

const atBottom = (t) => t.scrollTop + t.clientHeight >= t.scrollHeight - 20;
function toNewest() {
  const t = $('thread');
  t.scrollTop = t.scrollHeight;
  $('thread-new').hidden = true;
}
$('thread-new').addEventListener('click', toNewest);
$('thread').addEventListener('scroll', () => { if (atBottom($('thread'))) $('thread-new').hidden = true; });

// --- the call-back time: entered and shown in the debtor's zone ---------------------------

// Milliseconds the zone is ahead of UTC at instant ms.
function zoneAhead(ms, zone) {
  const p = {};
  for (const x of new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms))) p[x.type] = x.value;
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
}

// "2027-01-06T10:00" on the wall clocks of `zone` as an instant (null when not a time). Only for
// showing the agent's own equivalent: the router converts what is saved (callback_at).
function zoneWallMs(value, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  try { return wall - zoneAhead(wall - zoneAhead(wall, zone), zone); } catch (e) { return null; }
}

function debtorZone() {
  const tz = S.conv && S.conv.debtor_info.timezone;
  try { if (tz) { new Intl.DateTimeFormat('en', { timeZone: tz }); return tz; } } catch (e) { /* unknown to the browser */ }
  return null;
}

function showCallbackZone() {
  const tz = debtorZone();
  $('disp-cb-zone').textContent = tz ? '(' + tz + ')' : "(UTC: the debtor's zone is unknown)";
  const at = zoneWallMs($('disp-callback').value, tz || 'UTC');
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  $('disp-cb-local').textContent = at === null ? '' : '= ' + new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric',
    month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(at)) +
    ' your time (' + mine + ')';
}
$('disp-callback').addEventListener('input', showCallbackZone);

const DELIVERY_WORDS = { sent: '✓ sent', delivered: '✓✓ delivered', read: '✓✓ read', unknown: '? maybe sent' };

function renderConv(head) {
  const m = S.conv;
  const thread = $('thread');
  if (!m) {
    $('conv-head').textContent = head || 'No conversation open';
    thread.replaceChildren();
    S.threadOf = null;
    $('thread-new').hidden = true;
    $('composer').hidden = true; $('tools').hidden = true; $('readonly').hidden = true;
    $('debtor-panel').replaceChildren();
    return;
  }
  Drafts.show(m.debtor);
  const c = m.conv, d = m.debtor_info;
  $('conv-head').textContent = (d.full_name || m.debtor) + ' — ' + c.state +
    (c.esc_reason ? ' · escalated: ' + c.esc_reason + (c.esc_detail ? ' (' + c.esc_detail + ')' : '') : '');
  // The newest message is shown when a conversation is opened and when one arrives, unless the
  // agent has scrolled up to read older ones: then a "new messages" marker says so.
  const fresh = S.threadOf !== m.debtor;
  const before = fresh ? 0 : thread.children.length;
  const stick = fresh || atBottom(thread);
  S.threadOf = m.debtor;
  thread.replaceChildren(...m.items.map((it) => {
    const by = it.dir === 'out' ? (it.by || 'bot') : 'debtor';
    const body = it.text || (it.button && it.button.title) || (it.voice && (it.voice.speech || callEvent(it.voice))) ||
      (it.media ? '[media]' : '') || '[' + it.kind + ']';
    return el('li', { testid: 'item', class: (it.dir === 'out' ? 'out' : 'in') + (by === 'bot' ? ' bot' : ''), 'data-ch': it.ch },
      el('div', { class: 'meta' }, el('span', { class: 'badge ' + it.ch, testid: 'badge' }, it.ch),
        el('span', { class: 'badge by', testid: 'by' }, by), new Date(it.recv_ms || it.sent_ms).toLocaleString()),
      el('div', { testid: 'item-text' }, body),
      // Never sent: the compliance gate refused it at hand-off (or it could not be handed off).
      it.status && (it.status.state === 'cancelled' || it.status.state === 'failed')
        ? el('div', { class: 'not-sent', testid: 'item-not-sent', title: it.status.reason || '' },
          (it.status.state === 'cancelled' ? 'Not sent: ' : 'Failed: ') + (it.status.text || it.status.reason || ''))
        // What the provider said of it: sent, delivered, read (the newest report).
        : it.dir === 'out' && it.status && DELIVERY_WORDS[it.status.state]
          ? el('div', { class: 'delivery ' + it.status.state, testid: 'item-delivery' }, DELIVERY_WORDS[it.status.state])
          : null);
  }));
  // Debtor panel.
  const dl = el('dl', {});
  const row = (k, v) => dl.append(el('dt', {}, k), el('dd', {}, v === undefined || v === null ? '–' : String(v)));
  row('Name', d.full_name); row('Balance', d.balance ? d.balance + ' ' + (d.currency || '') : undefined);
  row('Days past due', d.days_past_due); row('Country / zone', (d.country || '?') + ' / ' + (d.timezone || '?'));
  if (d.timezone) {
    dl.append(el('dt', {}, 'Local time'), el('dd', { testid: 'debtor-local-time', 'data-tz': d.timezone }, ''));
    setTimeout(() => window.dispatchEvent(new Event('hilo:conv-shown')));
  }
  row('Language', d.language); row('Verified', d.verified ? 'yes' : 'no');
  if (c.disposition) { try { row('Last disposition', JSON.parse(c.disposition).code); } catch (e) { /* ignore */ } }
  // A dispute or hardship hold stops every outbound strategy until a supervisor lifts it.
  for (const kind of ['dispute', 'hardship']) {
    if (!c[kind + '_ms']) continue;
    dl.append(el('dt', {}, 'On hold'), el('dd', { testid: 'hold-' + kind, class: 'reason' }, kind + ' since ' +
      new Date(Number(c[kind + '_ms'])).toLocaleDateString(), S.role === 'supervisor'
      ? el('button', { testid: 'lift-' + kind, class: 'small', onclick: async () => {
        const r = await send('lift_hold', { debtor: m.debtor, kind });
        if (r.t !== 'ok') alert(r.text || r.code);
      } }, 'Lift') : null));
  }
  // A plan reads "plan 3 × 411.52 MXN (1 of 3 paid)"; its instalments "instalment 2/3 411.52 MXN due …".
  const what = (p) => p.kind === 'plan' ? 'plan ' + (p.instalments || 1) + ' × ' + money(p.amount_cents || 0, p.currency) +
    ' (' + (p.kept_instalments || 0) + ' of ' + (p.instalments || 1) + ' paid)'
    : (p.plan ? 'instalment ' + p.instalment + '/' + p.of : (p.kind || 'promise')) + ' ' + money(p.amount_cents || 0, p.currency);
  // Oldest first (ids start with the creation time), each plan followed by its instalments.
  const ordered = m.promises.slice().sort((a, b) =>
    (a.plan || a.id || '').localeCompare(b.plan || b.id || '') || (a.instalment || 0) - (b.instalment || 0));
  const promises = el('ul', { testid: 'promises' }, ...ordered.map((p) => {
    const row = el('li', { testid: 'promise-' + p.id },
      el('span', { testid: 'promise-what' }, what(p) + (p.due ? ' due ' + p.due : '') + ' — ' + (p.state || '?')));
    const act = Promises.actions(m, p, row); // promises.js: change or cancel
    if (act) row.append(' ', act);
    return row;
  }));
  const chans = el('ul', { testid: 'channels' }, ...Object.entries(m.channels).map(([ch, v]) => el('li',
    { class: v.allowed ? 'ch-ok' : 'ch-no', testid: 'channel-' + ch }, ch + ': ' + (v.allowed ? 'allowed now' : v.text))));
  // The portfolio's own columns (notes, product...) and the earlier wrap-ups, newest first.
  const port = Object.entries(d.portfolio || {});
  const portfolio = port.length ? [el('h3', {}, 'Portfolio'), el('dl', { testid: 'portfolio' },
    ...port.flatMap(([k, v]) => [el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, v)]))] : [];
  const wrapups = (m.wrapups || []).length ? [el('h3', {}, 'Earlier wrap-ups'), el('ul', { testid: 'wrapups' },
    ...m.wrapups.map((w) => el('li', {}, new Date(w.ms).toLocaleDateString() + ' ' + w.code +
      (w.amount_cents ? ' ' + money(w.amount_cents, d.currency) + (w.due ? ' due ' + w.due : '') : '') +
      (w.callback_at ? ' call back ' + w.callback_at.replace('T', ' ') + ' (' + (w.callback_tz || '') + ')' : '') +
      ' — ' + (w.by || '?') + (w.comment ? ': ' + w.comment : ''))))] : [];
  // Not verified yet: nothing about the debt may be said; the agent checks the document number
  // the debtor gives against the one on file (identity_check.c), without ever seeing it.
  const check = [];
  if (!d.verified && !m.readonly) {
    const digits = el('input', { testid: 'verify-digits', inputmode: 'numeric', autocomplete: 'off', maxlength: '12',
      placeholder: 'document number' });
    const status = el('div', { class: 'status', testid: 'verify-status' }, '');
    const run = async () => {
      const r = await send('verify', { debtor: m.debtor, digits: digits.value.replace(/\D/g, '') });
      digits.value = '';
      if (r.t === 'ok') { status.className = 'status'; status.textContent = 'Identity verified.'; follow(m.debtor); }
      else { status.className = 'status error'; status.textContent = r.text + (r.attempts_left ? ' (' + r.attempts_left + ' left)' : ''); }
    };
    check.push(el('div', { class: 'verify-box', testid: 'verify-box' },
      el('strong', {}, 'Identity not verified: do not disclose the debt.'),
      el('div', {}, 'Ask for their document number and type it here:'),
      el('div', { class: 'row' }, digits, el('button', { testid: 'verify-check', onclick: run }, 'Check')), status));
  }
  $('debtor-panel').replaceChildren(el('h3', {}, 'Debtor'), dl, ...check, ...portfolio, ...wrapups, el('h3', {}, 'Promises'), promises, Promises.planForm(m),
    el('h3', {}, 'Channels'), chans, ...strategyPanel(m.strategy, d.timezone));
  // Composer: the debtor's last channel by default, blocked channels disabled with the reason.
  $('readonly').hidden = !m.readonly;
  $('composer').hidden = m.readonly;
  $('tools').hidden = m.readonly;
  const sel = $('reply-channel');
  const keep = sel.dataset.debtor === m.debtor ? sel.value : null;
  sel.replaceChildren(...Object.entries(m.channels).map(([ch, v]) => {
    const o = el('option', { value: ch }, ch + (v.allowed ? '' : v.waitable ? ' (waits)' : ' (blocked)'));
    o.disabled = !v.allowed && !v.waitable;
    return o;
  }));
  sel.dataset.debtor = m.debtor;
  const pick = keep && m.channels[keep] && m.channels[keep].allowed ? keep : m.default_channel;
  if (pick) sel.value = pick;
  showReason();
  showCallbackZone();
  showCall(m);
  // Last: the composer and the panels above have their final size, so "the bottom" is final too.
  if (stick) toNewest();
  else if (m.items.length > before) $('thread-new').hidden = false;
  // A supervisor's whisper (admin.js) is marked as one, with who sent it.
  $('notes').replaceChildren(...m.notes.map((n) => n.kind === 'whisper'
    ? el('li', { testid: 'whisper', class: 'whisper' }, el('b', {}, 'Whisper from ' + (n.from_name || n.from) + ': '),
      n.text + ' — ' + new Date(n.ms).toLocaleString())
    : el('li', { testid: 'note' }, n.text + ' — ' + (n.by || '') + ' ' + new Date(n.ms).toLocaleString())));
  for (const li of document.querySelectorAll('#offers li, #convs li')) li.classList.toggle('active', li.dataset.testid.endsWith('-' + m.debtor));
}

function showReason() {
  const m = S.conv;
  if (!m) return;
  const blocked = Object.entries(m.channels).filter(([, v]) => !v.allowed).map(([ch, v]) => ch + ': ' + v.text);
  $('channel-reason').textContent = blocked.join(' · ');
}

// The reply goes to the debtor whose thread and draft are on the page, and its answer is
// written to that debtor's draft and status line, wherever the agent is by then.
$('reply-send').addEventListener('click', async () => {
  const d = Drafts.shown();
  const text = $('reply-text').value.trim();
  if (!text || !d || d !== S.open || !S.conv || S.conv.debtor !== d) return;
  Drafts.status(d, 'reply', 'sending…');
  const r = await send('reply', { debtor: d, channel: $('reply-channel').value, text, wait: $('reply-wait').checked });
  if (r.t === 'reply_result' && r.ok) {
    Drafts.status(d, 'reply', (r.waits ? 'waits for its window on ' : 'sent on ') + r.channel);
    Drafts.clear(d, 'reply-text', text);
  } else {
    Drafts.status(d, 'reply', 'not sent: ' + (r.text || r.code));
  }
});

$('canned').addEventListener('change', () => {
  const c = S.canned[Number($('canned').value)];
  if (c) $('reply-text').value = c.text;
  $('canned').value = '';
});
// The debtor's payment link, made by the router (payment_link.c), added to the reply being typed.
$('insert-link').addEventListener('click', async () => {
  const d = S.open;
  if (!d) return;
  const r = await send('payment_link', { debtor: d });
  if (r.t !== 'ok') { Drafts.status(d, 'reply', r.text || r.code, true); return; }
  if (d !== S.open) return;
  const box = $('reply-text');
  box.value = (box.value ? box.value.replace(/\s*$/, ' ') : '') + r.url;
  box.focus();
});

fetch('canned.json').then((r) => r.json()).then((list) => {
  S.canned = list;
  $('canned').append(...list.map((c, i) => el('option', { value: String(i) }, c.title)));
}).catch(() => {});

$('note-add').addEventListener('click', async () => {
  const d = Drafts.shown();
  const text = $('note-text').value.trim();
  if (!text || !d || d !== S.open) return;
  const r = await send('note', { debtor: d, text });
  if (r.t === 'ok') Drafts.clear(d, 'note-text', text);
  else Drafts.status(d, 'tool', r.text);
});

$('disp-code').addEventListener('change', () => {
  $('disp-ptp').hidden = $('disp-code').value !== 'promise_to_pay';
  $('disp-cb').hidden = $('disp-code').value !== 'callback';
  // Another disposition: what was said about the last one no longer applies.
  if (Drafts.shown()) Drafts.status(Drafts.shown(), 'wrapup', '');
  showCallbackZone();
});

$('disp-close').addEventListener('click', async () => {
  const d = Drafts.shown();
  if (!d || d !== S.open) return;
  const code = $('disp-code').value;
  const body = { debtor: d, code, comment: $('disp-comment').value, close: true };
  if (code === 'promise_to_pay') {
    body.amount_cents = Math.round(parseFloat($('disp-amount').value || '0') * 100);
    body.due = $('disp-due').value;
  }
  // The debtor's wall-clock time as typed: the router makes it an instant in the debtor's zone.
  if (code === 'callback') body.callback_at = $('disp-callback').value;
  Drafts.status(d, 'wrapup', '');
  const r = await send('wrapup', body);
  if (r.t !== 'ok') {
    showError(d, 'wrapup', 'Not saved: ' + refusalWords(r));
    return;
  }
  Drafts.forget(d);
  if (S.open === d) { // still on it: the page empties; else the agent has moved on already
    send('unfollow', { debtor: d });
    S.open = null; S.conv = null;
    renderConv('Conversation with ' + d + ' closed');
  }
});

// The words of a refusal: the router's sentence (docs/console-protocol.md, "Errors"); a bare
// code is never all the agent sees.
function refusalWords(r) {
  if (r.text && r.text !== r.code) return r.text;
  return 'the router refused it (' + (r.code || 'unknown reason') + ').';
}

// An error on one of the debtor's status lines, next to its form and scrolled into view.
function showError(debtor, which, text) {
  Drafts.status(debtor, which, text, true);
  if (debtor === Drafts.shown()) $(which + '-status').scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

// status: an element id (the supervisor's line), or null: the debtor's own tool status line.
async function transfer(kind, target, debtor, status) {
  if (!target || !debtor) return;
  const r = await send('transfer', Object.assign({ debtor }, kind === 'agent' ? { to_agent: target } : { to_queue: target }));
  const text = r.t === 'ok' ? 'transferred' : 'Not transferred: ' + refusalWords(r);
  if (status) $(status).textContent = text;
  else if (r.t === 'ok') Drafts.status(debtor, 'tool', text);
  else showError(debtor, 'tool', text);
  return r;
}
$('xfer-agent').addEventListener('click', () => transfer('agent', $('xfer-to').value.trim(), Drafts.shown(), null));
$('xfer-queue').addEventListener('click', () => transfer('queue', $('xfer-to').value.trim(), Drafts.shown(), null));

// --- the supervisor floor ---------------------------------------------------------------

function renderFloor(f) {
  const pct = (x) => (x === null || x === undefined ? '–' : Math.round(x * 100) + '%');
  $('f-containment').textContent = pct(f.bot_containment);
  $('f-convs').textContent = f.conversations_today;
  $('f-escalations').textContent = f.escalations_today;
  const q = f.queues && typeof f.queues === 'object' && !Array.isArray(f.queues) ? f.queues : {};
  // Within SLA: first replies within the queue's target over those answered or breached today
  // (docs/console-protocol.md, "SLA"); a queue with conversations past the target right now is
  // flagged.
  $('f-queues').replaceChildren(...Object.keys(q).sort().map((k) => {
    const v = q[k];
    const late = v.sla_breaching > 0 || v.oldest_wait_ms > v.first_response_target_ms;
    return el('tr', { testid: 'queue-' + k, class: late ? 'breach' : '' }, el('td', {}, k),
      el('td', { testid: 'queue-waiting-' + k }, String(v.waiting)),
      el('td', { class: v.oldest_wait_ms > v.first_response_target_ms ? 'late' : '' }, fmtMs(v.oldest_wait_ms)),
      el('td', {}, String(v.offered)), el('td', {}, String(v.answered)),
      el('td', { testid: 'queue-sla-' + k, title: (v.sla_met || 0) + ' within, ' + (v.sla_breached || 0) + ' breached today' },
        el('b', {}, pct(v.sla_share)), el('small', { class: 'muted' }, ' ' + (v.sla_met || 0) + '/' + ((v.sla_met || 0) + (v.sla_breached || 0)))),
      el('td', { testid: 'queue-res-' + k, title: (v.res_met || 0) + ' closed within, ' + (v.res_breached || 0) + ' past the target today' },
        el('b', {}, pct(v.res_share)), el('small', { class: 'muted' }, ' ' + (v.res_met || 0) + '/' + ((v.res_met || 0) + (v.res_breached || 0)))),
      el('td', { testid: 'queue-breaching-' + k, class: v.sla_breaching > 0 ? 'late' : '' }, String(v.sla_breaching || 0)),
      el('td', {}, fmtTarget(v.first_response_target_ms) + ' / ' + fmtTarget(v.resolution_target_ms)),
      el('td', {}, String(v.abandoned)),
      el('td', { testid: 'queue-csat-' + k }, v.csat_n > 0 ? v.csat_avg.toFixed(1) + ' / 5 (' + v.csat_n + ')' : '–'));
  }));
  // Callers on the line: waiting in a queue, and put through to an agent (docs/console-protocol.md,
  // "floor": queues[].calls_waiting, agents[].calls).
  const ag0 = f.agents && !Array.isArray(f.agents) ? f.agents : {};
  $('f-calls-waiting').textContent = Object.values(q).reduce((n, v) => n + (v.calls_waiting || 0), 0);
  $('f-calls-live').textContent = Object.values(ag0).reduce((n, a) => n + (a.calls || 0), 0);
  const bd = f.business_day;
  if (bd) $('f-day').textContent = 'Today since ' + debtorTime(bd.start_ms, bd.zone).replace(" (debtor's time)", '') + ' ' + bd.zone;
  const ag = f.agents && !Array.isArray(f.agents) ? f.agents : {};
  $('f-agents').replaceChildren(...Object.keys(ag).sort().map((k) => {
    const a = ag[k];
    const sel = el('select', { testid: 'set-state-' + k }, el('option', { value: '' }, '…'),
      el('option', { value: 'available' }, 'available'), el('option', { value: 'away' }, 'away'));
    sel.addEventListener('change', () => { if (sel.value) send('state', { agent: k, state: sel.value }); });
    return el('tr', { testid: 'agent-' + k }, el('td', {}, a.name + ' (' + k + ')'),
      el('td', { testid: 'agent-state-' + k }, a.online ? a.state : 'offline'),
      el('td', {}, a.load.whatsapp + '/' + a.capacity.whatsapp + ' · ' + a.load.sms + '/' + a.capacity.sms + ' · ' +
        a.load.voice + '/' + a.capacity.voice),
      el('td', {}, String(a.handled_today)), el('td', {}, sel));
  }));
  const list = (id, o) => $(id).replaceChildren(...Object.entries(o && !Array.isArray(o) ? o : {})
    .sort((x, y) => y[1] - x[1]).map(([k, v]) => el('li', {}, k + ': ' + v)));
  list('f-reasons', f.escalations);
  list('f-blocks', f.compliance_blocks);
  list('f-mix', f.channel_mix);
}

// The strategies panel: one table per strategy, a row per variant and step (the file's order,
// then counts of steps or variants no longer in it), a column per result; stops, refusals and
// skips by reason; any other metric as it comes. Cells carry data-testid
// "funnel-<strategy>-<variant>-<step>-<metric>" (the browser test reads them).
const FUNNEL_COLUMNS = [['entered', 'entered'], ['committed', 'committed'], ['sent', 'sent'], ['delivered', 'delivered'],
  ['read', 'read'], ['failed', 'failed'], ['replied', 'replied'], ['verified', 'verified'], ['promised', 'promised'],
  ['paid', 'paid'], ['opted_out', 'opted out'], ['timeout', 'timed out'], ['ended', 'ended']];
// shown as a share of `sent` too
const FUNNEL_RATES = { delivered: 1, read: 1, failed: 1, replied: 1, verified: 1, promised: 1, paid: 1, opted_out: 1 };
const FUNNEL_GROUPS = ['stopped', 'refused', 'skipped'];

function renderStrategies(m) {
  const list = Array.isArray(m.strategies) ? m.strategies : [];
  if (!list.length) {
    $('f-strategies').replaceChildren(el('p', { class: 'muted' }, 'No strategy is loaded on this router.'));
    return;
  }
  $('f-strategies').replaceChildren(...list.map(strategyCard));
}

function metricLabel(k, n) {
  // cost_micros:<currency>: millionths of it ([costs] in the router's config).
  if (k.startsWith('cost_micros:')) return 'cost ' + (n / 1e6).toFixed(4) + ' ' + k.slice(12);
  return k.endsWith('_cents') ? k.slice(0, -6) + ' ' + (n / 100).toFixed(2) : k.replace(/_/g, ' ') + ' ' + n;
}

function strategyCard(st) {
  const funnel = st.funnel && typeof st.funnel === 'object' ? st.funnel : {};
  const known = new Set(FUNNEL_COLUMNS.map(([k]) => k));
  const tid = (v, step, metric) => 'funnel-' + st.name + '-' + v + '-' + step + '-' + metric;
  const numCell = (v, step, metric, counts) => {
    const n = counts[metric] || 0;
    const sent = counts.sent || 0;
    return el('td', { class: 'n' }, el('span', { class: n ? '' : 'zero', testid: tid(v, step, metric) }, String(n)),
      FUNNEL_RATES[metric] && sent && n ? el('small', {}, Math.round(100 * n / sent) + '%') : null);
  };
  // Stops, refusals and skips by their reason ("paid 2 · promise 1"); other metrics by name.
  const listCell = (v, step, counts, pick, strip) => el('td', { class: 'why' }, ...Object.keys(counts).filter(pick).sort()
    .map((k, i) => el('span', { testid: tid(v, step, k) }, (i ? ' · ' : '') +
      metricLabel(strip ? k.slice(k.indexOf(':') + 1) : k, counts[k]))));
  // A step's row; step null: the variant's total over its steps (test id step "*").
  const row = (v, step, channel, counts, cls) => {
    const id = step === null ? '*' : step;
    return el('tr', { class: cls || '' }, el('td', {}, step === null ? 'all steps' : step === '' ? '(no step)' : step),
      el('td', {}, channel ? el('span', { class: 'badge ' + channel }, channel) : ''),
      ...FUNNEL_COLUMNS.map(([k]) => numCell(v, id, k, counts)),
      ...FUNNEL_GROUPS.map((g) => listCell(v, id, counts, (k) => k.startsWith(g + ':'), true)),
      listCell(v, id, counts, (k) => !known.has(k) && !FUNNEL_GROUPS.some((g) => k.startsWith(g + ':')), false));
  };
  const variants = (st.variants || []).map((v) => ({ name: v.name, share: v.share, steps: v.steps || [] }));
  for (const v of Object.keys(funnel)) if (!variants.some((x) => x.name === v)) variants.push({ name: v, steps: [] });
  const rows = [];
  for (const v of variants) {
    const counts = funnel[v.name] || {};
    const steps = v.steps.map((s) => s.name);
    for (const s of Object.keys(counts)) if (!steps.includes(s)) steps.push(s);
    rows.push(el('tr', { class: 'variant' }, el('td', { colspan: String(3 + FUNNEL_COLUMNS.length + FUNNEL_GROUPS.length) },
      'variant ' + v.name + (v.share !== undefined ? ' (' + v.share + '% of debtors)' : ' (no longer in the file)'))));
    const total = {};
    for (const s of steps) {
      const c = counts[s] || {};
      for (const [k, n] of Object.entries(c)) total[k] = (total[k] || 0) + n;
      const def = v.steps.find((x) => x.name === s);
      rows.push(row(v.name, s, def && def.channel, c));
    }
    rows.push(row(v.name, null, null, total, 'total'));
  }
  const state = st.state + (st.state_from === 'file' ? ' (as in its file)' : '');
  return el('section', { class: 'strategy', testid: 'strategy-' + st.name },
    el('h3', {}, st.name, el('span', { class: 'st-state ' + st.state, testid: 'strategy-state-' + st.name }, state),
      el('span', { class: 'meta' }, 'priority ' + st.priority)),
    el('table', { class: 'funnel' }, el('thead', {}, el('tr', {}, el('th', {}, 'step'), el('th', {}, 'channel'),
      ...FUNNEL_COLUMNS.map(([, label]) => el('th', { class: 'n' }, label)), ...FUNNEL_GROUPS.map((g) => el('th', {}, g + ' (by reason)')),
      el('th', {}, 'other'))), el('tbody', {}, ...rows)));
}

// The supervisor's box: a debtor id, a phone number in any spelling or a name only one debtor has ({"t":"find"}).
// Whatever fails, no other debtor's conversation stays on the page: the one open is closed
// first, and the answer says why nothing opened.
async function supFind() {
  const q = $('sup-debtor').value.trim();
  if (!q) { $('sup-status').textContent = 'Type a debtor id, a phone number or a name.'; return null; }
  $('sup-status').textContent = 'looking up ' + q + '…';
  const r = await send('find', { query: q });
  if (r.t === 'ok') {
    $('sup-status').textContent = r.by === 'phone' ? q + ' is ' + r.debtor + ' (phone ' + r.phone + ')' : '';
    return r.debtor;
  }
  if (S.open) send('unfollow', { debtor: S.open });
  S.open = null; S.conv = null;
  renderConv('Nothing open: ' + (r.text || r.code));
  $('sup-status').textContent = r.text || r.code;
  return null;
}
$('sup-debtor').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') $('sup-open').click(); });
$('sup-open').addEventListener('click', async () => {
  const d = await supFind();
  if (!d) return;
  S.view = 'desk';
  showApp();
  openConv(d);
});
$('sup-reassign-agent').addEventListener('click', async () => {
  const d = await supFind();
  if (d) transfer('agent', $('sup-to').value.trim(), d, 'sup-status');
});
$('sup-reassign-queue').addEventListener('click', async () => {
  const d = await supFind();
  if (d) transfer('queue', $('sup-to').value.trim(), d, 'sup-status');
});

// --- start ------------------------------------------------------------------------------

if (S.token) { S.view = sessionStorage.getItem('hilo.view') || 'desk'; connect(); } else showLogin();
window.addEventListener('beforeunload', () => sessionStorage.setItem('hilo.view', S.view));
