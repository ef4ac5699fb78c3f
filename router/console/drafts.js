// drafts.js — what the agent is writing, per conversation. The reply box, the "send when
// allowed" box, the private note being typed, the wrap-up fields, the transfer target and the
// status lines of the workspace belong to ONE conversation: a greeting typed for one debtor
// must never go to another, nor a promise recorded for one be pre-filled in another's wrap-up
// (in collections, a disclosure to a third party). console.js calls:
//   Drafts.show(debtor)          the page's fields now belong to `debtor` (null: to nobody):
//                                the fields of the one left are kept, the debtor's own restored
//                                (empty the first time)
//   Drafts.shown()               whose fields are on the page
//   Drafts.forget(debtor)        drop its draft (closed, taken away, signed out); emptied on
//                                the page if it is shown
//   Drafts.clear(debtor, id, t)  `t` (the reply, the note) was sent: empty that debtor's field
//                                `id`, unless the agent has typed something else there since
//   Drafts.status(debtor, which, text, error)  set its 'reply', 'wrapup' or 'tool' status line
//                                (error: shown as an error)
//   Drafts.retain(debtors)       drop the drafts of conversations not in `debtors` (no longer
//                                the agent's), except the one shown
//   Drafts.forgetAll()           sign-out: nothing typed survives for the next agent
// Drafts live in this page's memory only (never in storage: they may hold debt details).
'use strict';

const Drafts = (() => {
  // Field ids and what an untouched conversation has in them.
  const VALUES = { 'reply-text': '', 'note-text': '', 'disp-code': 'promise_to_pay', 'disp-amount': '',
    'disp-due': '', 'disp-callback': '', 'disp-comment': '', 'xfer-to': '' };
  const CHECKS = { 'reply-wait': false };
  const STATUS = { reply: 'reply-status', wrapup: 'wrapup-status', tool: 'tool-status' };
  const byDebtor = new Map();
  let current = null;

  const fresh = () => ({ values: Object.assign({}, VALUES), checks: Object.assign({}, CHECKS), status: { reply: '', wrapup: '', tool: '' },
    errors: {} });
  const of = (d) => { if (!byDebtor.has(d)) byDebtor.set(d, fresh()); return byDebtor.get(d); };
  const node = (id) => document.getElementById(id);

  function capture() {
    if (current === null) return;
    const dr = of(current);
    for (const id of Object.keys(VALUES)) dr.values[id] = node(id).value;
    for (const id of Object.keys(CHECKS)) dr.checks[id] = node(id).checked;
  }

  function paint(dr) {
    for (const [id, v] of Object.entries(dr.values)) node(id).value = v;
    for (const [id, v] of Object.entries(dr.checks)) node(id).checked = v;
    for (const [k, id] of Object.entries(STATUS)) {
      node(id).textContent = dr.status[k];
      node(id).classList.toggle('error', !!dr.errors[k]);
    }
    // The wrap-up shows the inputs of its disposition code only.
    node('disp-ptp').hidden = dr.values['disp-code'] !== 'promise_to_pay';
    node('disp-cb').hidden = dr.values['disp-code'] !== 'callback';
  }

  function show(debtor) {
    if (debtor === current) return;
    capture();
    current = debtor;
    paint(debtor === null ? fresh() : of(debtor));
  }

  function forget(debtor) {
    byDebtor.delete(debtor);
    if (debtor === current) {
      current = null;
      paint(fresh());
    }
  }

  function clear(debtor, id, sent) {
    if (debtor === current) {
      if (node(id).value.trim() === sent) node(id).value = '';
    } else if (byDebtor.has(debtor) && byDebtor.get(debtor).values[id].trim() === sent) {
      byDebtor.get(debtor).values[id] = '';
    }
  }

  // A conversation already forgotten (closed, taken away) gets no status line back.
  function status(debtor, which, text, error) {
    if (debtor !== current && !byDebtor.has(debtor)) return;
    of(debtor).status[which] = text;
    of(debtor).errors[which] = !!error;
    if (debtor === current) {
      node(STATUS[which]).textContent = text;
      node(STATUS[which]).classList.toggle('error', !!error);
    }
  }

  function retain(debtors) {
    const keep = new Set(debtors);
    for (const d of [...byDebtor.keys()]) if (d !== current && !keep.has(d)) byDebtor.delete(d);
  }

  function forgetAll() {
    byDebtor.clear();
    current = null;
    paint(fresh());
  }

  return { show, shown: () => current, forget, clear, status, retain, forgetAll };
})();
