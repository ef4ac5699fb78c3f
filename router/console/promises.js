// promises.js — changing the ledger from the debtor panel (docs/console-protocol.md, "Promises
// from the console"): a pending promise is changed (amount, due day in the debtor's calendar) or
// cancelled, a plan cancelled whole, with a reason that goes to the audit; a payment plan the
// debtor agreed (total, instalments, first due day) is recorded. The assigned agent
// and supervisors; the router decides (agent_ops.lua) and says why when it refuses. console.js
// calls Promises.actions(m, p) for each ledger row.
'use strict';

const Promises = (() => {
  const changeable = (m, p) => (!m.readonly || S.role === 'supervisor') && !p.plan &&
    (p.state === 'pending' || (p.kind === 'plan' && p.state === 'broken'));

  function status(row, text) {
    let s = row.querySelector('[data-testid="promise-status"]');
    if (!s) row.append(s = el('div', { class: 'status', role: 'alert', testid: 'promise-status' }));
    s.textContent = text;
  }

  async function submit(row, t, body) {
    let r;
    try { r = await send(t, body); } catch (err) { r = { t: 'error', text: 'Offline: try again when connected.' }; }
    // Done: the conversation comes again with the ledger as it now is (console.js redraws it).
    if (r.t !== 'ok') status(row, r.text || r.code);
  }

  function editForm(m, p, row, actions) {
    const amount = el('input', { type: 'number', min: '0.01', step: '0.01', testid: 'promise-amount',
      value: ((p.amount_cents || 0) / 100).toFixed(2), 'aria-label': 'amount' });
    const due = el('input', { type: 'date', testid: 'promise-due', value: p.due || '', 'aria-label': 'due day' });
    const form = el('div', { class: 'promise-form' }, amount, due,
      el('button', { class: 'small', testid: 'promise-save', onclick: () => {
        const body = { debtor: m.debtor, promise: p.id };
        const cents = Math.round(Number(amount.value) * 100);
        if (cents !== p.amount_cents) body.amount_cents = cents;
        if (due.value !== p.due) body.due = due.value;
        submit(row, 'promise_edit', body);
      } }, 'Save'),
      el('button', { class: 'small', onclick: () => form.replaceWith(actions) }, 'Back'));
    actions.replaceWith(form);
  }

  function cancelForm(m, p, row, actions) {
    const why = el('input', { testid: 'promise-reason', placeholder: 'why (kept in the audit)', maxlength: '200' });
    const form = el('div', { class: 'promise-form' }, why,
      el('button', { class: 'small', testid: 'promise-cancel-confirm', onclick: () =>
        submit(row, 'promise_cancel', { debtor: m.debtor, promise: p.id, comment: why.value.trim() }) },
      p.kind === 'plan' ? 'Cancel the plan' : 'Cancel the promise'),
      el('button', { class: 'small', onclick: () => form.replaceWith(actions) }, 'Back'));
    actions.replaceWith(form);
  }

  // The buttons of one ledger row (null when it cannot be changed by this user).
  function actions(m, p, row) {
    if (!changeable(m, p)) return null;
    const box = el('span', { class: 'promise-actions' });
    if (p.kind !== 'plan')
      box.append(el('button', { class: 'small', testid: 'promise-edit-' + p.id, onclick: () => editForm(m, p, row, box) }, 'Change'));
    box.append(el('button', { class: 'small', testid: 'promise-cancel-' + p.id, onclick: () => cancelForm(m, p, row, box) },
      'Cancel'));
    return box;
  }

  // "Record a plan": the total, 2-12 monthly instalments, the first due day (the debtor's).
  function planForm(m) {
    if (m.readonly && S.role !== 'supervisor') return null;
    const n = el('select', { testid: 'plan-instalments', 'aria-label': 'instalments' },
      ...[2, 3, 4, 5, 6, 9, 12].map((k) => el('option', { value: String(k) }, k + ' monthly')));
    const total = el('input', { type: 'number', min: '0.01', step: '0.01', testid: 'plan-total', placeholder: 'total',
      'aria-label': 'total' });
    const first = el('input', { type: 'date', testid: 'plan-first-due', 'aria-label': 'first due day' });
    const box = el('div', { class: 'promise-form', testid: 'plan-form' }, n, total, first);
    box.append(el('button', { class: 'small', testid: 'plan-record', onclick: () => submit(box, 'plan', {
      debtor: m.debtor, instalments: Number(n.value), total_cents: Math.round(Number(total.value) * 100),
      first_due: first.value }) }, 'Record plan'));
    return el('details', { class: 'plan' }, el('summary', { testid: 'plan-open' }, 'Record a payment plan'), box);
  }

  return { actions, planForm };
})();
