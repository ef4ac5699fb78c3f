// search.spec.js — the search box (router/console/search.js) in Debian's Chromium, driven by
// test_search_browser.py: the agent accepts S-1 (Camila Rojas Pérez), then finds it by "CAMILA
// ROJAS", by "perez" without the accent (and not S-2, Ana Pérez Núñez, who is not hers), by its
// id and by its phone in the national spelling "(650) 555-1234", and opens it from the results;
// a supervisor's "PÉREZ" finds both. Screenshots at 400×800, 1280×720 and 1920×1080.
// Env: HILO_URL, HILO_AGENT, HILO_SUPERVISOR, HILO_PASSWORD, HILO_ARTIFACTS, HILO_DEBTOR, HILO_OTHER.
'use strict';
const path = require('path');
const { env, TIMEOUT, tid, log, login, run, shots, agentWithConversation } = require('./spec_lib');

const D = env('HILO_DEBTOR'), OTHER = env('HILO_OTHER');

async function search(page, q) {
  await page.fill(tid('search-q'), q);
  await page.click(tid('search-go'));
  await page.waitForFunction((q) => {
    const s = document.querySelector('[data-testid="search-status"]').textContent;
    return s && !s.startsWith('Searching');
  }, q, { timeout: TIMEOUT });
  return page.$$eval('[data-testid^="search-hit-"]', (els) => els.map((e) => e.dataset.testid.slice(11)));
}

async function expectHits(page, q, want) {
  const got = await search(page, q);
  if (JSON.stringify(got.sort()) !== JSON.stringify(want.slice().sort()))
    throw new Error('search "' + q + '": ' + JSON.stringify(got) + ', want ' + JSON.stringify(want) + ' (status: ' +
      await page.textContent(tid('search-status')) + ')');
  log('"' + q + '" -> ' + JSON.stringify(got));
}

async function main(browser) {
  const page = await agentWithConversation(browser, D);

  await expectHits(page, 'CAMILA ROJAS', [D]);
  await expectHits(page, 'perez', [D]);       // S-2 is a Pérez too, but not ana's
  await expectHits(page, 'núñez', []);         // only S-2's name: nothing ana may open
  await page.waitForSelector(tid('search-status') + ':has-text("Nothing you can open")', { timeout: TIMEOUT });
  await expectHits(page, OTHER, []);
  await expectHits(page, D, [D]);
  await expectHits(page, '(650) 555-1234', [D]);
  await page.waitForSelector(tid('search-hit-' + D) + ':has-text("by phone")', { timeout: TIMEOUT });
  await shots(page, 'search-agent');
  // Opening from the results.
  await page.click(tid('search-hit-' + D));
  await page.waitForSelector(tid('conv-head') + ':has-text("Camila Rojas Pérez")', { timeout: TIMEOUT });
  await page.setViewportSize({ width: 400, height: 800 });
  await expectHits(page, 'cam roj', [D]);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 400) throw new Error('the desk is ' + wide + ' px wide at 400 px with search results');
  await page.screenshot({ path: path.join(env('HILO_ARTIFACTS'), 'search-agent-400x800.png'), fullPage: true });

  // A supervisor finds everyone's.
  const sup = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await login(sup, env('HILO_SUPERVISOR'));
  await sup.click(tid('to-desk'));
  await expectHits(sup, 'PÉREZ', [D, OTHER]);
  await sup.waitForSelector(tid('search-hit-' + D) + ':has-text("ana")', { timeout: TIMEOUT });
  await shots(sup, 'search-supervisor');
  console.log('DONE');
}

run(main);
