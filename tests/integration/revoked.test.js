// A revoked or expired gateway key is refused on every route, in the
// route's own dialect, and nothing reaches an upstream.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, keysTool, sleep } = require('../lib/harness.js');
const { request, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

let mock;
let gw;
const KEYS = { DEEPSEEK_API_KEY: 'sk-ds-rev-0000001', GEMINI_API_KEY: 'gem-rev-0000001', SILICONFLOW_API_KEY: 'sk-sf-rev-0000001' };

// Every route, with the key presented the way its clients present it.
const routes = (key) => [
  ['chat', 'POST', '/v1/chat/completions', bearer(key), { model: 'deepseek-chat', messages: [{ role: 'user', content: 'x' }] }],
  ['models', 'GET', '/v1/models', bearer(key)],
  ['model', 'GET', '/v1/models/deepseek-chat', bearer(key)],
  ['embeddings', 'POST', '/v1/embeddings', bearer(key), { model: 'BAAI/bge-large-zh-v1.5', input: 'x' }],
  ['images', 'POST', '/v1/images/generations', bearer(key), { model: 'Kwai-Kolors/Kolors', prompt: 'x' }],
  ['messages', 'POST', '/v1/messages', { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, { model: 'deepseek-chat', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }],
  ['passthrough', 'POST', '/api/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent', { 'x-goog-api-key': key }, { contents: [{ role: 'user', parts: [{ text: 'x' }] }] }],
];

const call = ([, method, p, headers, body]) => request(method, gw.url + p, { headers, body });

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS }, conf: buildConf() });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

async function create(args) {
  const r = await keysTool(gw, ['create', '--name', 'rev', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { key: r.stdout.trim(), id: /created key (k_[0-9a-f]+)/.exec(r.stderr)[1] };
}

function assertRefused(name, res) {
  assert.equal(res.status, 401, `${name}: ${res.status} ${res.text}`);
  if (name === 'messages') {
    assert.equal(res.json.type, 'error');
    assert.equal(res.json.error.type, 'authentication_error');
  } else {
    assert.equal(res.json.error.code, 'invalid_api_key', name);
  }
}

describe('refused keys on every route', () => {
  it('a live key works everywhere first', async () => {
    const { key } = await create([]);
    for (let i = 0; i < 40 && (await call(routes(key)[1])).status === 401; i++) await sleep(50);
    for (const r of routes(key)) assert.equal((await call(r)).status, 200, r[0]);
  });

  it('a revoked key is refused everywhere, nothing goes upstream', async () => {
    const { key, id } = await create([]);
    for (let i = 0; i < 40 && (await call(routes(key)[1])).status === 401; i++) await sleep(50);
    assert.equal((await keysTool(gw, ['revoke', id])).code, 0);
    for (let i = 0; i < 40 && (await call(routes(key)[1])).status === 200; i++) await sleep(50);
    const before = mock.requests().length;
    for (const r of routes(key)) assertRefused(r[0], await call(r));
    assert.equal(mock.requests().length, before);
  });

  it('an expired key is refused everywhere', async () => {
    const { key, id } = await create([]);
    for (let i = 0; i < 40 && (await call(routes(key)[1])).status === 401; i++) await sleep(50);
    const at = Math.floor(Date.now() / 1000) + 2;
    assert.equal((await keysTool(gw, ['set', id, '--expires-at', String(at)])).code, 0);
    await sleep(400);
    assert.equal((await call(routes(key)[0])).status, 200, 'not expired yet');
    while (Date.now() / 1000 < at + 0.2) await sleep(100);
    const before = mock.requests().length;
    for (const r of routes(key)) assertRefused(r[0], await call(r));
    assert.equal(mock.requests().length, before);
    const listed = (await keysTool(gw, ['list'])).stdout;
    assert.match(listed.split('\n').find((l) => l.startsWith(id)), /expired/);
  });

  it('expiries decades away are kept whole, and a refused create leaves no key', async () => {
    const far = await create(['--expires-days', '36500']);
    assert.equal((await call(routes(far.key)[1])).status, 200, 'a key for 100 years is live');
    const at = await create(['--expires-at', '4102444800']);
    assert.equal((await call(routes(at.key)[1])).status, 200, 'a key expiring in 2100 is live');
    const before = (await keysTool(gw, ['list'])).stdout.split('\n').length;
    const bad = await keysTool(gw, ['create', '--name', 'never', '--models', 'm,'.repeat(4000)]);
    assert.equal(bad.code, 2);
    assert.equal((await keysTool(gw, ['list'])).stdout.split('\n').length, before, 'no key made');
  });
});
