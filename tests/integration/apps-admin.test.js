// The prompt apps' call log over the admin API (GET apps, GET
// apps/<name>/log: by client, by text, a page at a time, newest first) and
// in the admin page's Apps view (headless Chromium), on the whole site:
// lighttpd with the router (also at /analyze_error), the admin and www/.
// The pip-aide app comes from API_KEY in the environment alone.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMock, mockEnv } = require('../lib/harness.js');
const { startSite, AdminClient } = require('../lib/admin.js');
const { request, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { CHROMIUM, CHROME_ARGS, playwright, browserSkip } = require('../lib/browser.js');

const PASSWORD = 'apps-admin-password-42';
const PIP_KEY = 'sk-pipaide-SECRET-admin-0123456789';


let mock;
let site;
let admin;

before(async () => {
  mock = await startMock();
  site = await startSite({
    env: { ...mockEnv(mock), API_KEY: PIP_KEY, API_BASE: `${mock.url}/deepseek/v1` },
    conf: buildConf({}) + '[app.analyze_error]\nrate_limit = 0\n',
    routerPaths: ['/analyze_error'],
  });
  admin = new AdminClient(site.url);
  assert.equal((await admin.setup(PASSWORD)).status, 201);
  assert.equal((await admin.login(PASSWORD)).status, 200);
  // five calls from two machines, one with a token in its error output
  for (const [m, ctx] of [['m-a', 'ERROR: one'], ['m-b', 'ERROR: two'], ['m-a', 'ERROR: three'],
    ['m-a', 'ERROR: four token=pypi-AgEIcHlwaS5vcmcSECRETSECRET'], ['m-b', 'ERROR: five']]) {
    const r = await request('POST', `${site.url}/analyze_error`, { body: { machine_id: m, error_context: ctx } });
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  const log = site ? site.errorLog() : '';
  if (site) await site.stop();
  if (mock) await mock.close();
  assertNoSecrets([log, ...transcript()], [PASSWORD, PIP_KEY, 'pypi-AgEIcHlwaS5vcmcSECRETSECRET'], 'error log and answers');
});

describe('the apps over the admin API', () => {
  it('lists the app, with its log', async () => {
    const r = await admin.call('GET', 'apps');
    assert.equal(r.status, 200, r.text);
    const a = r.json.apps.find((x) => x.name === 'analyze_error');
    assert.ok(a, r.text);
    assert.equal(a.path, '/analyze_error');
    assert.ok(a.log_bytes > 0);
  });

  it('pages, filters by client and searches the log, newest first, scrubbed', async () => {
    const all = await admin.call('GET', 'apps/analyze_error/log?limit=2');
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.total, 5);
    assert.deepEqual(all.json.entries.map((e) => e.input.error_context.split(' ')[1]), ['five', 'four']);
    assert.equal(all.json.next_offset, 2);
    const next = await admin.call('GET', 'apps/analyze_error/log?limit=2&offset=2');
    assert.deepEqual(next.json.entries.map((e) => e.input.error_context), ['ERROR: three', 'ERROR: two']);
    const mine = await admin.call('GET', 'apps/analyze_error/log?client=m-a');
    assert.equal(mine.json.total, 3);
    assert.ok(mine.json.entries.every((e) => e.client === 'm-a' && e.key.startsWith('m-a:')));
    const found = await admin.call('GET', 'apps/analyze_error/log?q=ERROR%3A%20two');
    assert.equal(found.json.total, 1);
    assert.ok(!all.text.includes('SECRETSECRET') && !mine.text.includes('SECRETSECRET'), 'tokens scrubbed');
  });

  it('bad queries and unknown apps: clear errors', async () => {
    assert.equal((await admin.call('GET', 'apps/analyze_error/log?limit=0')).status, 400);
    assert.equal((await admin.call('GET', 'apps/analyze_error/log?offset=x')).status, 400);
    assert.equal((await admin.call('GET', 'apps/nope/log')).status, 404);
    assert.equal((await admin.call('GET', 'apps', undefined, { session: false })).status, 401);
  });
});

describe('the Apps view in Chromium', { skip: browserSkip || false }, () => {
  let context;
  let userDataDir;
  const problems = [];

  after(async () => {
    if (context) await context.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it('shows the app, its log, a client\'s calls and the next page', async () => {
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-chromium-'));
    context = await playwright.chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, viewport: { width: 1200, height: 860 },
    });
    context.setDefaultTimeout(10000);
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(site.url + '/');
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    await page.click('nav button[data-view=apps]');
    await page.click('[data-app=analyze_error] button');
    await page.waitForSelector('.app-log [data-total="5"]');
    assert.equal(await page.locator('.app-log tbody tr').count(), 5);
    assert.match(await page.locator('.app-log tbody tr').first().textContent(), /m-b/);
    await page.locator('.app-log tbody tr').first().locator('button.link').click();   // only m-b
    await page.waitForSelector('.app-log [data-total="2"]');
    await page.fill('.app-log input[aria-label="Client id"]', '');
    await page.fill('.app-log input[aria-label="Search text"]', 'three');
    await page.click('.app-log form button[type=submit]');
    await page.waitForSelector('.app-log [data-total="1"]');
    assert.match(await page.locator('.app-log tbody').textContent(), /ERROR: three/);
    assert.deepEqual(problems, []);
  });
});
