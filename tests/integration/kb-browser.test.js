// The knowledge base from the admin page in headless Chromium, against the
// real lighttpd + admin + router + mock upstream, nothing configured: the
// first run (password, the chat provider, the embedding provider, the first
// key shown once), a shared store made in the Knowledge view, a document uploaded from a file
// and a text pasted (chunk counts shown, waiting to be indexed), then a
// question through the OpenAI SDK whose answer is only in the upload: the
// router embeds the store's documents (recorded against the admin
// identity), the mock model 'echo-context' answers with the context it was
// sent, and the view shows the documents indexed; one removed.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM=path) and npm
// playwright-core; without them the test is skipped, saying why.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMock, mockEnv } = require('../lib/harness.js');
const { startSite } = require('../lib/admin.js');
const { transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { browserSkip, openProfile } = require('../lib/browser.js');

const PASSWORD = 'kb-browser-password-42';
const RAG_KEY = 'sk-rag-SECRET-browser-0123';
const DS_KEY = 'sk-ds-SECRET-kb-browser';
const DOC = '# 仓库守则\n\n仓库的夜班门禁密码是“青鸟七号”，每月一日更换。\n\nThe night shift door code of the warehouse is Bluebird Seven.\n';

let OpenAI = null;
let skipReason = browserSkip;
try {
  OpenAI = require('openai').default || require('openai');
} catch {
  skipReason = skipReason || 'npm package openai is missing (npm ci in tests/)';
}

describe('knowledge base in the admin page (Chromium)', { skip: skipReason || false }, () => {
  let mock;
  let site;
  let context;
  let page;
  let dir;
  let storeId;
  let gatewayKey;
  const problems = [];

  before(async () => {
    mock = await startMock();
    site = await startSite({
      // nothing configured: the chat and embedding providers and the first
      // key come from the first-run setup in the page
      env: { ...mockEnv(mock) },
      conf: buildConf({}) + '[rag]\nmin_score = 5\n',
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-kb-chromium-'));
    fs.writeFileSync(path.join(dir, 'warehouse.md'), DOC);
    ({ context, page } = await openProfile(path.join(dir, 'profile'), problems));
  });

  after(async () => {
    if (context) await context.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const log = site ? site.errorLog() : '';
    if (site) await site.stop();
    if (mock) await mock.close();
    assertNoSecrets([log], [PASSWORD, RAG_KEY, DS_KEY]);
    assertNoSecrets(transcript(), [PASSWORD, RAG_KEY, DS_KEY]);
    assert.deepEqual(problems, [], 'no script errors on the page');
  });

  it('set the password, make a shared store, upload a file and paste a text', async () => {
    await page.goto(site.url + '/');
    await page.waitForSelector('#setup:not([hidden])');
    await page.fill('#setup-password', PASSWORD);
    await page.fill('#setup-password2', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    // the chat provider and the embedding provider, then the first key
    await page.waitForSelector('#setup-providers:not([hidden])');
    await page.fill('#sp1-url', `${mock.url}/deepseek`);
    await page.fill('#sp1-name', 'team');
    await page.fill('#sp1-key', DS_KEY);
    await page.fill('#sp1-model', 'echo-context');
    await page.fill('#sp2-url', `${mock.url}/siliconflow/v1`);
    await page.fill('#sp2-key', RAG_KEY);
    await page.fill('#sp2-model', 'BAAI/bge-m3');
    await page.click('#setup-providers-form button[type=submit]');
    await page.waitForSelector('#setup-key:not([hidden])');
    await page.click('#setup-key-form button[type=submit]');
    await page.waitForSelector('#setup-key-shown:not([hidden])');
    gatewayKey = (await page.textContent('#setup-key-value')).trim();
    assert.match(gatewayKey, /^sk-lg-[0-9a-f]{48}$/);
    await page.click('#setup-done');
    await page.waitForSelector('#app:not([hidden])');
    await page.click('nav button[data-view=kb]');
    await page.waitForSelector('#view-kb:not([hidden]) h1');
    assert.match(await page.textContent('#view-kb'), /Embedding model: (embedding\/)?BAAI\/bge-m3/);
    await page.fill('#view-kb input[aria-label="Name of the new store"]', 'Warehouse');
    await page.click('#view-kb form.card button[type=submit]');
    const card = page.locator('.kb-store').first();
    await card.waitFor();   // (DOM states, not the toasts, which go after 4 s: a loaded machine may be slower)
    storeId = await card.getAttribute('data-store');
    assert.match(storeId, /^vs_/);
    await card.locator('input[type=file]').setInputFiles(path.join(dir, 'warehouse.md'));
    await card.locator('button[type=submit]').click();
    await page.waitForFunction(() => document.querySelectorAll('.kb-docs tbody tr').length === 1);
    const card2 = page.locator('.kb-store').first();
    await card2.locator('textarea').fill('The loading dock closes at nine in the evening.');
    await card2.locator('input[aria-label="Title of the pasted text"]').fill('dock hours');
    await card2.locator('button[type=submit]').click();
    await page.waitForFunction(() => document.querySelectorAll('.kb-docs tbody tr').length === 2);
    const rows = await page.$$eval('.kb-docs tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    const names = rows.map((r) => r[0]).sort();
    assert.deepEqual(names, ['dock hours.txt', 'warehouse.md']);
    for (const r of rows) {
      assert.equal(r[2], '1', `${r[0]}: its chunk count`);
      assert.equal(r[3], 'waiting', `${r[0]}: waiting for the router`);
    }
  });

  it('a question through the API is answered from the upload', async () => {
    // with the key the setup showed, to the chat provider the setup made
    const client = new OpenAI({ apiKey: gatewayKey, baseURL: `${site.url}/v1`, maxRetries: 0, timeout: 20000 });
    const r = await client.chat.completions.create({
      model: 'echo-context', messages: [{ role: 'user', content: '仓库的夜班门禁密码是什么？' }],
    }, { headers: { 'X-Llmgate-Vector-Stores': storeId } });
    assert.match(r.choices[0].message.content, /青鸟七号/, 'the answer holds what only the upload says');
    assert.match(r.choices[0].message.content, /source: warehouse\.md/);
    const embed = mock.requests().filter((x) => /\/siliconflow\/v1\/embeddings$/.test(x.path));
    assert.ok(embed.length >= 2, 'the documents, then the question, embedded by the router');
    const spool = path.join(site.stateDir, 'spool');
    const recs = fs.readdirSync(spool).filter((n) => /\.(open|ready)$/.test(n))
      .flatMap((n) => fs.readFileSync(path.join(spool, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    assert.ok(recs.some((x) => x.endpoint === 'embeddings' && x.key_id === 'admin'), 'the documents against the admin');
    assert.ok(recs.some((x) => x.endpoint === 'embeddings' && x.key_id !== 'admin'), 'the question against the key');
  });

  it('the view shows the documents indexed; one removed', async () => {
    await page.click('#view-kb .bar button');   // Refresh
    await page.waitForFunction(() => /indexed/.test(document.querySelector('.kb-docs').textContent));
    await page.locator('button[aria-label="Remove dock hours.txt"]').click();
    await page.waitForFunction(() => document.querySelectorAll('.kb-docs tbody tr').length === 1);
    await page.screenshot({ path: path.join(process.env.LLMGATE_BUILDDIR || '.', 'admin-kb.png'), fullPage: true });
  });
});
