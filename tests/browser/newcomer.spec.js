// newcomer.spec.js — the last step of the README's newcomer path (test_newcomer_path.py): the
// demo agent the quickstart printed logs into the console in Debian's Chromium and sees the
// agent's desk. Env: HILO_URL (the console the quickstart printed), HILO_AGENT, HILO_PASSWORD,
// HILO_ARTIFACTS (screenshots dir).
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, login, run } = require('./spec_lib');

async function main(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, env('HILO_AGENT'));
  // An agent lands on its desk (a supervisor on the floor): its name and role in the header,
  // its availability, and its load per channel from the router's snapshot of the agent; the
  // login form gone, no way to the supervisor's floor.
  await page.waitForSelector(tid('desk') + ':visible', { timeout: TIMEOUT });
  await page.waitForSelector(tid('who') + ':text("(agent)")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('availability') + ':visible', { timeout: TIMEOUT });
  await page.waitForSelector(tid('load') + ':text("load: whatsapp 0/")', { timeout: TIMEOUT });
  for (const hidden of ['login', 'floor', 'to-floor'])
    if (await page.isVisible(tid(hidden))) throw new Error(hidden + ' is shown to a logged-in agent');
  const who = (await page.textContent(tid('who'))).trim();
  log('logged in as', who);
  await page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'newcomer-agent-desk.png'), fullPage: true });
  console.log('WHO ' + who);
  console.log('DONE');
}

run(main);
