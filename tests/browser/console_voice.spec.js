// console_voice.spec.js — voice in the agent console, in Debian's Chromium (playwright-core),
// driven by test_console_voice_browser.py, which owns the processes and plays the caller through
// the sandbox's test API ("STEP call": a caller asks for a person; "STEP hangup": the caller
// hangs up). The agent's phone is the sandbox's phone page on the agent's number.
// Env: HILO_URL, HILO_PASSWORD, HILO_AGENT, HILO_DEBTOR, HILO_SANDBOX_URL, HILO_AGENT_PHONE,
// HILO_SCENARIO (accept | hangup | noanswer | gate), HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const DEBTOR = env('HILO_DEBTOR');
const shot = (page, name) => page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'console-voice-' + name + '.png') });
const threadHas = (page, re) => page.waitForFunction(([sel, src]) => {
  const r = new RegExp(src);
  return [...document.querySelectorAll(sel)].some((e) => r.test(e.textContent));
}, [tid('thread') + ' ' + tid('item-text'), re], { timeout: TIMEOUT });

async function agentPhone(browser) {
  const page = await (await browser.newContext({ viewport: { width: 1000, height: 800 } })).newPage();
  await page.goto(env('HILO_SANDBOX_URL') + '/?phone=' + encodeURIComponent(env('HILO_AGENT_PHONE')) + '&channel=sms');
  await page.waitForSelector(tid('composer'), { timeout: TIMEOUT });
  return page;
}

async function accepted(agent) {
  await step('call');
  await agent.waitForSelector(tid('accept-' + DEBTOR), { timeout: TIMEOUT });
  await agent.click(tid('accept-' + DEBTOR));
  await agent.waitForSelector(tid('conv-' + DEBTOR), { timeout: TIMEOUT });
  await threadHas(agent, "Ringing the agent's phone");
}

async function main(browser) {
  const agent = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  agent.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
  await login(agent, env('HILO_AGENT'));
  await agent.selectOption(tid('availability'), 'available');
  const scenario = env('HILO_SCENARIO');

  if (scenario === 'accept') {
    const phone = await agentPhone(browser);
    await accepted(agent);
    // The agent's phone rings on its page; answering connects the caller.
    await phone.waitForSelector(tid('answer-button') + ':visible', { timeout: TIMEOUT });
    const ringing = await phone.textContent(tid('call-status'));
    if (!/put through to you/.test(ringing)) throw new Error('agent phone says: ' + ringing);
    await shot(phone, 'agent-phone-ringing');
    await phone.click(tid('answer-button'));
    await threadHas(agent, 'Connected to the agent');
    await shot(agent, 'connected');
    await phone.click(tid('hangup-button'));
    await threadHas(agent, 'Call ended \\(completed');
    await shot(agent, 'ended');
  } else if (scenario === 'hangup') {
    await step('call');
    await agent.waitForSelector(tid('accept-' + DEBTOR), { timeout: TIMEOUT });
    await step('hangup');
    // The offer is taken back: nobody is on the line any more.
    await agent.waitForSelector(tid('accept-' + DEBTOR), { state: 'detached', timeout: TIMEOUT });
    await shot(agent, 'offer-withdrawn');
  } else if (scenario === 'noanswer') {
    const phone = await agentPhone(browser);
    await accepted(agent);
    await phone.waitForSelector(tid('decline-button') + ':visible', { timeout: TIMEOUT });
    await phone.click(tid('decline-button'));
    // The conversation leaves the agent (queued again for someone else: the thread's
    // "did not answer" is checked by the Python side, the agent may no longer read it), a
    // notice says so, and it is not offered back.
    await agent.waitForSelector('#convs ' + tid('conv-' + DEBTOR), { state: 'detached', timeout: TIMEOUT });
    // The agent is told why, on the page (not only the conversation gone from their list).
    await agent.waitForSelector(tid('desk-notice') + ':visible', { timeout: TIMEOUT });
    const notice = await agent.textContent(tid('desk-notice'));
    log('notice', notice);
    if (!/You did not answer the call from James Whitfield; it went back to the queue/.test(notice))
      throw new Error('the notice does not say the call went back to the queue: ' + notice);
    await agent.waitForTimeout(1500);
    if (await agent.isVisible(tid('accept-' + DEBTOR))) throw new Error('offered again to the agent who did not answer');
    await shot(agent, 'no-answer');
  } else if (scenario === 'gate') {
    await step('escalate');
    await agent.waitForSelector(tid('accept-' + DEBTOR), { timeout: TIMEOUT });
    await agent.click(tid('accept-' + DEBTOR));
    await agent.waitForSelector(tid('call-debtor') + ':visible', { timeout: TIMEOUT });
    await step('evening');
    await agent.click(tid('call-debtor'));
    await agent.waitForSelector(tid('call-status') + ':text("Not called")', { timeout: TIMEOUT });
    const why = await agent.textContent(tid('call-status'));
    log('call status', why);
    if (!/outside \d\d:\d\d-\d\d:\d\d/.test(why)) throw new Error('the refusal does not say why: ' + why);
    await shot(agent, 'call-refused');
  } else {
    throw new Error('unknown scenario ' + scenario);
  }
  console.log('DONE');
}

run(main);
