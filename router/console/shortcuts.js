// shortcuts.js — the agent's keyboard (docs/console-protocol.md, "Keyboard"): Alt+A accepts the
// first offer, Alt+N opens the next conversation waiting on the agent (the debtor wrote last),
// Alt+R puts the cursor in the reply box, Ctrl+Enter (or Cmd+Enter) there sends the reply. And the
// debtor's local time in the debtor panel, kept current.
'use strict';

(() => {
  document.addEventListener('keydown', (ev) => {
    if (!S.agent || $('desk').hidden) return;
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && document.activeElement === $('reply-text')) {
      ev.preventDefault();
      $('reply-send').click();
      return;
    }
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const k = ev.key.toLowerCase();
    if (k === 'a' && S.agent.offers.length) {
      ev.preventDefault();
      accept(S.agent.offers[0].debtor); // the list's first: highest priority, longest wait
    } else if (k === 'n') {
      ev.preventDefault();
      const waiting = S.agent.convs.filter((c) => c.debtor !== S.open && (c.unread || c.preview_from === 'debtor'));
      if (waiting.length) openConv(waiting[0].debtor);
    } else if (k === 'r') {
      ev.preventDefault();
      $('reply-text').focus();
    }
  });

  // The debtor's local time, every 20 s (the row is drawn by console.js with data-tz).
  const tick = () => {
    for (const e of document.querySelectorAll('[data-tz]')) {
      try {
        e.textContent = new Intl.DateTimeFormat([], { timeZone: e.dataset.tz, weekday: 'short', hour: '2-digit',
          minute: '2-digit' }).format(new Date());
      } catch (err) { e.textContent = '?'; }
    }
  };
  setInterval(tick, 20000);
  window.addEventListener('hilo:conv-shown', tick);
})();
