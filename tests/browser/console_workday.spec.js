// console_workday.spec.js — the console's working-day bugs in Debian's Chromium (playwright-core),
// driven by test_console_workday_browser.py (which owns the processes and checks Redis). The
// browser runs in Asia/Tokyo; the debtor lives in Bogotá. The thread opens at its newest message
// and follows new ones (a marker when the agent has scrolled up); a refused wrap-up is explained
// next to the form and scrolled into view, at 1280×720 and 400 px; a transfer to a queue nobody
// serves is refused in words; the call-back time is typed in the debtor's zone.
// Env: HILO_URL, HILO_AGENT, HILO_PASSWORD, HILO_DEBTOR, HILO_CB_LOCAL (YYYY-MM-DDTHH:MM, Bogotá),
// HILO_CB_AGENT (the same instant in Tokyo, "7 Jan 2027, 00:00"), HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, step, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');
const DEBTOR = env('HILO_DEBTOR');
const shot = (page, name) => page.screenshot({ path: path.join(ART, 'workday-' + name + '.png') });

// Where the thread is scrolled, and whether its newest item can be seen.
const threadState = (page) => page.evaluate(() => {
  const t = document.querySelector('[data-testid="thread"]');
  const items = t.querySelectorAll('[data-testid="item"]');
  const last = items[items.length - 1];
  const tr = t.getBoundingClientRect(), lr = last.getBoundingClientRect();
  return { scrollable: t.scrollHeight > t.clientHeight + 20, top: t.scrollTop,
    bottom: t.scrollTop + t.clientHeight >= t.scrollHeight - 4,
    lastVisible: lr.bottom <= tr.bottom + 1 && lr.top >= tr.top - 1 && lr.bottom <= window.innerHeight,
    lastText: last.textContent };
});

// The element is on screen: inside the window and not clipped by a scrolled ancestor.
const onScreen = (page, id) => page.evaluate((id) => {
  const e = document.querySelector('[data-testid="' + id + '"]');
  if (!e || !e.offsetParent) return 'not displayed';
  const r = e.getBoundingClientRect();
  if (r.top < 0 || r.left < 0 || r.bottom > window.innerHeight || r.right > window.innerWidth)
    return 'outside the window: ' + JSON.stringify(r);
  const hit = document.elementFromPoint(r.left + Math.min(10, r.width / 2), r.top + r.height / 2);
  return hit && (hit === e || e.contains(hit)) ? 'ok' : 'covered or clipped (' + (hit && hit.outerHTML.slice(0, 80)) + ')';
}, id);

function expect(cond, what) { if (!cond) throw new Error(what); }

async function wrapupError(page, amount, due, words, name) {
  await page.selectOption(tid('disp-code'), 'promise_to_pay');
  await page.fill(tid('disp-amount'), amount);
  await page.fill(tid('disp-due'), due);
  // The form's own column is scrolled to its top, the way the agent last left it.
  await page.evaluate(() => { document.querySelector('aside.side').scrollTop = 0; window.scrollTo(0, 0); });
  await page.click(tid('disp-close'));
  await page.waitForSelector(tid('wrapup-status') + ':not(:empty)', { timeout: TIMEOUT });
  const text = await page.textContent(tid('wrapup-status'));
  log('wrap-up error:', text);
  expect(!/bad_promise/.test(text), 'the raw code is shown: ' + text);
  expect(text.includes(words), 'the error does not say "' + words + '": ' + text);
  const where = await onScreen(page, 'wrapup-status');
  expect(where === 'ok', 'the wrap-up error is not visible: ' + where);
  await shot(page, name);
}

async function main(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, timezoneId: 'Asia/Tokyo' });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') log('page console error:', m.text()); });
  await login(page, env('HILO_AGENT'));
  await page.selectOption(tid('availability'), 'available');
  await page.waitForSelector(tid('accept-' + DEBTOR), { timeout: TIMEOUT });
  await page.click(tid('accept-' + DEBTOR));
  await page.waitForSelector(tid('composer') + ':visible', { timeout: TIMEOUT });
  await page.waitForSelector(tid('item-text') + ':text("talk to a person")', { timeout: TIMEOUT });

  // 1. Opened at the newest message.
  let st = await threadState(page);
  log('thread when opened:', JSON.stringify(st));
  expect(st.scrollable, 'the thread itself does not scroll (its column does): ' + JSON.stringify(st));
  expect(st.bottom && st.lastVisible, 'the thread did not open at its newest message: ' + JSON.stringify(st));
  await shot(page, '01-opened-at-newest');
  // A new message: followed.
  await step('message-1');
  await page.waitForSelector(tid('item-text') + ':text("Newest message one")', { timeout: TIMEOUT });
  await page.waitForFunction(() => { const t = document.querySelector('[data-testid="thread"]');
    return t.scrollTop + t.clientHeight >= t.scrollHeight - 4; }, null, { timeout: 5000 }).catch(() => {});
  st = await threadState(page);
  expect(st.bottom && st.lastVisible && st.lastText.includes('Newest message one'),
    'a new message is not shown: ' + JSON.stringify(st));
  // Scrolled up to read: the thread stays where the agent is, a marker tells of the new message.
  await page.evaluate(() => { document.querySelector('[data-testid="thread"]').scrollTop = 0; });
  await page.waitForTimeout(100);
  await step('message-2');
  await page.waitForSelector(tid('item-text') + ':text("Newest message two")', { state: 'attached', timeout: TIMEOUT });
  await page.waitForSelector(tid('thread-new') + ':visible', { timeout: 5000 });
  st = await threadState(page);
  expect(st.top < 50, 'the agent reading older messages was pulled down: ' + JSON.stringify(st));
  await shot(page, '02-new-messages-marker');
  await page.click(tid('thread-new'));
  st = await threadState(page);
  expect(st.bottom && st.lastText.includes('Newest message two'), 'the marker did not show the newest: ' + JSON.stringify(st));
  expect(!(await page.isVisible(tid('thread-new'))), 'the marker stays after use');

  // 2. A refused wrap-up, explained in words next to the form and on screen.
  await wrapupError(page, '0', '', 'amount greater than zero', '03-wrapup-error-1280');
  await page.setViewportSize({ width: 400, height: 720 });
  await wrapupError(page, '50', '', 'due date', '04-wrapup-error-400');
  await page.setViewportSize({ width: 1280, height: 720 });

  // 3. A transfer to a queue nobody serves: refused in words; the conversation stays.
  await page.fill(tid('xfer-to'), 'es.nobody');
  await page.click(tid('xfer-queue'));
  await page.waitForSelector(tid('tool-status') + ':has-text("Not transferred")', { timeout: TIMEOUT });
  const xfer = await page.textContent(tid('tool-status'));
  log('transfer:', xfer);
  expect(xfer.includes("No agent serves the queue 'es.nobody'"), 'the refusal is not in words: ' + xfer);
  expect((await onScreen(page, 'tool-status')) === 'ok', 'the transfer error is not visible');
  expect(await page.isVisible(tid('conv-' + DEBTOR)), 'the conversation left the list');
  expect(await page.isVisible(tid('composer')), 'the conversation was closed on the page');
  await shot(page, '05-transfer-refused');
  await step('transfer-refused');

  // 5. The call-back time, in the debtor's zone (America/Bogota), whatever the browser's zone.
  await page.selectOption(tid('disp-code'), 'callback');
  expect((await page.textContent(tid('wrapup-status'))) === '', "the promise's error stays under the call-back form");
  const zone = await page.textContent(tid('disp-cb-zone'));
  expect(zone.includes('America/Bogota'), "the call-back input does not name the debtor's zone: " + zone);
  await page.fill(tid('disp-callback'), env('HILO_CB_LOCAL'));
  const mine = await page.textContent(tid('disp-cb-local'));
  log('agent equivalent:', mine);
  expect(mine.includes(env('HILO_CB_AGENT')) && mine.includes('Asia/Tokyo'),
    "the agent's own time is not shown as " + env('HILO_CB_AGENT') + ': ' + mine);
  await page.evaluate(() => document.querySelector('[data-testid="disp-callback"]').scrollIntoView({ block: 'center' }));
  await shot(page, '06-callback-1280');
  await page.setViewportSize({ width: 400, height: 720 });
  await page.evaluate(() => document.querySelector('[data-testid="disp-callback"]').scrollIntoView({ block: 'center', inline: 'center' }));
  await shot(page, '07-callback-400');
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.click(tid('disp-close'));
  await page.waitForSelector(tid('conv-head') + ':has-text("closed")', { timeout: TIMEOUT });
  await step('callback-saved');
  console.log('DONE');
}

run(main);
