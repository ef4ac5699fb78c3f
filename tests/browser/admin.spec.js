// admin.spec.js — a supervisor's powers in Debian's Chromium (playwright-core), two browser
// contexts side by side: the agent ana (holding DA1 "Dana Admin") and the supervisor sue. Driven by
// test_admin_browser.py. Sue opens DA1 read-only and whispers: ana sees it live, marked as a
// whisper from Sue, and again after a reload; sue takes DA1 over: her view becomes writable, ana is
// told who took it. The Admin view lists the flow's queues with their agents; sue logs ana out
// (ana's page says why) and disables her (the next login is refused). Screenshots at 1280×720 and
// 1920×1080 of both sides. Env: HILO_URL, HILO_AGENT, HILO_SUPERVISOR, HILO_PASSWORD, HILO_ARTIFACTS.
'use strict';
const { env, TIMEOUT, tid, log, login, run, shots } = require('./spec_lib');

const D = 'DA1';
const WHISPER = 'Offer the 6-instalment plan before the discount.';


async function main(browser) {
  const agent = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  const sup = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  sup.on('dialog', (d) => d.accept());

  await login(agent, env('HILO_AGENT'));
  await agent.selectOption(tid('availability'), 'available');
  await agent.waitForSelector(tid('accept-' + D), { timeout: TIMEOUT });
  await agent.click(tid('accept-' + D));
  await agent.waitForSelector(tid('conv-head') + ':has-text("Dana Admin")', { timeout: TIMEOUT });

  // The supervisor opens DA1 read-only from the floor and whispers to ana.
  await login(sup, env('HILO_SUPERVISOR'));
  await sup.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  await sup.fill(tid('sup-debtor'), D);
  await sup.click(tid('sup-open'));
  await sup.waitForSelector(tid('sup-conv') + ':visible', { timeout: TIMEOUT });
  await sup.waitForSelector(tid('sup-holder') + ':has-text("Assigned to ana")', { timeout: TIMEOUT });
  await sup.fill(tid('whisper-text'), WHISPER);
  await sup.click(tid('whisper-send'));
  await sup.waitForSelector(tid('sup-conv-status') + ':has-text("Whispered to ana")', { timeout: TIMEOUT });
  await sup.waitForSelector(tid('sup-whisper') + ':has-text("' + WHISPER + '")', { timeout: TIMEOUT });
  // Live on ana's page: a notice, and in the conversation's notes marked as a whisper from Sue.
  await agent.waitForSelector(tid('whisper-notice') + ':has-text("Whisper from Sue Supervisor about DA1")', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('whisper') + ':has-text("Whisper from Sue Supervisor: ' + WHISPER + '")', { timeout: TIMEOUT });
  await shots(agent, 'admin-agent-whisper');
  await shots(sup, 'admin-supervisor-whisper');
  // It survives a reload.
  await agent.reload();
  await agent.waitForSelector(tid('conn-status') + ':text("connected")', { timeout: TIMEOUT });
  await agent.click(tid('conv-' + D));
  await agent.waitForSelector(tid('whisper') + ':has-text("' + WHISPER + '")', { timeout: TIMEOUT });
  log('the whisper is still there after a reload');

  // Take over: sue's view becomes writable, ana is told who has it now.
  await sup.click(tid('sup-takeover'));
  await sup.waitForSelector(tid('composer') + ':visible', { timeout: TIMEOUT });
  await sup.waitForSelector(tid('sup-conv'), { state: 'hidden', timeout: TIMEOUT });
  await agent.waitForSelector(tid('taken-notice') + ':has-text("Sue Supervisor took over the conversation with DA1")', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('conv-head') + ':has-text("was taken over by Sue Supervisor")', { timeout: TIMEOUT });
  if (await agent.locator(tid('conv-' + D)).count() !== 0) throw new Error('DA1 still in ana\'s list');
  await shots(agent, 'admin-agent-taken-over');
  await shots(sup, 'admin-supervisor-took-over');

  // The Admin view: the flow's queues with their agents; every account.
  await sup.click(tid('to-admin'));
  await sup.waitForSelector(tid('admin') + ':visible', { timeout: TIMEOUT });
  await sup.waitForSelector(tid('admin-queue-en.collections') + ' ' + tid('admin-chip-ana'), { timeout: TIMEOUT });
  await sup.waitForSelector(tid('admin-queue-es.dispute') + ':has-text("dispute")', { timeout: TIMEOUT });
  await sup.waitForSelector(tid('admin-state-ana') + ':has-text("available")', { timeout: TIMEOUT });
  await shots(sup, 'admin-view');

  // Log ana out: her console closes and says why.
  await sup.click(tid('admin-logout-ana'));
  await agent.waitForSelector(tid('login') + ':visible', { timeout: TIMEOUT });
  await agent.waitForSelector(tid('login-error') + ':has-text("logged out by supervisor sue")', { timeout: TIMEOUT });
  if (await agent.locator(tid('notices') + ' > *').count() !== 0) throw new Error('notices left on the sign-in page');
  await shots(agent, 'admin-agent-logged-out');
  // Disable her: the view says so, and her next login is refused.
  await sup.click(tid('admin-disable-ana'));
  await sup.waitForSelector(tid('admin-state-ana') + ':has-text("disabled")', { timeout: TIMEOUT });
  await agent.fill(tid('login-agent'), env('HILO_AGENT'));
  await agent.fill(tid('login-password'), env('HILO_PASSWORD'));
  await agent.click(tid('login-submit'));
  await agent.waitForSelector(tid('login-error') + ':not(:empty)', { timeout: TIMEOUT });
  log('login after disable:', await agent.textContent(tid('login-error')));
  if (await agent.locator(tid('desk') + ':visible').count() !== 0) throw new Error('a disabled agent got in');
  await shots(sup, 'admin-view-disabled');
  console.log('DONE');
}

run(main);
