// notice.js — what makes an agent notice work waiting for them (docs/console-protocol.md,
// "Unread"): in the list, each conversation's unread count (the debtor's messages the agent has
// not seen) and a preview of its newest item; the count of offers and unread messages in the
// tab's title; a short sound and a desktop notification when a new offer or a new message from a
// debtor arrives while the agent is not looking at it. The thread marks what the agent has
// seen ({"t":"read"}) while the page is visible. The sound is made with Web Audio (no file to
// serve); the desktop notification needs the browser's permission, asked for on the agent's
// first click on the page.
'use strict';

const Notice = (() => {
  const N = { offers: new Set(), unread: new Map(), first: true, sounds: 0, shown: 0, baseTitle: document.title,
              filter: 'all' };

  function visibleThread(debtor) {
    return document.visibilityState === 'visible' && S.open === debtor;
  }

  function beep() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      N.ctx = N.ctx || new Ctx();
      const o = N.ctx.createOscillator(), g = N.ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.08;
      o.connect(g); g.connect(N.ctx.destination);
      o.start(); o.stop(N.ctx.currentTime + 0.15);
      N.sounds++;
    } catch (e) { /* no audio device: the title and the notification still say it */ }
  }

  function desktop(title, body, debtor) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(title, { body, tag: 'hilo-' + debtor });
      n.onclick = () => { window.focus(); if (typeof openConv === 'function') openConv(debtor); };
      N.shown++;
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  function alert(title, body, debtor) {
    beep();
    desktop(title, body, debtor);
  }

  // After every agent snapshot (console.js renderAgent): badges, previews, the title, and the
  // sound and notification for what is new since the last one.
  function agent(a) {
    let waiting = a.offers.length;
    for (const o of a.offers) {
      decorate('offer-' + o.debtor, o, 0);
      if (!N.first && !N.offers.has(o.debtor)) alert('New conversation offered', (o.name || o.debtor) + (o.preview ? ': ' + o.preview : ''), o.debtor);
    }
    N.offers = new Set(a.offers.map((o) => o.debtor));
    const unread = new Map();
    for (const c of a.convs) {
      const n = visibleThread(c.debtor) ? 0 : (c.unread || 0);
      unread.set(c.debtor, n);
      waiting += n;
      decorate('conv-' + c.debtor, c, n);
      if (!N.first && n > (N.unread.get(c.debtor) || 0)) alert('New message from ' + (c.name || c.debtor), c.preview || '', c.debtor);
      if (visibleThread(c.debtor) && c.unread) markRead(c.debtor, c.msgs_in);
    }
    N.unread = unread;
    N.first = false;
    document.title = (waiting > 0 ? '(' + waiting + ') ' : '') + N.baseTitle;
    filterList(a);
  }

  // --- My conversations: filters, snooze, the closed ones --------------------------------
  const snoozed = (c) => c.snoozed_until && c.snoozed_until > S.agent.now + (Date.now() - S.agentAt);
  const FILTERS = {
    all: () => true,
    me: (c) => !snoozed(c) && c.preview_from === 'debtor',
    debtor: (c) => !snoozed(c) && c.preview_from !== 'debtor',
    snoozed: (c) => snoozed(c),
  };

  function filterList(a) {
    for (const c of a.convs) {
      const li = document.querySelector('[data-testid="conv-' + c.debtor + '"]');
      if (!li) continue;
      li.hidden = N.filter === 'closed' || !FILTERS[N.filter](c);
      const s = snoozed(c);
      if (s) li.append(el('div', { class: 'meta', testid: 'snoozed-' + c.debtor }, 'snoozed until ' +
        new Date(c.snoozed_until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
      li.append(el('button', { class: 'small', testid: (s ? 'wake-' : 'snooze-') + c.debtor,
        onclick: (ev) => { ev.stopPropagation(); send('snooze', { debtor: c.debtor, minutes: s ? 0 : 60 }); } },
      s ? 'Wake' : 'Snooze 1 h'));
    }
    $('convs').hidden = N.filter === 'closed';
    $('closed-list').hidden = N.filter !== 'closed';
  }

  async function showClosed() {
    const r = await send('closed');
    if (r.t !== 'ok') { $('closed-list').replaceChildren(el('li', { class: 'meta' }, r.text || r.code)); return; }
    $('closed-list').replaceChildren(...(r.closed.length ? r.closed.map((c) => el('li', {
      testid: 'closed-' + c.debtor, class: c.readable ? '' : 'gone',
      onclick: () => { if (c.readable) openConv(c.debtor); },
    }, el('div', {}, c.name || c.debtor),
    el('div', { class: 'meta' }, 'closed ' + new Date(c.closed_ms).toLocaleString() +
      (c.disposition ? ' · ' + c.disposition : '') + (c.readable ? '' : ' · ' + c.state)))) : [el('li', { class: 'meta' }, 'Nothing closed yet.')]));
  }

  for (const b of document.querySelectorAll('#conv-filters button')) {
    b.addEventListener('click', () => {
      N.filter = b.dataset.filter;
      for (const x of document.querySelectorAll('#conv-filters button')) x.classList.toggle('on', x === b);
      if (N.filter === 'closed') showClosed();
      if (S.agent) renderAgent();
    });
  }

  function decorate(testid, c, unread) {
    const li = document.querySelector('[data-testid="' + testid + '"]');
    if (!li) return;
    if (unread > 0) {
      li.classList.add('unread');
      li.firstChild.append(el('span', { class: 'unread-count', testid: 'unread-' + c.debtor, title: unread + ' unread' }, String(unread)));
    }
    if (c.preview) {
      li.append(el('div', { class: 'preview', testid: 'preview-' + c.debtor },
        (c.preview_from === 'debtor' ? '' : c.preview_from === 'bot' ? 'bot: ' : 'you: ') + c.preview));
    }
  }

  const marked = new Map();
  function markRead(debtor, upto) {
    if (upto === undefined || upto === null || (marked.get(debtor) || -1) >= upto) return;
    marked.set(debtor, upto);
    send('read', { debtor, upto }).then((r) => {
      // The list shows it read at once (the next snapshot says the same).
      const c = r.t === 'ok' && S.agent && S.agent.convs.find((x) => x.debtor === debtor);
      if (c && c.unread) { c.unread = 0; renderAgent(); }
    }).catch(() => marked.delete(debtor));
  }

  // A conversation shown (console.js renderConv): what the agent sees there is read.
  function conv(m) {
    if (visibleThread(m.debtor) && m.conv && m.conv.msgs_in !== undefined) markRead(m.debtor, Number(m.conv.msgs_in));
  }

  document.addEventListener('visibilitychange', () => { if (S.conv) conv(S.conv); });
  // The browser asks for the permission only in answer to a click.
  document.addEventListener('click', () => {
    if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission();
  }, { once: true });

  return { agent, conv, reset() { N.first = true; N.offers = new Set(); N.unread = new Map(); marked.clear(); document.title = N.baseTitle; },
           counts() { return { sounds: N.sounds, shown: N.shown }; } };
})();
