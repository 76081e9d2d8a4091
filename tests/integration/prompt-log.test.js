// Prompt logging per gateway key: off by default (no prompt written
// anywhere); a key the operator turns it on for (the admin API, or
// llmgate-keys set --log-prompts on) has its prompts shown beside its
// requests in the admin's request log, cut and scrubbed; another key's
// requests never carry one; bad input changes nothing.

'use strict';

const { before, after, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, mockEnv, keysTool } = require('../lib/harness.js');
const { startSite, AdminClient } = require('../lib/admin.js');
const { request, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');

const PASSWORD = 'prompt-log-password-0123';
const PROVIDER_KEY = 'sk-ds-SECRET-promptlog-0123456789';

let mock;
let site;
let admin;

before(async () => {
  mock = await startMock();
  site = await startSite({ env: { ...mockEnv(mock), DEEPSEEK_API_KEY: PROVIDER_KEY }, conf: buildConf({}) });
  admin = new AdminClient(site.url);
  await admin.setup(PASSWORD);
  await admin.login(PASSWORD);
});

after(async () => {
  if (site) {
    assertNoSecrets([site.errorLog()], [PASSWORD, PROVIDER_KEY], 'error log');
    await site.stop();
  }
  if (mock) await mock.close();
});

const ask = (key, text) => request('POST', `${site.url}/v1/chat/completions`, {
  headers: bearer(key),
  body: { model: 'deepseek-chat', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }] },
});

async function logOf(id, n) {
  let last;
  const ok = await waitFor(async () => {
    last = await admin.call('GET', `requests?key=${id}`);
    return last.status === 200 && last.json.total >= n ? last.json : null;
  }, { timeoutMs: 5000, intervalMs: 100 });
  assert.ok(ok, last && last.text);
  return ok.requests;
}

it('off by default; on for one key: its prompts beside its requests, cut and scrubbed; the other key never', async () => {
  const a = await admin.call('POST', 'keys', { name: 'kept', log_prompts: true });
  const b = await admin.call('POST', 'keys', { name: 'private' });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.log_prompts, true);
  assert.equal(b.json.log_prompts, false);
  await waitFor(async () => (await ask(a.json.key, 'warm up')).status === 200, { timeoutMs: 5000 });
  assert.equal((await ask(b.json.key, 'the private question 秘密')).status, 200);
  // a prompt that carries the provider's key and is longer than the cap
  const long = `Why does ${PROVIDER_KEY} fail? 为什么 ` + 'x'.repeat(9000);
  assert.equal((await ask(a.json.key, long)).status, 200);
  const rows = await logOf(a.json.id, 2);
  const withPrompt = rows.filter((r) => r.prompt_text !== undefined);
  assert.equal(withPrompt.length, 2, JSON.stringify(rows));
  assert.ok(withPrompt.some((r) => r.prompt_text === 'warm up'));
  const cut = withPrompt.find((r) => r.prompt_text.startsWith('Why does'));
  assert.ok(cut.prompt_text.length <= 8192 && cut.prompt_text.includes('为什么'), 'cut to 8 KB');
  assert.ok(!cut.prompt_text.includes(PROVIDER_KEY), 'the key scrubbed');
  assert.ok(!withPrompt.some((r) => r.prompt_text.includes('Be brief')), 'the last user message, not the system prompt');
  for (const r of await logOf(b.json.id, 1)) assert.equal(r.prompt_text, undefined);
  const dir = path.join(site.stateDir, 'prompts');
  assert.deepEqual(fs.readdirSync(dir), [`${a.json.id}.log`], 'nothing written for the other key');
  assert.ok(!fs.readFileSync(path.join(dir, `${a.json.id}.log`), 'utf8').includes('秘密'));
  // turned off: the next prompt is not kept
  assert.equal((await admin.call('PATCH', `keys/${a.json.id}`, { log_prompts: false })).status, 200);
  await waitFor(async () => {
    const k = (await admin.call('GET', 'keys')).json.keys.find((x) => x.id === a.json.id);
    return k && k.log_prompts === false;
  });
  const before = fs.readFileSync(path.join(dir, `${a.json.id}.log`), 'utf8');
  await new Promise((r) => setTimeout(r, 1200));   // the router reloads its key table within a second
  assert.equal((await ask(a.json.key, 'not kept now')).status, 200);
  assert.equal(fs.readFileSync(path.join(dir, `${a.json.id}.log`), 'utf8'), before);
});

it('bad input changes nothing: log_prompts must be true or false', async () => {
  const k = await admin.call('POST', 'keys', { name: 'plain' });
  const bad = await admin.call('PATCH', `keys/${k.json.id}`, { log_prompts: 'yes' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /log_prompts must be true or false/);
  const made = await admin.call('POST', 'keys', { name: 'bad', log_prompts: 1 });
  assert.equal(made.status, 400);
  const r = await keysTool(site, ['set', k.json.id, '--log-prompts', 'maybe']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--log-prompts takes on or off/);
  const on = await keysTool(site, ['set', k.json.id, '--log-prompts', 'on']);
  assert.equal(on.code, 0, on.stderr);
  const listed = (await admin.call('GET', 'keys')).json.keys.find((x) => x.id === k.json.id);
  assert.equal(listed.log_prompts, true);
});
