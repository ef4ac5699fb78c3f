// search.js — the search box over the agent's lists ({"t":"search"}, docs/console-protocol.md,
// "Search"): a debtor by name (any case, with or without accents, the beginnings of words), by
// debtor id or by phone in any spelling. The router answers only with what this user may read
// (an agent: their own conversations; a supervisor: everyone); a result opens with `open`.
'use strict';

(() => {
  const STATES = { assigned: 'assigned', offered: 'offered', queued: 'waiting in a queue', closed: 'closed', bot: 'with the bot' };

  function clear(text) {
    $('search-results').replaceChildren();
    $('search-results').hidden = true;
    $('search-status').textContent = text || '';
  }

  function show(q, r) {
    if (r.t !== 'ok') return clear(r.text || r.code);
    const hits = r.results.map((h) => {
      const meta = [h.debtor, h.by === 'name' ? null : 'by ' + h.by, h.state ? STATES[h.state] || h.state : 'no conversation',
        h.agent && h.agent !== S.me ? h.agent : null].filter(Boolean).join(' · ');
      return el('li', { testid: 'search-hit-' + h.debtor, tabindex: '0', role: 'button',
        onclick: () => openConv(h.debtor),
        onkeydown: (ev) => { if (ev.key === 'Enter') openConv(h.debtor); } },
      el('div', {}, h.name || h.debtor), el('div', { class: 'meta' }, meta));
    });
    $('search-results').replaceChildren(...hits);
    $('search-results').hidden = hits.length === 0;
    $('search-status').textContent = hits.length === 0
      ? 'Nothing you can open matches “' + q + '”.'
      : hits.length + (r.more ? '+ found: type more to narrow it' : ' found');
  }

  $('search').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('search-q').value.trim();
    if (!q) return clear();
    $('search-status').textContent = 'Searching…';
    try {
      show(q, await send('search', { query: q }));
    } catch (err) {
      clear('Offline: try again when connected.');
    }
  });
  $('search-q').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { $('search-q').value = ''; clear(); } });
  $('search-q').addEventListener('search', () => { if (!$('search-q').value) clear(); });
})();
