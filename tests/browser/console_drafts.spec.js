// console_drafts.spec.js — what an agent types stays with its conversation, in Debian's Chromium
// (playwright-core), driven by test_console_drafts_browser.py (which owns the processes and
// checks what reached each debtor). One agent holds three WhatsApp conversations (Carlos, Ana,
// James): a greeting and a wrap-up typed for Carlos are not in Ana's or James's fields; what is
// sent from Ana's reaches Ana only; Carlos's draft is still his when the agent comes back, and
// is sent to him; a send answered after the agent moved on does not touch the other draft or
// status line; a conversation a supervisor takes away drops what was typed for it.
// Env: HILO_URL, HILO_AGENT, HILO_SUPERVISOR, HILO_PASSWORD, HILO_CARLOS, HILO_ANA, HILO_JAMES
// (debtor ids), HILO_TEXT_CARLOS, HILO_TEXT_ANA, HILO_TEXT_JAMES, HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');
const CARLOS = env('HILO_CARLOS'), ANA = env('HILO_ANA'), JAMES = env('HILO_JAMES');
const shot = (page, name) => page.screenshot({ path: path.join(ART, 'drafts-' + name + '.png'), fullPage: true });

// The agent's own fields and status lines, as the page shows them.
async function fields(page) {
  const v = async (id) => page.inputValue(tid(id));
  return {
    reply: await v('reply-text'), wait: await page.isChecked(tid('reply-wait')), note: await v('note-text'),
    code: await v('disp-code'), amount: await v('disp-amount'), due: await v('disp-due'),
    comment: await v('disp-comment'), xfer: await v('xfer-to'),
    replyStatus: await page.textContent(tid('reply-status')), toolStatus: await page.textContent(tid('tool-status')),
  };
}

const EMPTY = { reply: '', wait: false, note: '', code: 'promise_to_pay', amount: '', due: '', comment: '', xfer: '',
  replyStatus: '', toolStatus: '' };

function expectFields(got, want, where) {
  const bad = Object.keys(want).filter((k) => got[k] !== want[k]);
  if (bad.length) throw new Error(where + ': ' + bad.map((k) => k + ' is ' + JSON.stringify(got[k]) +
    ', wanted ' + JSON.stringify(want[k])).join('; '));
}

// Opens a conversation from the list and waits until its thread is on the page.
async function open(page, debtor, name) {
  await page.click(tid('conv-' + debtor));
  await page.waitForSelector(tid('conv-head') + ':has-text("' + name + '")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('composer') + ':visible', { timeout: TIMEOUT });
}

async function main(browser) {
  const ctxA = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const ctxS = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const agent = await ctxA.newPage();
  const sup = await ctxS.newPage();
  agent.on('console', (m) => { if (m.type() === 'error') log('agent console error:', m.text()); });

  // Three offers (escalated by the Python side before this script started); all accepted.
  await login(agent, env('HILO_AGENT'));
  await agent.selectOption(tid('availability'), 'available');
  for (const d of [CARLOS, ANA, JAMES]) {
    await agent.waitForSelector(tid('accept-' + d), { timeout: TIMEOUT });
    await agent.click(tid('accept-' + d));
    await agent.waitForSelector(tid('conv-' + d), { timeout: TIMEOUT });
  }

  // Carlos: a greeting, a promise in the wrap-up, a note, all typed and none sent yet.
  await open(agent, CARLOS, 'Carlos');
  expectFields(await fields(agent), EMPTY, 'Carlos, first opened');
  const carlos = { reply: env('HILO_TEXT_CARLOS'), wait: true, note: 'Carlos: call after 6 pm', code: 'promise_to_pay',
    amount: '300', due: '2026-12-10', comment: 'Carlos promised 300 on the 10th', xfer: 'en.legal' };
  await agent.fill(tid('reply-text'), carlos.reply);
  await agent.check(tid('reply-wait'));
  await agent.fill(tid('note-text'), carlos.note);
  await agent.fill(tid('disp-amount'), carlos.amount);
  await agent.fill(tid('disp-due'), carlos.due);
  await agent.fill(tid('disp-comment'), carlos.comment);
  await agent.fill(tid('xfer-to'), carlos.xfer);
  await shot(agent, '01-carlos-typed');

  // Ana: none of it.
  await open(agent, ANA, 'Ana');
  await shot(agent, '02-ana-opened');
  expectFields(await fields(agent), EMPTY, "Ana's fields after Carlos's were filled");
  // What is sent from Ana's conversation goes to Ana.
  await agent.fill(tid('reply-text'), env('HILO_TEXT_ANA'));
  await agent.click(tid('reply-send'));
  await agent.waitForSelector(tid('reply-status') + ':text("sent on whatsapp")', { timeout: TIMEOUT });
  expectFields(await fields(agent), Object.assign({}, EMPTY, { replyStatus: 'sent on whatsapp' }), 'Ana after sending');
  await shot(agent, '03-ana-sent');
  await step('ana-sent');

  // James: neither Carlos's draft nor Ana's status line.
  await open(agent, JAMES, 'James');
  expectFields(await fields(agent), EMPTY, "James's fields");
  await shot(agent, '04-james-opened');

  // Back to Carlos: everything typed for him, as he left it.
  await open(agent, CARLOS, 'Carlos');
  expectFields(await fields(agent), Object.assign({}, EMPTY, carlos), "Carlos's fields when coming back");
  await shot(agent, '05-carlos-back');

  // Carlos's greeting is sent; the agent moves to James at once. The answer, whenever it comes,
  // belongs to Carlos: James's box and status line are untouched.
  await agent.uncheck(tid('reply-wait'));
  await agent.fill(tid('reply-text'), carlos.reply);
  await agent.click(tid('reply-send'));
  await open(agent, JAMES, 'James');
  await agent.fill(tid('reply-text'), env('HILO_TEXT_JAMES'));
  await step('carlos-sent');
  expectFields(await fields(agent), Object.assign({}, EMPTY, { reply: env('HILO_TEXT_JAMES') }), 'James after Carlos was sent');
  await open(agent, CARLOS, 'Carlos');
  await agent.waitForSelector(tid('reply-status') + ':text("sent on whatsapp")', { timeout: TIMEOUT });
  expectFields(await fields(agent), Object.assign({}, EMPTY, carlos, { reply: '', wait: false, replyStatus: 'sent on whatsapp' }),
    'Carlos after his greeting was sent');

  // A supervisor takes James's conversation away while his draft and wrap-up are typed.
  await open(agent, JAMES, 'James');
  await agent.fill(tid('disp-comment'), 'James wrap-up, not to be kept');
  await login(sup, env('HILO_SUPERVISOR'));
  await sup.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  await sup.fill(tid('sup-debtor'), JAMES);
  await sup.fill(tid('sup-to'), 'en.legal');
  await sup.click(tid('sup-reassign-queue'));
  await sup.waitForSelector(tid('sup-status') + ':text("transferred")', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('conv-' + JAMES), { state: 'detached', timeout: TIMEOUT });
  await agent.waitForSelector(tid('conv-head') + ':has-text("no longer yours")', { timeout: TIMEOUT });
  if (await agent.isVisible(tid('composer'))) throw new Error('the composer stays open for a conversation taken away');
  await shot(agent, '06-james-taken-away');
  // Nothing of James's travels to Ana's conversation.
  await open(agent, ANA, 'Ana');
  expectFields(await fields(agent), Object.assign({}, EMPTY, { replyStatus: 'sent on whatsapp' }), 'Ana after James was taken away');
  await step('james-gone');

  // Ana's wrap-up closes Ana's conversation with Ana's promise; Carlos's stays his.
  await agent.fill(tid('disp-amount'), '120');
  await agent.fill(tid('disp-due'), '2026-12-15');
  await agent.fill(tid('disp-comment'), 'Ana promised 120');
  await agent.click(tid('disp-close'));
  await agent.waitForSelector(tid('conv-head') + ':has-text("closed")', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('conv-' + ANA), { state: 'detached', timeout: TIMEOUT });
  await open(agent, CARLOS, 'Carlos');
  expectFields(await fields(agent), Object.assign({}, EMPTY, carlos, { reply: '', wait: false, replyStatus: 'sent on whatsapp' }),
    "Carlos's fields after Ana's wrap-up");
  await shot(agent, '07-carlos-after-ana-closed');
  await step('ana-closed');
  console.log('DONE');
}

run(main);
