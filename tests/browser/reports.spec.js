// reports.spec.js — the supervisor's Reports view in Debian's Chromium (playwright-core), driven
// by test_reports_browser.py, which keeps a fortnight of daily roll-ups (the last day as live
// counters only). Checks the range's totals, the per-day SVG charts (a bar per day and series),
// the tables by queue, agent and strategy, and the CSV download (an agent's name with a comma and quotes
// quoted). Screenshots at 1280×720 and 1920×1080. Env: HILO_URL, HILO_SUPERVISOR, HILO_PASSWORD,
// HILO_FROM, HILO_TO, HILO_ESCALATED and HILO_SENT (the range's totals), HILO_ARTIFACTS.
'use strict';
const fs = require('fs');
const path = require('path');
const { env, TIMEOUT, tid, log, login, run } = require('./spec_lib');

const ART = env('HILO_ARTIFACTS');

async function text(page, id) { return (await page.textContent(tid(id))).replace(/\s+/g, ' ').trim(); }

function expect(what, got, want) {
  if (got !== want) throw new Error(what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
}

async function main(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await login(page, env('HILO_SUPERVISOR'));
  await page.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  await page.click(tid('to-reports'));
  await page.waitForSelector(tid('reports') + ':visible', { timeout: TIMEOUT });
  if (await page.locator(tid('floor')).isVisible()) throw new Error('the floor is still shown');
  await page.fill(tid('rep-from'), env('HILO_FROM'));
  await page.fill(tid('rep-to'), env('HILO_TO'));
  await page.click(tid('rep-show'));
  await page.waitForSelector(tid('rep-status') + ':has-text("14 days")', { timeout: TIMEOUT });
  // Totals over the fortnight: 13 kept days + today's live counters (6 escalated).
  expect('escalated over the range', await text(page, 'rep-escalated'), env('HILO_ESCALATED'));
  // One bar per day and series: 14 × 3 in the volume chart, 14 in the SLA chart.
  expect('volume bars', await page.locator(tid('rep-chart-volume') + ' rect[fill="#6b7bd6"]').count(), 14 + 1);
  expect('SLA bars', await page.locator(tid('rep-chart-sla') + ' rect[fill="#2a9d68"]').count(), 14 + 1);
  // Today's row was rolled up from the live counters: 4 of 5 first replies within the SLA.
  const last = page.locator(tid('rep-chart-sla') + ' rect title').last();
  expect('today within SLA', await last.textContent(), env('HILO_TO') + ' Within SLA: 80%');
  await page.waitForSelector(tid('rep-queue-en.collections'), { timeout: TIMEOUT });
  const agent = await text(page, 'rep-agent-ana');
  if (!agent.startsWith('Ana "la jefa", Pérez (ana)')) throw new Error('agent row: ' + agent);
  // The strategy's days summed: its sends over the fortnight.
  expect('strategy sent', await page.locator(tid('rep-strategy-demo_reminders') + ' td').nth(1).textContent(), env('HILO_SENT'));
  await page.screenshot({ path: path.join(ART, 'reports-1280x720.png') });

  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), page.click(tid('rep-csv'))]);
  expect('file name', dl.suggestedFilename(), 'hilo-report-' + env('HILO_FROM') + '-to-' + env('HILO_TO') + '.csv');
  const csv = fs.readFileSync(await dl.path(), 'utf8');
  const lines = csv.split('\r\n');
  expect('header', lines[0], 'date,dimension,id,name,metric,value');
  const today = lines.filter((l) => l.startsWith(env('HILO_TO') + ','));
  expect('today, first rows', today.slice(0, 2).join('\n'),
    env('HILO_TO') + ',queue,en.collections,,escalated,6\n' + env('HILO_TO') + ',queue,en.collections,,offered,6');
  if (!today.includes(env('HILO_TO') + ',agent,ana,"Ana ""la jefa"", Pérez",answered,5')) throw new Error('agent CSV row: ' + today.join('\n'));
  log('CSV lines', lines.length);

  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: path.join(ART, 'reports-1920x1080.png') });
  // Back to the floor: the reports view is hidden again.
  await page.click(tid('to-floor'));
  await page.waitForSelector(tid('floor') + ':visible', { timeout: TIMEOUT });
  if (await page.locator(tid('reports')).isVisible()) throw new Error('the reports view is still shown');
  console.log('DONE');
}

run(main);
