// sandbox_phone.spec.js — the sandbox's debtor phone page answers a call we place, in Debian's
// Chromium (playwright-core), driven by test_sandbox_phone_browser.py ("STEP place" asks it to
// have the router place the call). Env: HILO_SANDBOX_URL, HILO_PHONE, HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, run } = require('./spec_lib');

async function main(browser) {
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 850 } })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
  const phone = env('HILO_PHONE');
  // On the chat (not the call panel): an incoming call must show itself.
  await page.goto(env('HILO_SANDBOX_URL') + '/?phone=' + encodeURIComponent(phone) + '&channel=sms');
  await page.waitForSelector(tid('composer'), { timeout: TIMEOUT });
  if (await page.isVisible(tid('answer-button'))) throw new Error('Answer shown before any call');
  await step('place');
  await page.waitForSelector(tid('answer-button') + ':visible', { timeout: TIMEOUT });
  const status = await page.textContent(tid('call-status'));
  if (!/^Incoming call from \+1/.test(status)) throw new Error('call status: ' + status);
  if (await page.isVisible(tid('hangup-button'))) throw new Error('Hang up shown on a ringing call');
  await page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'sandbox-phone-incoming.png') });
  await page.click(tid('answer-button'));
  // Answered: the message is said (the call's TwiML: it then waits at its <Gather>).
  await page.waitForSelector('#chat :text("This is ACME calling")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('call-status') + '[data-state="gathering"]', { timeout: TIMEOUT });
  if (await page.isVisible(tid('answer-button'))) throw new Error('Answer still shown in the call');
  await page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'sandbox-phone-answered.png') });
  await page.click(tid('hangup-button'));
  await page.waitForSelector(tid('call-status') + '[data-state="ended"]', { timeout: TIMEOUT });
  const ended = await page.textContent(tid('call-status'));
  if (!/^Call ended \(completed/.test(ended)) throw new Error('after hanging up: ' + ended);
  console.log('DONE');
}

run(main);
