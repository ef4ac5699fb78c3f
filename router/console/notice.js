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
  const N = { offers: new Set(), unread: new Map(), first: true, sounds: 0, shown: 0, baseTitle: document.title };

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
