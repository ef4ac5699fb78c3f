// strategies.spec.js — the outbound strategies in the console, in Debian's Chromium
// (playwright-core), driven by test_strategies_browser.py (which owns Redis, the router and the
// strategy runner's data; "STEP <name>" / "OK <name>" over stdio as in console.spec.js).
// The supervisor's Strategies panel shows the funnel the runner counts, live; the agent's
// debtor panel shows each debtor's step in words; an agent asking for the panel is refused.
// Env: HILO_URL, HILO_AGENT, HILO_SUPERVISOR, HILO_PASSWORD, HILO_ENTERED (debtors the runner
// enrolled), HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');
const S = 'demo_reminders';
const cell = (v, st, metric) => tid(`funnel-${S}-${v}-${st}-${metric}`);

async function expectText(page, sel, want) {
  try {
    await page.waitForFunction(([s, w]) => { const e = document.querySelector(s); return e && e.textContent === w; },
      [sel, want], { timeout: TIMEOUT });
  } catch (e) {
    const got = await page.locator(sel).allTextContents();
    throw new Error(`${sel}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}

async function main(browser) {
  const sup = await (await browser.newContext({ viewport: { width: 1500, height: 1000 } })).newPage();
  const agent = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  for (const [p, n] of [[sup, 'supervisor'], [agent, 'agent']])
    p.on('console', (m) => { if (m.type() === 'error') log(n, 'console error:', m.text()); });

  // --- the supervisor's panel ---
  await login(sup, env('HILO_SUPERVISOR'));
  await sup.waitForSelector(tid('strategy-' + S), { timeout: TIMEOUT });
  // Started with the CLI: running by its control key; late_notice as its file says.
  await expectText(sup, tid('strategy-state-' + S), 'running');
  await expectText(sup, tid('strategy-state-late_notice'), 'running (as in its file)');
  // The runner's own counts: every enrolled debtor entered a first step, in one variant or
  // the other (the split is the strategy's hashing: the totals of both variants are summed).
  const entered = Number(env('HILO_ENTERED'));
  await sup.waitForFunction(([a, b, n]) => {
    const v = (s) => Number((document.querySelector(s) || {}).textContent || 0);
    return v(a) + v(b) === n;
  }, [cell('champion', '*', 'entered'), cell('sms_first', '*', 'entered'), entered], { timeout: 30000 });
  log('entered (runner):', entered);
  // The counts the test seeded, each in its column or by its reason.
  await expectText(sup, cell('champion', 'hello_whatsapp', 'delivered'), '6');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'read'), '3');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'replied'), '2');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'stopped:paid'), 'paid 2');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'refused:outside_contact_hours'),
    'outside contact hours 4');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'unknown'), 'unknown 1');
  await expectText(sup, cell('sms_first', 'hello_sms', 'collected_cents'), 'collected 125.00');
  // What the step's sends cost ([costs]), in millionths of the currency its name carries.
  await expectText(sup, cell('sms_first', 'hello_sms', 'cost_micros:USD'), ' · cost 0.0125 USD');
  // Steps in the file's order, the variant's own list for sms_first.
  const firstCells = await sup.locator(tid('strategy-' + S) + ' tbody tr:not(.variant):not(.total) td:first-child')
    .allTextContents();
  log('rows:', JSON.stringify(firstCells));
  const want = ['v_whatsapp', 'v_sms', 'hello_whatsapp', 'hello_sms', 'sms_day3', 'late_sms', 'late_whatsapp',
    'v_whatsapp', 'v_sms', 'hello_sms', 'sms_day3', 'late_sms', 'late_whatsapp'];
  if (JSON.stringify(firstCells) !== JSON.stringify(want)) throw new Error('rows: ' + JSON.stringify(firstCells));
  await sup.locator(tid('strategies')).screenshot({ path: path.join(ART, 'strategies-01-supervisor-panel.png') });

  // Live: paused from the CLI, one more delivery counted — no reload.
  await step('pause');
  await expectText(sup, tid('strategy-state-' + S), 'paused');
  await expectText(sup, cell('champion', 'hello_whatsapp', 'delivered'), '7');
  await sup.screenshot({ path: path.join(ART, 'strategies-02-supervisor-floor.png'), fullPage: true });

  // --- the agent's debtor panel ---
  await login(agent, env('HILO_AGENT'));
  const panel = async (debtor, words) => {
    await agent.click(tid('conv-' + debtor));
    await agent.waitForSelector(tid('conv-head') + `:has-text("${debtor === 'A1' ? 'Ada Due' : debtor === 'A2' ? 'Hal Held' : 'Stu Stopped'}")`,
      { timeout: TIMEOUT });
    await expectText(agent, tid('debtor-panel') + ' ' + tid('strategy-step'), words);
  };
  await panel('A1', "SMS 'sms_day3' due Fri 27 Nov 10:00 (debtor's time)");
  const events = await agent.locator(tid('strategy-events') + ' li').allTextContents();
  log('A1 events:', JSON.stringify(events));
  if (events.length !== 2 || !events[0].endsWith("scheduled 'sms_day3'") || !events[1].includes("entered 'hello_whatsapp': early"))
    throw new Error('A1 events: ' + JSON.stringify(events));
  await expectText(agent, tid('strategy-meta'), "demo_reminders · segment early · variant champion · last sent 'hello_whatsapp'");
  await agent.screenshot({ path: path.join(ART, 'strategies-03-agent-due.png'), fullPage: true });
  await panel('A2', "held: the debtor replied (WhatsApp 'hello_whatsapp' was sent)");
  await panel('A3', 'stopped: paid');
  await agent.screenshot({ path: path.join(ART, 'strategies-04-agent-stopped.png'), fullPage: true });

  // An agent's page asking for the supervisor's panel is refused; no panel reaches it.
  const ans = await agent.evaluate(() => send('strategies'));
  log('agent asks for the panel:', JSON.stringify(ans));
  if (ans.t !== 'error' || ans.code !== 'forbidden') throw new Error('agent got ' + JSON.stringify(ans));
  await agent.waitForTimeout(1500);
  if (await agent.locator(tid('strategy-' + S)).count() !== 0) throw new Error('the panel was rendered for an agent');
  console.log('DONE');
}

run(main);
