// What the headless-Chromium tests share: Debian's chromium (or
// CHROMIUM=path), the flags that keep it off the network (this machine's
// network is closed: without them it tries Google's hosts at every start),
// and playwright-core to drive it. browserSkip says why a browser test
// cannot run here (null when it can).
//
//   const { CHROMIUM, CHROME_ARGS, playwright, browserSkip } = require('../lib/browser.js');
//   describe('...', { skip: browserSkip || false }, () => { ... });
//
// watchPage(page, problems) collects what the page's scripts got wrong
// (console errors and uncaught errors; failed loads of 4xx answers, which
// the tests provoke, do not count) into problems, and accepts dialogs.
// openProfile(dir, problems) launches Chromium on a profile folder of its own
// (1200x860, 10 s timeouts) -> { context, page }, the page watched.

'use strict';

const fs = require('node:fs');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let playwright = null;
let browserSkip = null;
try {
  playwright = require('playwright-core');
} catch {
  browserSkip = 'npm package playwright-core is missing (npm ci in tests/)';
}
if (!browserSkip && !fs.existsSync(CHROMIUM)) browserSkip = `chromium not found at ${CHROMIUM} (apt-get install chromium)`;

function watchPage(page, problems) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  return page;
}

async function openProfile(dir, problems) {
  const context = await playwright.chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, viewport: { width: 1200, height: 860 },
  });
  context.setDefaultTimeout(10000);
  const page = watchPage(context.pages()[0] || await context.newPage(), problems);
  return { context, page };
}

module.exports = { CHROMIUM, CHROME_ARGS, playwright, browserSkip, watchPage, openProfile };
