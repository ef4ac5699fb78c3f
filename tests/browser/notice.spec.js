// notice.spec.js — what makes an agent notice work, in Debian's Chromium (playwright-core),
// driven by test_notice_browser.py: the browser grants the notification permission; a new offer
// and a new debtor message each sound (Web Audio) and show a desktop notification; the tab's
// title counts offers and unread messages; the list shows a conversation's unread count and a
// preview of its newest item; opening it clears both; the agent's own reply shows what the
// provider said of it (sent / delivered / read). Screenshots at 1280×720 and 1920×1080.
// Env: HILO_URL, HILO_AGENT, HILO_PASSWORD, HILO_ARTIFACTS, HILO_D1, HILO_D2, HILO_TEXT.
'use strict';
const { env, TIMEOUT, tid, log, step, login, run, shots } = require('./spec_lib');

const D1 = env('HILO_D1'), D2 = env('HILO_D2'), TEXT = env('HILO_TEXT');

// Every desktop notification and every sound the page makes, recorded as they happen (the real
// APIs are still called).
function recorder() {
  window.__notes = [];
  window.__beeps = 0;
  const Real = window.Notification;
  class Rec extends Real {
    constructor(title, opts) { super(title, opts); window.__notes.push({ title, body: (opts || {}).body || '' }); }
  }
  Object.defineProperty(Rec, 'permission', { get: () => Real.permission });
  Rec.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Rec;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) { window.__beeps++; return start.apply(this, a); };
}


const notes = (page) => page.evaluate(() => window.__notes);
const beeps = (page) => page.evaluate(() => window.__beeps);

async function waitFor(page, what, fn, arg) {
  await page.waitForFunction(fn, arg, { timeout: TIMEOUT }).catch(() => { throw new Error('timed out: ' + what); });
}

async function main(browser) {
  const origin = new URL(env('HILO_URL')).origin;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await ctx.grantPermissions(['notifications'], { origin });
  await ctx.addInitScript(recorder);
  const page = await ctx.newPage();
  await login(page, env('HILO_AGENT'));
  await page.selectOption(tid('availability'), 'available');
  if (await page.evaluate(() => Notification.permission) !== 'granted') throw new Error('permission not granted');

  // A new offer: a sound, a notification, and the title counts it.
  await step('offer-d1');
  await page.waitForSelector(tid('accept-' + D1), { timeout: TIMEOUT });
  await waitFor(page, 'a notification for the offer', () => window.__notes.some((n) => n.title === 'New conversation offered'));
  if (await beeps(page) < 1) throw new Error('no sound for the offer');
  await waitFor(page, 'the title counting the offer', () => document.title.startsWith('(1) '));
  await page.click(tid('accept-' + D1));
  await page.waitForSelector(tid('conv-' + D1), { timeout: TIMEOUT });
  // A second one, opened: D1 is no longer on screen.
  await step('offer-d2');
  await page.waitForSelector(tid('accept-' + D2), { timeout: TIMEOUT });
  await page.click(tid('accept-' + D2));
  await page.waitForSelector(tid('conv-head') + ':has-text("Second Debtor")', { timeout: TIMEOUT });
  await waitFor(page, 'no count in the title', () => !document.title.startsWith('('));
  const before = { notes: (await notes(page)).length, beeps: await beeps(page) };

  // The debtor of D1 writes: unread count, preview, title, sound and notification.
  await step('d1-writes');
  await page.waitForSelector(tid('unread-' + D1) + ':text("1")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('preview-' + D1) + ':has-text("' + TEXT + '")', { timeout: TIMEOUT });
  await waitFor(page, 'the title counting the unread message', () => document.title.startsWith('(1) '));
  await waitFor(page, 'a notification for the message',
    (t) => window.__notes.some((n) => n.title.startsWith('New message from') && n.body.includes(t)), TEXT);
  if ((await notes(page)).length !== before.notes + 1) throw new Error('not exactly one notification for the message');
  if (await beeps(page) !== before.beeps + 1) throw new Error('not exactly one sound for the message');
  await shots(page, 'notice-unread');
  log('unread, preview, title, sound and notification for the new message');

  // Opened: read. The count and the title's number go.
  await page.click(tid('conv-' + D1));
  await page.waitForSelector(tid('item') + ':has-text("' + TEXT + '")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('unread-' + D1), { state: 'detached', timeout: TIMEOUT });
  await waitFor(page, 'no count in the title once read', () => !document.title.startsWith('('));
  await step('read-recorded');

  // The agent's reply, then what the provider said of it.
  await page.fill(tid('reply-text'), 'Friday works: I will note it.');
  await page.click(tid('reply-send'));
  await step('reply-reported');
  await page.click(tid('conv-' + D2));
  await page.click(tid('conv-' + D1));
  await page.waitForSelector(tid('item-delivery') + ':has-text("✓")', { timeout: TIMEOUT });
  await shots(page, 'notice-delivery');

  // Two more offers, the older one of lower priority: the higher priority is on top, and the
  // time left to accept counts down by itself.
  await step('offers-ordered');
  await page.waitForSelector(tid('accept-DN4'), { timeout: TIMEOUT });
  await page.waitForSelector(tid('accept-DN3'), { timeout: TIMEOUT });
  const order = await page.$$eval('#offers > li', (lis) => lis.map((li) => li.dataset.testid));
  if (order.join(',') !== 'offer-DN4,offer-DN3') throw new Error('offers in the wrong order: ' + order);
  const left = async () => page.$eval(tid('deadline-DN4'), (e) => e.textContent);
  const first = await left();
  await page.waitForFunction((t) => document.querySelector('[data-testid="deadline-DN4"]').textContent !== t, first,
    { timeout: 5000 });
  log('offers ordered by priority; countdown ' + first + ' -> ' + await left());

  // Filters: D2's debtor wrote last (waiting on me), D1 has our reply last (on the debtor).
  await step('d2-writes');
  await page.waitForSelector(tid('preview-' + D2), { timeout: TIMEOUT });
  const shown = async () => page.$$eval('#convs > li', (lis) => lis.filter((li) => !li.hidden).map((li) => li.dataset.testid).sort().join(','));
  await page.click(tid('filter-me'));
  if (await shown() !== 'conv-' + D2) throw new Error('waiting on me shows ' + await shown());
  await page.click(tid('filter-debtor'));
  if (await shown() !== 'conv-' + D1) throw new Error('on the debtor shows ' + await shown());
  // Snoozed: out of "waiting on me" until the debtor writes again.
  await page.click(tid('filter-me'));
  await page.click(tid('snooze-' + D2));
  await page.waitForSelector(tid('conv-' + D2) + ':not(:visible)', { state: 'attached', timeout: TIMEOUT });
  await page.click(tid('filter-snoozed'));
  await page.waitForSelector(tid('snoozed-' + D2), { timeout: TIMEOUT });
  await shots(page, 'notice-snoozed');
  await step('d2-writes-again');
  await page.click(tid('filter-me'));
  await page.waitForSelector(tid('conv-' + D2) + ':visible', { timeout: TIMEOUT });
  log('filters and snooze');
  // Closed: the agent closes D1 and finds it in "Closed", readable.
  const ans = await page.evaluate((d) => send('wrapup', { debtor: d, code: 'refused', close: true }), D1);
  if (ans.t !== 'ok') throw new Error('wrap-up refused: ' + JSON.stringify(ans));
  await page.click(tid('filter-closed'));
  await page.waitForSelector(tid('closed-' + D1) + ':has-text("refused")', { timeout: TIMEOUT });
  await page.click(tid('closed-' + D1));
  await page.waitForSelector(tid('conv-head') + ':has-text("First Debtor")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('item') + ':has-text("' + TEXT + '")', { timeout: TIMEOUT });
  await shots(page, 'notice-closed');
  log('the closed conversation is listed and readable');
  console.log('DONE');
}

run(main);
