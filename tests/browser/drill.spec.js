// drill.spec.js — the floor's drill-down and live SLA alerts in Debian's Chromium
// (playwright-core), driven by test_drill_browser.py on the router's test clock: W1 "Wendy
// Waiting" (sms, dispute, 20 s), W2 "Walter Wait" (whatsapp, 5 s) and C1 "Carla Caller" (voice,
// 10 s) wait in the queue (first-response target 60 s); C2 "Carlos Talking" is on a call with
// vic. Step "late" moves the clock 45 s on: W1 passes the target and its alert appears without
// a reload. Screenshots at 1280×720 and 1920×1080.
// Env: HILO_URL, HILO_SUPERVISOR, HILO_PASSWORD, HILO_QUEUE, HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');
const Q = env('HILO_QUEUE');

const text = async (page, id) => (await page.textContent(tid(id))).replace(/\s+/g, ' ').trim();
const expectText = async (page, id, want) => {
  await page.waitForSelector(tid(id) + ':has-text("' + want + '")', { timeout: TIMEOUT });
  return text(page, id);
};
const shoot = (page, name) => page.screenshot({ path: path.join(ART, 'drill-' + name + '.png') });

async function main(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  await login(page, env('HILO_SUPERVISOR'));
  await page.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  // The resolution figure beside the first-response one: 1 of 2 closed within the target.
  const res = await expectText(page, 'queue-res-' + Q, '50%');
  if (res !== '50% 1/2') throw new Error('resolved in SLA cell: ' + res);
  // Nobody is past a target yet: no alert.
  if (await page.locator(tid('sla-alerts')).isVisible()) throw new Error('an alert before any target passed');

  // Who waits in the queue, why, on which channel, for how long.
  await page.click(tid('queue-' + Q));
  await expectText(page, 'detail-title', 'Waiting in ' + Q);
  const w1 = await expectText(page, 'waiting-W1', 'Wendy Waiting');
  log('W1 row:', w1);
  for (const want of ['W1', 'sms', 'dispute', '20s']) if (!w1.includes(want)) throw new Error('W1 row lacks ' + want + ': ' + w1);
  const c1 = await text(page, 'waiting-C1');
  for (const want of ['Carla Caller', 'voice', 'hardship', '10s']) if (!c1.includes(want)) throw new Error('C1 row: ' + c1);
  if ((await page.locator(tid('detail-waiting') + ' tbody tr').count()) !== 3) throw new Error('three waiting expected');
  await shoot(page, 'queue-1280x720');

  // The clock moves past W1's first-response target: its alert appears, and its wait grows.
  await step('late');
  const alert = await expectText(page, 'alert-first_response-W1', 'Wendy Waiting');
  log('alert:', alert);
  for (const want of [Q, 'W1', '1m05s', 'target 1m']) if (!alert.includes(want)) throw new Error('alert lacks ' + want + ': ' + alert);
  if (await page.locator(tid('alert-first_response-W2')).count()) throw new Error('W2 is not past its target');
  await expectText(page, 'waited-W1', '1m05s');
  await shoot(page, 'alerts-1280x720');

  // Calls: the one waiting and the one with an agent.
  await page.click(tid('open-calls'));
  const waiting = await expectText(page, 'call-waiting-C1', 'Carla Caller');
  const talking = await expectText(page, 'call-agent-C2', 'Carlos Talking');
  log('calls:', waiting, '|', talking);
  if (!talking.includes('vic') || !talking.includes('4m45s')) throw new Error('call with vic: ' + talking);
  if (await page.locator(tid('call-waiting-W1')).count()) throw new Error('an SMS among the calls');
  await shoot(page, 'calls-1280x720');

  // An agent: what they hold.
  await page.click(tid('agent-vic') + ' td >> nth=0');
  await expectText(page, 'detail-title', 'Victor Voice (vic)');
  const held = await expectText(page, 'holds-C2', 'Carlos Talking');
  if (!held.includes('assigned') || !held.includes('voice')) throw new Error('vic holds: ' + held);
  await shoot(page, 'agent-1280x720');

  // The queue again, at the larger size, with the alert.
  await page.click(tid('queue-' + Q));
  await expectText(page, 'waiting-W2', 'Walter Wait');
  await page.setViewportSize({ width: 1920, height: 1080 });
  await shoot(page, 'queue-1920x1080');
  await page.click(tid('open-calls'));
  await expectText(page, 'call-agent-C2', 'Carlos Talking');
  await shoot(page, 'calls-1920x1080');
  await page.click(tid('detail-close'));
  await page.waitForSelector(tid('detail'), { state: 'hidden', timeout: TIMEOUT });
  console.log('DONE');
}

run(main);
