// console.spec.js — the console in Debian's Chromium (playwright-core), driven by
// test_console_browser.py, which owns the processes (Redis, router, connectors, sandbox) and
// does what the browser cannot: escalate, restart the router. They talk over stdio: this
// script prints "STEP <name>" and waits for "OK <name>" on stdin.
// Env: HILO_URL (http://127.0.0.1:PORT/console/), HILO_AGENT, HILO_SUPERVISOR, HILO_PASSWORD,
// HILO_DEBTOR, HILO_REPLY (text to send), HILO_ARTIFACTS (screenshots dir).
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');
const DEBTOR = env('HILO_DEBTOR');
const shot = (page, name) => page.screenshot({ path: path.join(ART, name + '.png'), fullPage: true });

async function waiting_count(page, queue) {
  const cell = page.locator(tid('queue-waiting-' + queue));
  if (await cell.count() === 0) return 0;
  return Number(await cell.textContent());
}

async function main(browser) {
  const ctxS = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const ctxA = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const sup = await ctxS.newPage();
  const agent = await ctxA.newPage();
  // The router sends a strict Content-Security-Policy: the console must work under it.
  const cspViolations = [];
  for (const [p, n] of [[sup, 'supervisor'], [agent, 'agent']])
    p.on('console', (m) => {
      if (m.type() !== 'error') return;
      log(n, 'console error:', m.text());
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(n + ': ' + m.text());
    });

  // The supervisor watches the floor.
  await login(sup, env('HILO_SUPERVISOR'));
  await sup.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  const q = 'en.collections';
  const before = await waiting_count(sup, q);
  log('queue waiting before', before);

  // The agent signs in, away: nothing is offered yet.
  await login(agent, env('HILO_AGENT'));
  await agent.selectOption(tid('availability'), 'away');

  await step('escalate');
  // The queue count rises on the supervisor's page, without reload.
  await sup.waitForFunction(([sel, n]) => {
    const c = document.querySelector(sel);
    return c && Number(c.textContent) > n;
  }, [tid('queue-waiting-' + q), before], { timeout: TIMEOUT });
  log('queue waiting after escalation', await waiting_count(sup, q));
  await shot(sup, '01-supervisor-queue-up');

  // Available: the offer arrives, the agent accepts it.
  await agent.selectOption(tid('availability'), 'available');
  await agent.waitForSelector(tid('accept-' + DEBTOR), { timeout: TIMEOUT });
  await shot(agent, '02-agent-offer');
  await agent.click(tid('accept-' + DEBTOR));
  await agent.waitForSelector(tid('conv-' + DEBTOR), { timeout: TIMEOUT });
  await agent.waitForSelector(tid('composer') + ':visible', { timeout: TIMEOUT });

  // The whole thread: the earlier SMS and the WhatsApp message, with channel badges.
  const badges = await agent.locator(tid('thread') + ' ' + tid('badge')).allTextContents();
  log('thread badges', badges.join(','));
  if (!badges.includes('sms') || !badges.includes('whatsapp')) throw new Error('thread lacks sms+whatsapp: ' + badges);
  const texts = await agent.locator(tid('thread') + ' ' + tid('item-text')).allTextContents();
  log('thread texts', JSON.stringify(texts));
  // The reply box defaults to the debtor's last channel.
  const ch = await agent.inputValue(tid('reply-channel'));
  if (ch !== 'whatsapp') throw new Error('reply channel defaults to ' + ch);
  const voiceDisabled = await agent.locator(tid('reply-channel') + ' option[value="voice"]').isDisabled();
  if (!voiceDisabled) throw new Error('voice should be disabled with a reason');
  const reason = await agent.textContent(tid('channel-reason'));
  log('blocked channel reasons:', reason);
  await shot(agent, '03-agent-thread');
  // The debtor panel: the plan, then its instalments in order (the test seeded them).
  const ledger = await agent.locator(tid('promises') + ' li ' + tid('promise-what')).allTextContents();
  const want = ['plan 2 × 625.00 USD (1 of 2 paid) — pending', 'instalment 1/2 625.00 USD due 2026-12-01 — kept',
    'instalment 2/2 625.00 USD due 2027-01-01 — pending'];
  if (JSON.stringify(ledger) !== JSON.stringify(want)) throw new Error('promises panel: ' + JSON.stringify(ledger));

  // Reply; it goes through the gate and out on WhatsApp.
  await agent.fill(tid('reply-text'), env('HILO_REPLY'));
  await agent.click(tid('reply-send'));
  await agent.waitForSelector(tid('reply-status') + ':text("sent on whatsapp")', { timeout: TIMEOUT });
  await agent.waitForFunction((t) => [...document.querySelectorAll('[data-testid="item-text"]')]
    .some((e) => e.textContent === t), env('HILO_REPLY'), { timeout: TIMEOUT });
  await shot(agent, '04-agent-replied');

  // The queue count falls back.
  await sup.waitForFunction(([sel, n]) => {
    const c = document.querySelector(sel);
    return c && Number(c.textContent) <= n;
  }, [tid('queue-waiting-' + q), before], { timeout: TIMEOUT });
  await shot(sup, '05-supervisor-queue-down');
  await step('replied');

  // A private note, then the router restarts under both consoles.
  await agent.fill(tid('note-text'), 'debtor prefers evenings');
  await agent.click(tid('note-add'));
  await agent.waitForSelector(tid('note') + ':has-text("debtor prefers evenings")', { timeout: TIMEOUT });
  await step('restart');
  for (const p of [agent, sup])
    await p.waitForSelector(tid('conn-status') + ':text("connected")', { timeout: 40000 });
  // Re-synchronised by itself: the open conversation and the floor are current again.
  await agent.waitForSelector(tid('conv-' + DEBTOR), { timeout: TIMEOUT });
  await agent.waitForSelector(tid('note') + ':has-text("debtor prefers evenings")', { timeout: TIMEOUT });
  await step('after-restart');
  // A new inbound message (sent by the wrapper) appears live in the open thread.
  await agent.waitForFunction(() => [...document.querySelectorAll('[data-testid="item-text"]')]
    .some((e) => e.textContent.includes('after the restart')), null, { timeout: TIMEOUT });
  await shot(agent, '06-agent-after-restart');
  await shot(sup, '07-supervisor-after-restart');

  // Wrap-up: promise to pay, close.
  await agent.selectOption(tid('disp-code'), 'promise_to_pay');
  await agent.fill(tid('disp-amount'), '50');
  // A due date a month after the test clock (Tuesday 2026-11-24, tests/lib/hilo_harness.py).
  await agent.fill(tid('disp-due'), '2026-12-24');
  await agent.click(tid('disp-close'));
  await agent.waitForSelector(tid('conv-head') + ':has-text("closed")', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('conv-' + DEBTOR), { state: 'detached', timeout: TIMEOUT });
  await shot(agent, '08-agent-closed');
  if (cspViolations.length) throw new Error('Content-Security-Policy violations: ' + cspViolations.join(' | '));
  console.log('DONE');
}

run(main);
