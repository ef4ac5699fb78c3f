// floor.spec.js — the supervisor's floor in Debian's Chromium (playwright-core), driven by
// test_floor_browser.py, which imports DB1 "Dana Browser" (+1 650 555 1234) and DB2 "Omar Other"
// (+1 650 555 9876), both queued with one SMS each. The search box opens a conversation by id,
// by phone in any spelling or by a name only one debtor has; a name nobody has, an unknown number
// or id is refused with a clear message and leaves no other debtor's conversation on the page. Screenshots at 1280×720 and 1920×1080.
// Env: HILO_URL, HILO_SUPERVISOR, HILO_PASSWORD, HILO_ARTIFACTS.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');

async function search(page, text) {
  if (await page.locator(tid('to-floor')).isVisible()) await page.click(tid('to-floor'));
  await page.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  await page.fill(tid('sup-debtor'), text);
  await page.click(tid('sup-open'));
}

async function opened(page, name) {
  await page.waitForSelector(tid('desk') + ':visible', { timeout: TIMEOUT });
  await page.waitForSelector(tid('conv-head') + ':has-text("' + name + '")', { timeout: TIMEOUT });
  await page.waitForSelector(tid('item-text') + ':has-text("message from ' + name + '")', { timeout: TIMEOUT });
}

// Nothing of any debtor on the page: no thread, no debtor panel, and the status says why.
async function nothingOpen(page, why) {
  await page.waitForSelector(tid('sup-status') + ':has-text("' + why + '")', { state: 'attached', timeout: TIMEOUT });
  const items = await page.locator(tid('thread') + ' li').count();
  const panel = (await page.textContent(tid('debtor-panel'))).trim();
  const head = await page.textContent(tid('conv-head'));
  log('after a failed search:', JSON.stringify({ items, panel, head }));
  if (items !== 0 || panel !== '' || /Dana|Omar/.test(head)) throw new Error('another debtor left on the page: ' + head);
}

async function main(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  await login(page, env('HILO_SUPERVISOR'));
  await page.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });

  await search(page, 'DB2');
  await opened(page, 'Omar Other');
  // By phone, in the spellings people type: international with separators, national (the
  // router's default country code is 1), with the 00 prefix.
  for (const phone of ['+1 (650) 555-1234', '650.555.1234', '001 650 555 1234']) {
    await search(page, phone);
    await opened(page, 'Dana Browser');
    log('opened by phone', phone);
    await search(page, '+16505559876');
    await opened(page, 'Omar Other');
  }
  // A name only one debtor has, in another case; then one nobody has: the page says so and
  // Dana's conversation is gone from it.
  await search(page, 'DANA');
  await opened(page, 'Dana Browser');
  log('opened by name');
  await search(page, 'Zed Nobody');
  await nothingOpen(page, 'no debtor has the id or a name like');
  await page.click(tid('to-desk'));
  await nothingOpen(page, 'no debtor has the id or a name like');
  await page.waitForSelector(tid('conv-head') + ':has-text("Nothing open: no debtor has the id or a name like")',
    { timeout: TIMEOUT });
  await page.screenshot({ path: path.join(ART, 'floor-search-refused-1280x720.png') });
  // An unknown number, after a conversation was open.
  await search(page, 'DB1');
  await opened(page, 'Dana Browser');
  await search(page, '+1 650 555 0000');
  await nothingOpen(page, 'no debtor or conversation has the number +16505550000');
  await search(page, 'NOPE-42');
  await nothingOpen(page, 'no debtor has the id');

  // The floor itself at the two sizes.
  await page.fill(tid('sup-debtor'), '');
  // The SLA figure as the router counts it (3 of 4 first replies within the target).
  await page.waitForSelector(tid('queue-sla-en.collections') + ':has-text("75%")', { timeout: TIMEOUT });
  const sla = await page.textContent(tid('queue-sla-en.collections'));
  if (sla.replace(/\s+/g, ' ').trim() !== '75% 3/4') throw new Error('within SLA cell: ' + sla);
  await page.screenshot({ path: path.join(ART, 'floor-1280x720.png') });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: path.join(ART, 'floor-1920x1080.png') });
  console.log('DONE');
}

run(main);
