// The admin side of conversations and drawing, against the real lighttpd +
// admin + router + mock upstream: the admin API's conversations per key
// (count, last used, the list, delete by id; a session needed; bad ids
// refused), and the Assistant view in headless Chromium: settings saved
// (conversations, system prompt, public models, drawing) and taken up by
// the router, the conversation list of a key shown, one deleted.
//
// The browser part needs Debian's chromium (/usr/bin/chromium, or
// CHROMIUM=path) and npm playwright-core; without them it is skipped.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMock, mockEnv } = require('../lib/harness.js');
const { startSite, AdminClient } = require('../lib/admin.js');
const { request, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { CHROMIUM, CHROME_ARGS, playwright, browserSkip } = require('../lib/browser.js');

const PASSWORD = 'assistant-admin-password-42';
const KEY = 'gk-assistant-admin-0123456789';
const OTHER = 'gk-assistant-other-9876543210';
const SECRETS = { DEEPSEEK_API_KEY: 'sk-ds-assistant-SECRET-1', SILICONFLOW_API_KEY: 'sk-sf-assistant-SECRET-1' };

let skipReason = browserSkip;

let mock;
let site;
let admin;
let keyId;

const say = (key, conv, content) => request('POST', `${site.url}/v1/chat/completions`, {
  headers: { ...bearer(key), 'X-Conversation-Id': conv },
  body: { model: 'deepseek-chat', messages: [{ role: 'user', content }] },
});

before(async () => {
  mock = await startMock();
  site = await startSite({ env: { ...mockEnv(mock), ...SECRETS, AUTH_KEY: `${KEY},${OTHER}` }, conf: buildConf({}) });
  admin = new AdminClient(site.url);
  assert.equal((await admin.setup(PASSWORD)).status, 201);
  assert.equal((await admin.login(PASSWORD)).status, 200);
  for (const c of ['trip', 'plans']) assert.equal((await say(KEY, c, `about ${c}`)).status, 200);
  assert.equal((await say(OTHER, 'theirs', 'hello')).status, 200);
});

after(async () => {
  const log = site ? site.errorLog() : '';
  if (site) await site.stop();
  if (mock) await mock.close();
  assertNoSecrets([log, ...transcript()], [PASSWORD, ...Object.values(SECRETS)]);
});

describe('admin API: conversations', () => {
  it('per key: how many, last used', async () => {
    const r = await admin.call('GET', 'conversations');
    assert.equal(r.status, 200, r.text);
    const counts = Object.fromEntries(r.json.keys.map((k) => [k.name, k.conversations]));
    assert.deepEqual(Object.values(counts).sort(), [1, 2]);
    const mine = r.json.keys.find((k) => k.conversations === 2);
    keyId = mine.id;
    assert.match(keyId, /^env-[0-9a-f]{8}$/);
    assert.ok(mine.last_used > 1.7e9);
  });

  it('a key\'s list; delete by id; bad ids and no session refused', async () => {
    const r = await admin.call('GET', `conversations/${keyId}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.conversations.map((c) => c.id).sort(), ['plans', 'trip']);
    assert.equal(r.json.conversations[0].turns, 1);
    assert.equal(r.json.conversations[0].messages, undefined, 'no messages in the admin list');
    assert.equal((await admin.call('POST', `conversations/${keyId}/delete`, { id: 'nope' })).status, 404);
    assert.equal((await admin.call('POST', `conversations/${keyId}/delete`, { id: 'x'.repeat(129) })).status, 400);
    assert.equal((await admin.call('POST', `conversations/${keyId}/delete`, {})).status, 400);
    assert.equal((await admin.call('GET', 'conversations', undefined, { session: false })).status, 401);
    assert.equal((await admin.call('POST', `conversations/${keyId}/delete`, { id: 'trip' }, { csrf: false })).status, 403);
    assert.equal((await admin.call('GET', 'conversations/k_unknown')).json.conversations.length, 0);
  });
});

describe('public model names', () => {
  it('a name that routes nowhere is refused, naming it; nothing stored', async () => {
    const r = await admin.call('PUT', 'settings', { public_models: ['team-chat'] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_settings');
    assert.match(r.json.error.message, /public_models: 'team-chat' routes to no provider/);
    assert.deepEqual((await admin.call('GET', 'settings')).json.settings, {});
  });

  it('GET /v1/models lists them first, once each, and each routes (an alias or a provider\'s model)', async () => {
    const doc = { aliases: { 'team-chat': 'deepseek/deepseek-chat' }, public_models: ['team-chat', 'deepseek-reasoner'] };
    assert.equal((await admin.call('PUT', 'settings', doc)).status, 200);
    const listed = await waitFor(async () => {
      const r = await request('GET', `${site.url}/v1/models`, { headers: bearer(KEY) });
      return r.status === 200 && r.json.data[0].id === 'team-chat' ? r : null;
    }, { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(listed, 'the router takes up the public names');
    const ids = listed.json.data.map((m) => m.id);
    assert.deepEqual(ids.slice(0, 2), ['team-chat', 'deepseek-reasoner']);
    assert.equal(ids.filter((x) => x === 'deepseek-reasoner').length, 1);
    assert.ok(ids.includes('deepseek-chat'), 'the other models follow');
    assert.equal(listed.json.data[0].owned_by, 'deepseek');
    const one = await request('GET', `${site.url}/v1/models/team-chat`, { headers: bearer(KEY) });
    assert.equal(one.json.id, 'team-chat');
    mock.reset();
    const c = await request('POST', `${site.url}/v1/chat/completions`,
      { headers: bearer(KEY), body: { model: 'team-chat', messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(c.status, 200, c.text);
    assert.equal(mock.requests().find((x) => /chat\/completions$/.test(x.path)).body.model, 'deepseek-chat');
  });
});

describe('the Assistant view in Chromium', { skip: skipReason || false }, () => {
  let context;
  let page;
  let userDataDir;
  const problems = [];

  before(async () => {
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-chromium-'));
    context = await playwright.chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, viewport: { width: 1200, height: 900 },
    });
    context.setDefaultTimeout(10000);
    page = context.pages()[0] || await context.newPage();
    // the page asks for its session before the login (401): not a problem
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 401/.test(m.text())) {
        problems.push(`console: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    if (context) await context.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  const toastSaying = (re) => page.waitForFunction(
    (src) => [...document.querySelectorAll('#toasts .toast')].some((t) => new RegExp(src).test(t.textContent)), re.source);

  it('log in and open the Assistant view', async () => {
    await page.goto(`${site.url}/#assistant`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.click('#nav button[data-view=assistant]');
    await page.waitForSelector('#view-assistant:not([hidden]) #as-form');
    await page.waitForSelector(`#as-keys tr[data-key="${keyId}"]`);
    const cells = await page.$$eval(`#as-keys tr[data-key="${keyId}"] td`, (tds) => tds.map((t) => t.textContent));
    assert.equal(cells[1], '2');
  });

  it('settings saved there reach the router: drawing on with its model', async () => {
    await page.fill('#as-public', 'team-chat');
    await page.fill('#as-prompt', 'You are the team assistant.');
    await page.fill('#as-max', '7');
    await page.check('#as-draw');
    await page.fill('#as-draw-model', 'Kwai-Kolors/Kolors');
    await page.click('#as-form button[type=submit]');
    await toastSaying(/Assistant settings saved/);
    const st = (await admin.call('GET', 'settings')).json.settings;
    assert.deepEqual(st.conversations, { max_per_key: 7 });
    assert.deepEqual(st.drawing, { enabled: true, model: 'Kwai-Kolors/Kolors' });
    assert.deepEqual(st.public_models, ['team-chat']);
    assert.deepEqual(st.system_prompt, { enabled: true, text: 'You are the team assistant.' });
    // the router reloads state.db: a drawing answer soon (bounded)
    const drawn = await waitFor(async () => {
      const r = await say(OTHER, 'pics', '画 a lighthouse');
      return r.status === 200 && /^!\[a lighthouse\]\(https:/.test(r.json.choices[0].message.content) ? r : null;
    }, { timeoutMs: 10000, intervalMs: 200 });
    assert.ok(drawn, 'the router draws after the setting was saved');
  });

  it('a key\'s conversations are listed, and one is deleted', async () => {
    await page.click(`#as-keys tr[data-key="${keyId}"] button`);
    await page.waitForSelector('#as-detail tr[data-conversation="trip"]');
    assert.equal(await page.locator('#as-detail tr[data-conversation]').count(), 2);
    await page.click('#as-detail tr[data-conversation="trip"] button');
    await toastSaying(/Conversation deleted/);
    const left = await request('GET', `${site.url}/v1/conversations`, { headers: bearer(KEY) });
    assert.deepEqual(left.json.data.map((c) => c.id), ['plans']);
    await page.waitForFunction((id) => {
      const row = document.querySelector(`#as-keys tr[data-key="${id}"]`);
      return row && row.children[1].textContent === '1';
    }, keyId);
    assert.deepEqual(problems, []);
  });
});
