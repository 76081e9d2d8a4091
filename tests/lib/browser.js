// What the headless-Chromium tests share: Debian's chromium (or
// CHROMIUM=path), the flags that keep it off the network (this machine's
// network is closed: without them it tries Google's hosts at every start),
// and playwright-core to drive it. browserSkip says why a browser test
// cannot run here (null when it can).
//
//   const { CHROMIUM, CHROME_ARGS, playwright, browserSkip } = require('../lib/browser.js');
//   describe('...', { skip: browserSkip || false }, () => { ... });

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

module.exports = { CHROMIUM, CHROME_ARGS, playwright, browserSkip };
