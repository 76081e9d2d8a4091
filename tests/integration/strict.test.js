// What is checked is what runs: a request body whose members the gateway
// and the upstream could read differently (a member twice, the first and
// last naming different models, at the top or deeper down) is refused with
// 400 in the caller's dialect on every route that reads or forwards JSON,
// before anything goes upstream and before any usage is recorded; model
// names too long for the gateway are refused, never cut. A key allowed
// only the cheap models is used throughout, so that a body that slipped
// through would show as an upstream request or a usage record.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv, keysTool, sleep } = require('../lib/harness.js');
const { request, bearer, transcript } = require('../lib/client.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');
const { buildConf } = require('../lib/conf.js');

const ADMIN_KEY = 'gk-strict-0123456789abcdef';
const KEYS = {
  OPENAI_API_KEY: 'sk-oai-strict-SECRET-1', ANTHROPIC_API_KEY: 'sk-ant-strict-SECRET-1',
  GEMINI_API_KEY: 'gem-strict-SECRET-1',
};
const ALLOWED = 'gpt-4o-mini,claude-haiku-4-5,text-embedding-3-small,dall-e-2,gemini-2.0-flash';
const LONG_MODEL = 'gpt-4o-mini' + 'x'.repeat(10249 - 'gpt-4o-mini'.length);

let mock;
let gw;
let key;     // the cheap-models key
let keyId;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: ADMIN_KEY }, conf: buildConf() });
  const r = await keysTool(gw, ['create', '--name', 'cheap', '--models', ALLOWED]);
  assert.equal(r.code, 0, r.stderr);
  key = r.stdout.trim();
  keyId = /created key (k_[0-9a-f]+)/.exec(r.stderr)[1];
  // the key is in effect once the router has read it (no usage: /v1/models)
  let st = 0;
  for (let i = 0; i < 100 && st !== 200; i++) {
    st = (await request('GET', `${gw.url}/v1/models`, { headers: bearer(key) })).status;
    if (st !== 200) await sleep(50);
  }
  assert.equal(st, 200, 'the new key works');
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

// The usage records of the cheap key so far (open and closed segments).
function recordsOfKey() {
  const dir = path.join(gw.stateDir, 'spool');
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)))
    .filter((r) => r.key_id === keyId);
}

const anthropicHeaders = () => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' });

// Send text as it is (duplicates cannot be written with JSON.stringify).
function send(route, text, headers = bearer(key)) {
  return request('POST', `${gw.url}${route}`, { headers: { ...headers, 'Content-Type': 'application/json' }, body: text });
}

// A refusal: 400, nothing upstream.
async function refused(route, text, headers) {
  const before = mock.requests().length;
  const res = await send(route, text, headers);
  assert.equal(res.status, 400, `${route}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(mock.requests().length, before, `${route}: nothing reached an upstream`);
  return res;
}

function assertAnthropicError(res) {
  assert.equal(res.json.type, 'error', res.text);
  assert.equal(res.json.error.type, 'invalid_request_error', res.text);
  assert.ok(res.json.error.message.length > 0);
}

const msgs = '[{"role":"user","content":"hi"}]';

describe('a member twice: refused in the caller\'s dialect, nothing sent', () => {
  const cases = [
    ['chat', '/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs},"model":"gpt-4o"}`, 'openai'],
    ['chat, the other way round', '/v1/chat/completions', `{"model":"gpt-4o","messages":${msgs},"model":"gpt-4o-mini"}`, 'openai'],
    ['streamed chat', '/v1/chat/completions', `{"model":"gpt-4o-mini","stream":true,"messages":${msgs},"model":"gpt-4o"}`, 'openai'],
    ['chat, twice with an escape', '/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs},"mod\\u0065l":"gpt-4o"}`, 'openai'],
    ['chat, twice in two cases', '/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs},"MODEL":"gpt-4o"}`, 'openai'],
    ['embeddings', '/v1/embeddings', '{"model":"text-embedding-3-small","input":"x","model":"text-embedding-3-large"}', 'openai'],
    ['images', '/v1/images/generations', '{"model":"dall-e-2","prompt":"a cat","model":"gpt-image-1"}', 'openai'],
    ['messages to Anthropic', '/v1/messages', `{"model":"claude-haiku-4-5","max_tokens":20,"messages":${msgs},"model":"claude-opus-4-1"}`, 'anthropic'],
    ['messages to an OpenAI upstream', '/v1/messages', `{"model":"gpt-4o-mini","max_tokens":20,"messages":${msgs},"model":"gpt-4o"}`, 'anthropic'],
    ['passthrough OpenAI', '/api/openai/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs},"model":"gpt-4o"}`, 'openai'],
    ['passthrough Anthropic', '/api/anthropic/v1/messages', `{"model":"claude-haiku-4-5","max_tokens":20,"messages":${msgs},"model":"claude-opus-4-1"}`, 'anthropic'],
    ['nested, inside messages[0]', '/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","role":"system"}]}', 'openai'],
    ['nested, passthrough', '/api/openai/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a","content":"b"}]}', 'openai'],
  ];
  for (const [what, route, text, dialect] of cases) {
    it(what, async () => {
      const h = dialect === 'anthropic' ? anthropicHeaders() : bearer(key);
      const res = await refused(route, text, h);
      if (dialect === 'anthropic') {
        assertAnthropicError(res);
        assert.match(res.json.error.message, /more than once/);
      } else {
        const e = assertError(res, 400, { type: 'invalid_request_error', code: 'duplicate_member' });
        assert.match(e.message, /more than once/);
      }
    });
  }

  it('Gemini passthrough: a body naming another model than the path, in Gemini\'s shape', async () => {
    const res = await refused('/api/gemini/v1beta/models/gemini-2.0-flash:generateContent',
      '{"model":"gemini-2.5-pro","contents":[{"role":"user","parts":[{"text":"hi"}]}]}', { 'x-goog-api-key': key });
    assert.equal(res.json.error.code, 400, res.text);
    assert.equal(res.json.error.status, 'INVALID_ARGUMENT', res.text);
  });

  it('a lone top-level "Model" (which parsers that ignore case would run) is refused', async () => {
    assertError(await refused('/api/openai/v1/chat/completions', `{"Model":"gpt-4o","messages":${msgs}}`), 400,
      { code: 'invalid_member_name' });
    assertError(await refused('/v1/chat/completions', `{"model":"gpt-4o-mini","Stream":true,"messages":${msgs}}`), 400,
      { code: 'invalid_member_name' });
  });

  it('text after the body, and a \\u0000 in a member name, are refused too', async () => {
    assertError(await refused('/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs}} {"model":"gpt-4o"}`), 400,
      { code: 'invalid_json' });
    assertError(await refused('/v1/chat/completions', `{"model\\u0000":"gpt-4o","model":"gpt-4o-mini","messages":${msgs}}`), 400,
      { code: 'invalid_json' });
  });
});

describe('model names too long: refused, not cut', () => {
  it(`chat: ${LONG_MODEL.length} characters`, async () => {
    const e = assertError(await refused('/v1/chat/completions', JSON.stringify({ model: LONG_MODEL, messages: [{ role: 'user', content: 'hi' }] })),
      400, { type: 'invalid_request_error' });
    assert.equal(e.param, 'model');
  });

  it('embeddings', async () => {
    const e = assertError(await refused('/v1/embeddings', JSON.stringify({ model: LONG_MODEL, input: 'x' })), 400);
    assert.equal(e.param, 'model');
  });

  it('messages (Anthropic shape)', async () => {
    assertAnthropicError(await refused('/v1/messages', JSON.stringify({ model: LONG_MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      anthropicHeaders()));
  });

  it('passthrough, in the body', async () => {
    const e = assertError(await refused('/api/openai/v1/chat/completions', JSON.stringify({ model: LONG_MODEL, messages: [{ role: 'user', content: 'hi' }] })),
      400);
    assert.equal(e.param, 'model');
  });

  it('passthrough: a Gemini path naming two models', async () => {
    const res = await refused('/api/gemini/v1beta/models/gemini-2.0-flash/models/gemini-2.5-pro:generateContent',
      '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}', { 'x-goog-api-key': key });
    assert.equal(res.json.error.status, 'INVALID_ARGUMENT', res.text);
  });

  it('passthrough, in Gemini\'s path', async () => {
    const res = await refused(`/api/gemini/v1beta/models/gemini-2.0-flash${'x'.repeat(300)}:generateContent`,
      '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}', { 'x-goog-api-key': key });
    assert.equal(res.json.error.status, 'INVALID_ARGUMENT', res.text);
  });
});

describe('strict bodies are served as before', () => {
  it('no usage was recorded for any refused request; a plain one is served and recorded once', async () => {
    assert.deepEqual(recordsOfKey(), [], 'nothing recorded for the refusals');
    const before = mock.requests().length;
    const res = await send('/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${msgs},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"id":{"type":"string"},"ID":{"type":"string"}}}}}]}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(mock.requests().length, before + 1);
    assert.equal(mock.requests().at(-1).body.model, 'gpt-4o-mini');
    let recs = [];
    for (let i = 0; i < 100 && !recs.length; i++) {
      recs = recordsOfKey();
      if (!recs.length) await sleep(50);
    }
    assert.equal(recs.length, 1, JSON.stringify(recs));
    assert.equal(recs[0].model, 'gpt-4o-mini');
  });

  it('the longest model name the gateway takes (255 bytes) is not cut: an unknown model, 404', async () => {
    const res = await send('/v1/chat/completions', JSON.stringify({ model: 'm'.repeat(255), messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(res.status, 404, res.text);
  });

  it('passthrough: Anthropic, and Gemini with its model in the path', async () => {
    const a = await send('/api/anthropic/v1/messages', `{"model":"claude-haiku-4-5","max_tokens":20,"messages":${msgs}}`, anthropicHeaders());
    assert.equal(a.status, 200, a.text);
    const g = await send('/api/gemini/v1beta/models/gemini-2.0-flash:generateContent',
      '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}', { 'x-goog-api-key': key });
    assert.equal(g.status, 200, g.text);
    assert.equal(mock.requests().at(-1).path, '/gemini/v1beta/models/gemini-2.0-flash:generateContent');
  });

  it('no answer and no log line holds a key', () => {
    assertNoSecrets([...transcript(), gw.errorLog()], [...Object.values(KEYS), ADMIN_KEY, key], 'answers and log');
  });
});
