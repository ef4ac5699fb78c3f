// spec_lib.js — what the browser scripts (*.spec.js) share: the environment, Debian's Chromium
// through playwright-core, the stdio handshake with the Python test that owns the processes
// ("STEP <name>" out, "OK <name>" in: tests/lib/hilo_browser.py), the console's login form and
// data-testid selectors.
'use strict';
const { chromium } = require('playwright-core');
const readline = require('readline');

const env = (k) => { if (!process.env[k]) throw new Error('missing env ' + k); return process.env[k]; };
const TIMEOUT = 20000;
const tid = (id) => `[data-testid="${id}"]`;
const log = (...a) => console.log('#', ...a);

const rl = readline.createInterface({ input: process.stdin });
const waiting = {};
rl.on('line', (line) => {
  const m = /^OK (\S+)/.exec(line.trim());
  if (m && waiting[m[1]]) { waiting[m[1]](); delete waiting[m[1]]; }
});
// Asks the Python side to do `name` and waits until it has.
const step = (name) => new Promise((resolve) => { waiting[name] = resolve; console.log('STEP ' + name); });

const launch = () => chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

async function login(page, who) {
  await page.goto(env('HILO_URL'));
  await page.fill(tid('login-agent'), who);
  await page.fill(tid('login-password'), env('HILO_PASSWORD'));
  await page.click(tid('login-submit'));
  await page.waitForSelector(tid('conn-status') + ':text("connected")', { timeout: TIMEOUT });
}

// A 1280×720 page signed in as HILO_AGENT, available; the Python side is asked to offer it
// `debtor` (step "offer"), and the page accepts it.
async function agentWithConversation(browser, debtor) {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await login(page, env('HILO_AGENT'));
  await page.selectOption(tid('availability'), 'available');
  await step('offer');
  await page.click(tid('accept-' + debtor), { timeout: TIMEOUT });
  await page.waitForSelector(tid('conv-' + debtor), { timeout: TIMEOUT });
  return page;
}

// Screenshots of the page at 1280×720 and 1920×1080 into HILO_ARTIFACTS (<name>-<size>.png);
// the page is left at 1280×720.
async function shots(page, name) {
  const dir = env('HILO_ARTIFACTS');
  for (const [w, h] of [[1280, 720], [1920, 1080]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: require('path').join(dir, name + '-' + w + 'x' + h + '.png') });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

// Runs main(browser), then closes everything; exit status 0 only when main succeeded.
function run(main) {
  let browser = null;
  launch().then((b) => { browser = b; return main(b); }).finally(async () => {
    if (browser) await browser.close();
    rl.close();
  }).then(() => process.exit(0), (e) => { console.error('FAILED:', e && e.stack || e); process.exit(1); });
}

module.exports = { env, TIMEOUT, tid, log, step, login, run, shots, agentWithConversation };
