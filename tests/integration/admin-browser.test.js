// The admin page in headless Chromium, against the real lighttpd + admin +
// router + mock upstream: first-run setup, login, an upstream key for a
// provider pointed at the mock, a gateway key used through the official
// OpenAI SDK, settlement, the usage chart and table, settings, and a revoked
// key refused by the router. Screenshots go to $LLMGATE_BUILDDIR.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM=path) and npm
// playwright-core; without them the test is skipped, saying why.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMock, mockEnv, BUILD_DIR } = require('../lib/harness.js');
const { startSite, runSettle, SETTLE } = require('../lib/admin.js');
const { waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { browserSkip, openProfile } = require('../lib/browser.js');

const PASSWORD = 'browser-admin-password-42';
const UPSTREAM_KEY = 'sk-up-SECRET-browser-0123456789abcdef';

let OpenAI = null;
let skipReason = browserSkip;
try {
  OpenAI = require('openai').default || require('openai');
} catch {
  skipReason = skipReason || 'npm package openai is missing (npm ci in tests/)';
}

describe('admin page in Chromium', { skip: skipReason || false }, () => {
  let mock;
  let site;
  let context;
  let page;
  let userDataDir;
  let gatewayKey;
  const problems = [];   // console errors and page errors

  before(async () => {
    mock = await startMock();
    // deepseek points at the mock but has no key: the page adds one
    site = await startSite({ env: { ...mockEnv(mock) }, conf: buildConf({}) });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-chromium-'));
    // API refusals the tests provoke (401 wrong password) are logged by
    // Chromium as failed loads; anything else (script errors, CSP) counts
    ({ context, page } = await openProfile(userDataDir, problems));
  });

  after(async () => {
    if (context) await context.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    const log = site ? site.errorLog() : '';
    if (site) await site.stop();
    if (mock) await mock.close();
    assertNoSecrets([log], [PASSWORD, UPSTREAM_KEY, gatewayKey], 'lighttpd error log');
    assertNoSecrets(transcript(), [PASSWORD, UPSTREAM_KEY], 'answers');
  });

  // a message beside the field at fault (aria-describedby)
  const fieldSaying = (sel, re) => page.waitForFunction(([q, src]) => {
    const el = document.querySelector(q);
    const ids = (el.getAttribute('aria-describedby') || '').split(' ');
    return el.getAttribute('aria-invalid') === 'true' && ids.some((id) => document.getElementById(id) && new RegExp(src).test(document.getElementById(id).textContent));
  }, [sel, re.source]);
  const toastSaying = (re) => page.waitForFunction(
    (src) => [...document.querySelectorAll('#toasts .toast')].some((t) => new RegExp(src).test(t.textContent)),
    re.source);

  it('first visit asks for an admin password, then opens the page', async () => {
    await page.goto(site.url + '/');
    await page.waitForSelector('#setup:not([hidden])');
    assert.equal(await page.isVisible('#login'), false);
    await page.fill('#setup-password', 'too-short');
    await page.fill('#setup-password2', 'too-short');
    await page.click('#setup-form button[type=submit]');
    await fieldSaying('#setup-password', /at least 10 characters/);
    await page.fill('#setup-password', PASSWORD);
    await page.fill('#setup-password2', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    // the providers step can be skipped; the first key is made and shown once
    await page.click('#setup-providers-skip');
    await page.click('#setup-key-form button[type=submit]');
    await page.waitForSelector('#setup-key-shown:not([hidden])');
    assert.match(await page.textContent('#setup-key-value'), /^sk-lg-[0-9a-f]{48}$/);
    await page.click('#setup-done');
    await page.waitForSelector('#app:not([hidden])');
    await page.waitForSelector('#view-overview:not([hidden])');
  });

  it('log out, a wrong password is refused readably, the right one logs in', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#login-password', 'not-the-password');
    await page.click('#login-form button[type=submit]');
    await fieldSaying('#login-password', /Wrong password/i);
    assert.equal(await page.isVisible('#app'), false);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    // a reload keeps the session
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
  });

  it('adds an upstream key for deepseek (pointed at the mock)', async () => {
    await page.click('nav button[data-view=providers]');
    await page.waitForSelector('#upkey-provider option[value=deepseek]', { state: 'attached' });
    await page.selectOption('#upkey-provider', 'deepseek');
    await page.fill('#upkey-key', UPSTREAM_KEY);
    await page.fill('#upkey-label', 'mock key');
    await page.click('#upkey-form button[type=submit]');
    await toastSaying(/added to deepseek/);
    const card = page.locator('[data-provider=deepseek]');
    await card.locator('[data-upkey-id]').first().waitFor();
    const text = await card.textContent();
    assert.ok(text.includes('mock key'));
    assert.ok(text.includes(UPSTREAM_KEY.slice(0, 3) + '…' + UPSTREAM_KEY.slice(-4)), text);
    assert.ok(!text.includes(UPSTREAM_KEY), 'the key is never shown whole');
    assert.equal(await page.inputValue('#upkey-key'), '', 'the key field is cleared');
  });

  it('creates a gateway key, shown once, that works with the OpenAI SDK', async () => {
    await page.click('nav button[data-view=keys]');
    await page.fill('#key-name', 'browser-team');
    await page.click('#key-form summary');
    await page.fill('#nl-rpm', '600');
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#new-key:not([hidden])');
    gatewayKey = (await page.textContent('#new-key-value')).trim();
    assert.match(gatewayKey, /^sk-lg-[0-9a-f]{48}$/);
    await page.waitForSelector('#keys-table tr[data-key-id]');
    const row = await page.textContent('#keys-table tbody');
    assert.ok(row.includes('browser-team') && row.includes('600 req/min'), row);
    await page.click('#new-key-done');
    assert.equal(await page.isVisible('#new-key'), false);

    const client = new OpenAI({ apiKey: gatewayKey, baseURL: site.url + '/v1', maxRetries: 0, timeout: 10000 });
    const answer = await waitFor(async () => {
      try {
        return await client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hello from the browser test.' }] });
      } catch (e) {
        if (e.status === 401) return null;   // not picked up yet
        throw e;
      }
    }, { timeoutMs: 1000, intervalMs: 50 });
    assert.ok(answer, 'the key works within a second');
    assert.match(answer.choices[0].message.content, /Hello from deepseek mock/);
    const sent = mock.requests().filter((r) => r.path.includes('/chat/completions'));
    assert.equal(sent[sent.length - 1].headers.authorization, `Bearer ${UPSTREAM_KEY}`, 'the upstream key added on the page is used');
    // and a streamed one
    const stream = await client.chat.completions.create({ model: 'deepseek-chat', stream: true, messages: [{ role: 'user', content: 'Stream please.' }] });
    let text = '';
    for await (const chunk of stream) text += (chunk.choices[0] && chunk.choices[0].delta.content) || '';
    assert.match(text, /Hello from deepseek mock/);
  });

  it('after llmgate-settle the requests show in the usage chart and table', async (t) => {
    if (!fs.existsSync(SETTLE)) {
      t.diagnostic(`llmgate-settle not built (${SETTLE}): the chart shows unsettled records only`);
    } else {
      const spool = path.join(site.stateDir, 'spool');
      const closed = await waitFor(() => {
        const names = fs.existsSync(spool) ? fs.readdirSync(spool) : [];
        return !names.some((n) => n.endsWith('.open')) && names.some((n) => n.endsWith('.ready')) ? names : null;
      }, { timeoutMs: 15000, intervalMs: 200 });
      assert.ok(closed, 'the router closed its spool segment');
      const r = await runSettle(site);
      assert.equal(r.code, 0, r.stderr);
      const left = fs.readdirSync(spool).filter((n) => /\.(open|ready)$/.test(n));
      assert.deepEqual(left, [], 'everything settled');
    }
    await page.click('nav button[data-view=overview]');
    await page.waitForSelector('#chart svg rect.bar');
    const titles = await page.$$eval('#chart rect.bar title', (ts) => ts.map((x) => x.textContent));
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(titles.some((x) => x.startsWith(today) && x.includes('deepseek-chat')), titles.join('\n'));
    const totals = await page.textContent('#totals');
    assert.match(totals, /^2\s*Requests/, totals);
    assert.ok((await page.textContent('#top-keys')).includes('browser-team'));
    if (fs.existsSync(SETTLE)) assert.match(await page.textContent('#backlog'), /Every recorded request is settled\. llmgate-settle last ran/);
    // by key
    await page.click('#chart-by button[data-by=key]');
    await page.waitForFunction(() => document.querySelector('#legend').textContent.includes('browser-team'));
    await page.click('#chart-by button[data-by=model]');
    await page.waitForFunction(() => document.querySelector('#legend').textContent.includes('deepseek-chat'));
    await page.screenshot({ path: path.join(BUILD_DIR, 'admin-usage.png'), fullPage: true });

    await page.click('nav button[data-view=usage]');
    await page.waitForSelector('#usage-table tbody tr');
    const table = await page.textContent('#usage-table');
    assert.ok(table.includes(today) && table.includes('browser-team') && table.includes('deepseek-chat'), table);
    const href = await page.getAttribute('#usage-csv', 'href');
    assert.match(href, /\/admin\/api\/usage\.csv\?days=30$/);
    const csv = await page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).text(), href);
    assert.ok(csv.split('\r\n').some((l) => l.startsWith(today) && l.includes(',browser-team,deepseek-chat,2,')), csv);
    await page.screenshot({ path: path.join(BUILD_DIR, 'admin-usage-table.png'), fullPage: true });
  });

  it('saves settings: a system prompt and an alias the router then uses', async () => {
    await page.click('nav button[data-view=settings]');
    await page.waitForSelector('#sp-providers-body tr');
    await page.check('#sp-enabled');
    await page.fill('#sp-text', 'Answer briefly.');
    await page.fill('#sp-aliases', 'team-model = deepseek/deepseek-chat');
    await page.click('#settings-form button[type=submit]');
    await toastSaying(/Settings saved/);
    // a bad line is refused on the page, with the line named
    await page.fill('#sp-prices', 'deepseek-chat = 1, 2');
    await page.click('#settings-form button[type=submit]');
    await fieldSaying('#sp-prices', /Prices, line 1/);
    await page.click('#settings-reset');
    assert.equal(await page.inputValue('#sp-prices'), '');

    const client = new OpenAI({ apiKey: gatewayKey, baseURL: site.url + '/v1', maxRetries: 0, timeout: 10000 });
    mock.reset();
    const answer = await waitFor(async () => {
      try {
        return await client.chat.completions.create({ model: 'team-model', messages: [{ role: 'user', content: 'Hi' }] });
      } catch (e) {
        if (e.status === 404) return null;
        throw e;
      }
    }, { timeoutMs: 3000, intervalMs: 100 });
    assert.ok(answer, 'the alias routes');
    const body = mock.requests().pop().body;
    assert.equal(body.model, 'deepseek-chat');
    assert.deepEqual(body.messages[0], { role: 'system', content: 'Answer briefly.' });
  });

  it('revokes the key on the page; the router refuses it', async () => {
    await page.click('nav button[data-view=keys]');
    const row = page.locator('#keys-table tr[data-key-id]', { hasText: 'browser-team' });
    await row.locator('button', { hasText: 'Revoke' }).click();
    await toastSaying(/revoked/);
    await page.check('#keys-show-revoked');
    await page.waitForFunction(() => document.querySelector('#keys-table').textContent.includes('revoked'));
    const client = new OpenAI({ apiKey: gatewayKey, baseURL: site.url + '/v1', maxRetries: 0, timeout: 10000 });
    const refused = await waitFor(async () => {
      try {
        await client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hi' }] });
        return null;
      } catch (e) {
        return e.status === 401 ? e : null;
      }
    }, { timeoutMs: 1000, intervalMs: 50 });
    assert.ok(refused, 'the revoked key is refused (401) within a second');
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('nav button[data-view=overview]');
    await page.waitForSelector('#chart svg rect.bar');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling of the page (${overflow}px)`);
    await page.screenshot({ path: path.join(BUILD_DIR, 'admin-phone.png'), fullPage: true });
  });

  it('no console or page errors (CSP included)', () => {
    assert.deepEqual(problems, []);
  });
});

