// The admin console as a team runs it, in headless Chromium against the real
// lighttpd + admin + router + mock upstream, on a phone (360 px, dark,
// Chinese) and a desktop (1280 px, light, English), plus the other two
// combinations for the accessibility and layout checks:
//   first run with a chat provider whose key is wrong and an embedding
//   provider; the provider test fails with the reason; the key is replaced
//   and the test passes; a gateway key with an expiry and a budget; traffic
//   with errors through the official OpenAI SDK; the Errors card opens the
//   request log at those errors; the password changed and a new login;
//   every settings mistake refused beside its field with nothing saved;
//   axe-core over every view (no serious or critical finding) and no
//   sideways scrolling at 360 px.
// Screenshots go to $LLMGATE_BUILDDIR/console-*.png.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM=path) and npm
// playwright-core and axe-core; without them the test is skipped, saying why.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, mockEnv, BUILD_DIR } = require('../lib/harness.js');
const { startSite } = require('../lib/admin.js');
const { waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { CHROMIUM, CHROME_ARGS, playwright, browserSkip, watchPage } = require('../lib/browser.js');

const PASSWORD = 'console-admin-password-42';
const NEW_PASSWORD = 'console-NEW-password-4242';
const WRONG_KEY = 'sk-wrong-SECRET-console-01234wxyz';
const RIGHT_KEY = 'sk-right-SECRET-console-01234abcd';
const EMBED_KEY = 'sk-embed-SECRET-console-0123456789';
const OPS_PASSWORD = 'ops-SECRET-console-password';
const VIEWS = ['overview', 'requests', 'keys', 'providers', 'settings', 'usage', 'account'];

let OpenAI = null;
let axeSource = null;
let skipReason = browserSkip;
try {
  OpenAI = require('openai').default || require('openai');
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (e) {
  skipReason = skipReason || `an npm package is missing (npm ci in tests/): ${e.message.split('\n')[0]}`;
}

describe('the admin console in Chromium: phone and desktop, Chinese and English', { skip: skipReason || false }, () => {
  let mock;
  let site;
  let browser;
  let gatewayKey;
  const problems = [];

  before(async () => {
    mock = await startMock();
    site = await startSite({ env: { ...mockEnv(mock) }, conf: buildConf({}) });
    browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
  });

  after(async () => {
    if (browser) await browser.close();
    const log = site ? site.errorLog() : '';
    if (site) await site.stop();
    if (mock) await mock.close();
    assertNoSecrets([log], [PASSWORD, NEW_PASSWORD, OPS_PASSWORD, WRONG_KEY, RIGHT_KEY, EMBED_KEY, gatewayKey], 'lighttpd error log');
    assertNoSecrets(transcript(), [PASSWORD, NEW_PASSWORD, OPS_PASSWORD, WRONG_KEY, RIGHT_KEY, EMBED_KEY], 'answers');
  });

  async function newPage({ width, height, dark, zh }) {
    const context = await browser.newContext({
      viewport: { width, height }, colorScheme: dark ? 'dark' : 'light',
      locale: zh ? 'zh-CN' : 'en-US',
    });
    context.setDefaultTimeout(10000);
    return watchPage(await context.newPage(), problems);
  }

  // the message beside a field (aria-invalid, aria-describedby)
  const fieldSaying = (page, sel, re) => page.waitForFunction(([q, src]) => {
    const el = document.querySelector(q);
    const ids = el ? (el.getAttribute('aria-describedby') || '').split(' ') : [];
    return el && el.getAttribute('aria-invalid') === 'true' &&
      ids.some((id) => document.getElementById(id) && new RegExp(src).test(document.getElementById(id).textContent));
  }, [sel, re.source]);

  async function openView(page, name) {
    await page.click(`nav button[data-view=${name}]`);
    await page.waitForSelector(`#view-${name}:not([hidden])`);
    await page.waitForFunction((n) => document.querySelector(`#tab-${n}`).getAttribute('aria-selected') === 'true', name);
  }

  // axe-core in the page (evaluated, so the page's CSP stays on): no serious
  // or critical finding.
  async function axeCheck(page, what) {
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(found, [], `axe-core on ${what}`);
  }

  async function noOverflow(page, what) {
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${what}: no sideways scrolling (${over} px too wide)`);
  }

  // the console's views and those feature files add (window.llmgate.addView)
  async function everyView(page, tag, { width, shots = true }) {
    const views = await page.$$eval('nav button[data-view]', (bs) => bs.map((b) => b.dataset.view));
    for (const v of VIEWS) assert.ok(views.includes(v), `the ${v} tab`);
    for (const v of views) {
      await openView(page, v);
      await page.waitForFunction(() => window.llmgate.pending() === 0);
      await axeCheck(page, `${tag} ${v}`);
      if (width <= 400) await noOverflow(page, `${tag} ${v}`);
      if (shots) await page.screenshot({ path: path.join(BUILD_DIR, `console-${tag}-${v}.png`), fullPage: true });
    }
  }

  async function login(page, password, name) {
    await page.goto(site.url + '/');
    await page.waitForSelector('#login:not([hidden])');
    if (name) await page.fill('#login-name', name);
    await page.fill('#login-password', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
  }

  let phone;

  it('first run on a phone, in Chinese and dark: password, providers (one key wrong), the first key', async () => {
    phone = await newPage({ width: 360, height: 780, dark: true, zh: true });
    mock.configure({ keys: { [WRONG_KEY]: { status: 401 } } });
    await phone.goto(site.url + '/');
    await phone.waitForSelector('#setup:not([hidden])');
    assert.equal(await phone.getAttribute('html', 'lang'), 'zh-CN', 'the browser\'s language');
    assert.equal(await phone.textContent('#setup h1'), '欢迎使用 llmgate');
    await axeCheck(phone, 'setup (zh, dark, phone)');
    await noOverflow(phone, 'setup');
    await phone.fill('#setup-password', 'short');
    await phone.fill('#setup-password2', 'short');
    await phone.click('#setup-form button[type=submit]');
    await fieldSaying(phone, '#setup-password', /至少需要 10 个字符/);
    await phone.fill('#setup-password', PASSWORD);
    await phone.fill('#setup-password2', PASSWORD);
    await phone.click('#setup-form button[type=submit]');
    await phone.waitForSelector('#setup-providers:not([hidden])');
    // a mistake is shown beside its field, nothing is sent
    await phone.fill('#sp1-url', 'not a url');
    await phone.click('#setup-providers-form button[type=submit]');
    await fieldSaying(phone, '#sp1-url', /http:\/\//);
    await phone.fill('#sp1-url', mock.url + '/openai/v1');
    await phone.fill('#sp1-name', 'team-llm');
    await phone.fill('#sp1-key', WRONG_KEY);
    await phone.fill('#sp1-model', 'Qwen/QwQ-32B');
    await phone.fill('#sp2-url', mock.url + '/openai/v1');
    await phone.fill('#sp2-key', EMBED_KEY);
    await phone.fill('#sp2-model', 'BAAI/bge-large-zh-v1.5');
    await axeCheck(phone, 'setup providers');
    await noOverflow(phone, 'setup providers');
    await phone.click('#setup-providers-form button[type=submit]');
    await phone.waitForSelector('#setup-key:not([hidden])');
    await phone.fill('#setup-key-name', '团队');
    await phone.click('#setup-key-form button[type=submit]');
    await phone.waitForSelector('#setup-key-shown:not([hidden])');
    gatewayKey = (await phone.textContent('#setup-key-value')).trim();
    assert.match(gatewayKey, /^sk-lg-[0-9a-f]{48}$/);
    await phone.screenshot({ path: path.join(BUILD_DIR, 'console-setup-key.png'), fullPage: true });
    await phone.click('#setup-done');
    await phone.waitForSelector('#view-overview:not([hidden])');
    assert.equal(await phone.textContent('#setup-key-value'), '', 'the key is shown once');
    // a fresh install says nothing contradictory about settlement
    const settle = await phone.textContent('#settle');
    assert.match(settle, /还没有记录任何请求/);
    assert.doesNotMatch(settle, /均已结算/);
    assert.match(await phone.textContent('#cron-line'), /^0 \* \* \* \*  \S+  LLMGATE_CONFIG=\S+ \S+\/llmgate-settle --quiet$/);
  });

  it('the provider test fails with the reason; with the right key it passes', async () => {
    await openView(phone, 'providers');
    const card = phone.locator('[data-provider="team-llm"]');
    await card.waitFor();
    assert.match(await phone.textContent('[data-provider="embedding"]'), /BAAI\/bge-large-zh-v1\.5/);
    await card.locator('.test-btn').click();
    await card.locator('.test-result.bad').waitFor();
    const failed = await card.locator('.test-result').textContent();
    assert.match(failed, /测试失败/);
    assert.match(failed, /HTTP 401: Incorrect API key/);
    assert.ok(!failed.includes(WRONG_KEY), 'the key is never shown');
    await phone.screenshot({ path: path.join(BUILD_DIR, 'console-test-failed.png'), fullPage: true });
    // the right key in, the wrong one out
    await phone.selectOption('#upkey-provider', 'team-llm');
    await phone.fill('#upkey-key', RIGHT_KEY);
    await phone.click('#upkey-form button[type=submit]');
    await card.locator('[data-upkey-id]').nth(1).waitFor();
    const wrongRow = card.locator('[data-upkey-id]', { hasText: WRONG_KEY.slice(-4) });
    await wrongRow.locator('button.danger').click();
    await phone.waitForFunction(() => document.querySelectorAll('[data-provider="team-llm"] [data-upkey-id]').length === 1);
    await card.locator('.test-btn').click();
    await card.locator('.test-result.ok').waitFor();
    const passed = await card.locator('.test-result').textContent();
    assert.match(passed, /测试通过/);
    assert.match(passed, /HTTP 200/);
    await noOverflow(phone, 'providers with test results');
  });

  it('a gateway key with an expiry and a budget, shown with what is left', async () => {
    await openView(phone, 'keys');
    await phone.fill('#key-name', 'budget-team');
    await phone.fill('#key-expires', '30');
    await phone.click('#key-form summary');
    await phone.fill('#nl-tokens', '100000');
    assert.match(await phone.textContent('#nl-tokens-help'), /终身额度/);
    await phone.click('#key-form button[type=submit]');
    await phone.waitForSelector('#new-key:not([hidden])');
    const row = phone.locator('#keys-table tr[data-key-id]', { hasText: 'budget-team' });
    await row.waitFor();
    const text = await row.textContent();
    const expires = new Intl.DateTimeFormat('zh-CN', { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + 30 * 86400e3));
    assert.ok(text.includes(expires), `expiry ${expires} in ${text}`);
    assert.match(text, /终身额度剩余 10万 令牌|终身额度剩余 100,000 令牌/);
    await phone.click('#new-key-done');
  });

  it('traffic with errors; the Errors card opens the request log at them', async () => {
    const client = new OpenAI({ apiKey: gatewayKey, baseURL: site.url + '/v1', maxRetries: 0, timeout: 10000 });
    const ok = await waitFor(async () => {
      try {
        return await client.chat.completions.create({ model: 'team-llm/Qwen/QwQ-32B', messages: [{ role: 'user', content: '你好' }] });
      } catch (e) {
        if (e.status === 401 || e.status === 404) return null;
        throw e;
      }
    }, { timeoutMs: 3000, intervalMs: 50 });
    assert.ok(ok, 'the provider from the first run serves requests');
    for (const model of ['team-llm/error-500', 'team-llm/error-400']) {
      await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'fail' }] }), (e) => e.status >= 400);
    }
    await openView(phone, 'overview');
    await phone.waitForFunction(() => /^\s*2/.test(document.querySelector('#errors-card .v').textContent));
    await phone.click('#errors-card');
    await phone.waitForSelector('#view-requests:not([hidden])');
    await phone.waitForFunction(() => document.querySelectorAll('#req-table tr[data-request-id]').length === 2);
    assert.equal(await phone.inputValue('#rq-status'), 'error');
    const log = await phone.textContent('#req-table');
    assert.match(log, /upstream team-llm answered HTTP 500/);
    assert.match(log, /upstream team-llm answered HTTP 400/);
    assert.ok(!log.includes('fail') && !log.includes('你好'), 'no prompt in the log');
    await noOverflow(phone, 'request log');
    await phone.screenshot({ path: path.join(BUILD_DIR, 'console-requests-phone.png'), fullPage: true });
  });

  it('the password is changed with the current one; the new one logs in', async () => {
    await openView(phone, 'account');
    await phone.fill('#pw-current', 'not-the-password');
    await phone.fill('#pw-new', NEW_PASSWORD);
    await phone.fill('#pw-new2', NEW_PASSWORD);
    await phone.click('#pw-form button[type=submit]');
    await fieldSaying(phone, '#pw-current', /当前密码错误/);
    await phone.fill('#pw-current', PASSWORD);
    await phone.click('#pw-form button[type=submit]');
    await phone.waitForFunction(() => document.querySelector('#audit-table').textContent.includes('修改密码'));
    const audit = await phone.textContent('#audit-table');
    for (const what of ['初始设置', '保存设置', '添加上游密钥', '删除上游密钥', '创建密钥']) assert.ok(audit.includes(what), what);
    await phone.click('#logout');
    await phone.waitForSelector('#login:not([hidden])');
    await phone.fill('#login-password', PASSWORD);
    await phone.click('#login-form button[type=submit]');
    await fieldSaying(phone, '#login-password', /密码错误/);
    await phone.fill('#login-password', NEW_PASSWORD);
    await phone.click('#login-form button[type=submit]');
    await phone.waitForSelector('#app:not([hidden])');
  });

  it('phone, dark, Chinese: every view passes axe-core and fits 360 px', async () => {
    await everyView(phone, 'phone-zh-dark', { width: 360 });
    await phone.context().close();
  });

  it('desktop, light, English: the language switch is remembered; every settings mistake is refused beside its field, nothing saved', async () => {
    const page = await newPage({ width: 1280, height: 900, dark: false, zh: true });
    await login(page, NEW_PASSWORD);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    await page.click('#lang button[data-lang=en]');
    assert.equal(await page.getAttribute('#lang button[data-lang=en]', 'aria-pressed'), 'true');
    assert.equal(await page.textContent('#tab-requests'), 'Requests');
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the switch is remembered');

    await openView(page, 'settings');
    await page.waitForSelector('#sp-providers-body tr');
    const saved = async () => page.evaluate(async () => (await (await fetch('/admin/api/settings', { credentials: 'same-origin' })).json()).settings);
    const before = await saved();
    const submit = () => page.click('#settings-form button[type=submit]');
    // a new row named like an existing provider
    await page.click('#sp-add-provider');
    const row = page.locator('#sp-providers-body tr').last();
    await row.locator('.p-name').fill('team-llm');
    await row.locator('.p-url').fill('http://127.0.0.1:9/v1');
    await submit();
    await fieldSaying(page, '#sp-providers-body tr:last-child .p-name', /"team-llm" exists already/);
    await row.locator('button.danger').click();
    // an alias to a provider that does not exist (refused by the server's schema)
    await page.fill('#sp-aliases', 'fast = nosuch/some-model');
    await submit();
    await fieldSaying(page, '#sp-aliases', /names no known provider \('nosuch'\)/);
    // a fallback chain for a model nothing routes
    await page.fill('#sp-aliases', '');
    await page.fill('#sp-fallback', 'nobody-serves-this = team-llm/Qwen/QwQ-32B');
    await submit();
    await fieldSaying(page, '#sp-fallback', /would never be used/);
    // a fallback target naming an unknown provider
    await page.fill('#sp-fallback', 'team-llm/Qwen/QwQ-32B = ghost/model');
    await submit();
    await fieldSaying(page, '#sp-fallback', /'ghost\/model' names no known provider/);
    // the same alias twice
    await page.fill('#sp-fallback', '');
    await page.fill('#sp-aliases', 'a = team-llm/x\na = team-llm/y');
    await submit();
    await fieldSaying(page, '#sp-aliases', /"a" is already set above/);
    assert.deepEqual(await saved(), before, 'nothing was saved');
    await page.screenshot({ path: path.join(BUILD_DIR, 'console-settings-error.png'), fullPage: true });
    // fixed, it saves
    await page.fill('#sp-aliases', 'fast = team-llm/Qwen/QwQ-32B');
    await submit();
    await page.waitForFunction(() => /Settings saved/.test(document.querySelector('#settings-msg').textContent));
    assert.equal((await saved()).aliases.fast, 'team-llm/Qwen/QwQ-32B');

    // a second, named admin
    await openView(page, 'account');
    await page.fill('#ad-name', 'ops');
    await page.fill('#ad-pw', OPS_PASSWORD);
    await page.click('#admin-form button[type=submit]');
    await page.waitForSelector('#admins-table tr[data-admin="ops"]');

    await everyView(page, 'desktop-en-light', { width: 1280 });
    await page.context().close();
  });

  it('desktop dark Chinese and phone light English: every view passes axe-core; the phone fits 360 px', async () => {
    const d = await newPage({ width: 1280, height: 900, dark: true, zh: true });
    await login(d, OPS_PASSWORD, 'ops');
    await everyView(d, 'desktop-zh-dark', { width: 1280, shots: false });
    // the named admin's own account: its changes under its name; no adding admins
    assert.equal(await d.isVisible('#admin-form'), false);
    await openView(d, 'settings');
    const aliases = await d.inputValue('#sp-aliases');
    await d.fill('#sp-aliases', 'fast = nosuch/some-model');
    await d.click('#settings-form button[type=submit]');
    await fieldSaying(d, '#sp-aliases', /aliases\.fast：“nosuch\/some-model”指向不存在的服务商/);
    await d.fill('#sp-aliases', aliases);
    await d.click('#settings-form button[type=submit]');
    await d.waitForFunction(() => /设置已保存/.test(document.querySelector('#settings-msg').textContent));
    await openView(d, 'account');
    await d.waitForSelector('#audit-table tbody tr');
    const first = await d.textContent('#audit-table tbody tr');
    assert.ok(first.includes('ops') && first.includes('保存设置'), first);
    await d.context().close();
    const p = await newPage({ width: 360, height: 780, dark: false, zh: false });
    await login(p, NEW_PASSWORD);
    await everyView(p, 'phone-en-light', { width: 360, shots: false });
    await p.context().close();
  });

  it('no console or page errors (CSP included)', () => {
    assert.deepEqual(problems, []);
  });
});
