// promises.spec.js — the ledger's rows in the debtor panel (router/console/promises.js), in
// Debian's Chromium, driven by test_promises_browser.py: the agent accepts the offer, asks for a
// promise past the balance (the router's sentence shows by the row), changes it to 400.00 due
// 2027-02-01, then cancels it with a reason; the row says cancelled and offers nothing more; then
// records a plan of two for the whole balance, listed with its instalments.
// Screenshots at 400×800, 1280×720 and 1920×1080.
// Env: HILO_URL, HILO_AGENT, HILO_PASSWORD, HILO_ARTIFACTS, HILO_DEBTOR, HILO_PROMISE.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, run, shots, agentWithConversation } = require('./spec_lib');

const D = env('HILO_DEBTOR'), P = env('HILO_PROMISE');

async function main(browser) {
  const page = await agentWithConversation(browser, D);
  const row = tid('promise-' + P);
  await page.waitForSelector(row + ':has-text("300.00 COP due 2026-12-10")', { timeout: TIMEOUT });

  await page.click(tid('promise-edit-' + P));
  await page.fill(row + ' ' + tid('promise-amount'), '1500.00');
  await page.click(row + ' ' + tid('promise-save'));
  await page.waitForSelector(row + ' ' + tid('promise-status') + ':has-text("more than the debtor still owes")',
    { timeout: TIMEOUT });
  await shots(page, 'promises-refused');
  log('over the balance: refused by the row');
  await page.fill(row + ' ' + tid('promise-amount'), '400.00');
  await page.fill(row + ' ' + tid('promise-due'), '2027-02-01');
  await page.click(row + ' ' + tid('promise-save'));
  await page.waitForSelector(row + ':has-text("400.00 COP due 2027-02-01 — pending")', { timeout: TIMEOUT });
  log('changed');

  await page.click(tid('promise-cancel-' + P));
  await page.fill(row + ' ' + tid('promise-reason'), 'paid by transfer');
  await page.setViewportSize({ width: 400, height: 800 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 400) throw new Error('the desk is ' + wide + ' px wide at 400 px with the cancel form open');
  await page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'promises-cancel-400x800.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.click(row + ' ' + tid('promise-cancel-confirm'));
  await page.waitForSelector(row + ':has-text("— cancelled")', { timeout: TIMEOUT });
  if (await page.$(tid('promise-cancel-' + P))) throw new Error('a cancelled promise still offers Cancel');
  log('cancelled');
  // A plan for the whole balance: the cancelled promise commits nothing.
  await page.click(tid('plan-open'));
  await page.selectOption(tid('plan-instalments'), '2');
  await page.fill(tid('plan-total'), '1000.00');
  await page.fill(tid('plan-first-due'), '2027-03-15');
  await page.click(tid('plan-record'));
  await page.waitForSelector(tid('promises') + ' li:has-text("plan 2 × 500.00 COP (0 of 2 paid) — pending")',
    { timeout: TIMEOUT });
  await page.waitForSelector(tid('promises') + ' li:has-text("instalment 2/2 500.00 COP due 2027-04-15 — pending")',
    { timeout: TIMEOUT });
  await shots(page, 'promises-plan');
  log('plan recorded');
  console.log('DONE');
}

run(main);
