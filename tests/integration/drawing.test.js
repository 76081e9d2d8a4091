// The drawing trigger ([drawing] enabled, model = Kwai-Kolors/Kolors on
// SiliconFlow): a chat whose last user message starts with "画" or "/draw "
// goes to the image model (the mock answers SiliconFlow's images:[{url}])
// and comes back as a Markdown image in the chat's own format, for
// /v1/chat/completions and /v1/messages, streamed and not; the usage
// record is an image call; an empty prompt and a failing image upstream
// are errors in the caller's dialect with nothing recorded as a chat. With
// drawing off the same message goes to the chat model unchanged.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, bearer, waitFor, joinContent, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');

const KEY = 'gk-drawing-0123456789abc';
const SF_KEY = 'sk-sf-drawing-SECRET-1';
const SECRETS = { SILICONFLOW_API_KEY: SF_KEY, DEEPSEEK_API_KEY: 'sk-ds-drawing-SECRET-1' };
const IMAGE = 'Kwai-Kolors/Kolors';
const URL0 = 'https://example.invalid/img/0.png';

let mock;
let on;
let off;

before(async () => {
  mock = await startMock();
  const env = { ...mockEnv(mock), ...SECRETS, AUTH_KEY: KEY };
  [on, off] = await Promise.all([
    startGateway({ env, conf: `${buildConf()}[drawing]\nenabled = true\nmodel = ${IMAGE}\n` }),
    startGateway({ env, conf: `${buildConf()}[drawing]\nenabled = false\nmodel = ${IMAGE}\n` }),
  ]);
});

after(async () => {
  for (const gw of [on, off]) if (gw) await gw.stop();
  if (mock) await mock.close();
});

function spoolRecords(gw) {
  const dir = path.join(gw.stateDir, 'spool');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}
async function recordOf(gw, id) {
  const rec = await waitFor(() => spoolRecords(gw).find((r) => r.id === id), { timeoutMs: 10000 });
  assert.ok(rec, `no usage record for ${id}`);
  return rec;
}

const chat = (gw, content, extra = {}) => request('POST', `${gw.url}/v1/chat/completions`, {
  headers: bearer(KEY), body: { model: 'deepseek-chat', messages: [{ role: 'user', content }], ...extra },
});
const messages = (gw, content, extra = {}) => request('POST', `${gw.url}/v1/messages`, {
  headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
  body: { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content }], ...extra },
});
const upstreams = () => mock.requests().filter((q) => !q.path.startsWith('/_mock'));
const lastImage = () => upstreams().filter((q) => q.path.endsWith('/images/generations')).at(-1);

describe('drawing on', () => {
  it('画 on chat completions: a Markdown image, the image model called, an image record', async () => {
    const before = upstreams().length;
    const r = await chat(on, '画 一只戴帽子的猫');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.json.choices[0].message.role, 'assistant');
    assert.equal(r.json.choices[0].message.content, `![一只戴帽子的猫](${URL0})`);
    assert.equal(r.json.choices[0].finish_reason, 'stop');
    assert.equal(upstreams().length, before + 1, 'one upstream call, no chat');
    const up = lastImage();
    assert.equal(up.path, '/siliconflow/v1/images/generations');
    assert.deepEqual(up.body, { model: IMAGE, prompt: '一只戴帽子的猫' });
    const rec = await recordOf(on, r.headers['x-request-id']);
    assert.equal(rec.endpoint, 'images');
    assert.equal(rec.model, IMAGE);
    assert.equal(rec.status, 200);
  });

  it('/draw streamed: one content chunk, the finish and the usage chunk', async () => {
    const s = await stream(`${on.url}/v1/chat/completions`, {
      headers: bearer(KEY), body: { model: 'deepseek-chat', stream: true, messages: [{ role: 'user', content: '/draw a red fox' }] },
    });
    assert.equal(s.status, 200);
    assert.ok(s.done);
    const chunks = s.events.filter((e) => e.json);
    assert.equal(chunks.filter((e) => e.json.choices.length && e.json.choices[0].delta.content).length, 1);
    assert.equal(joinContent(s.events), `![a red fox](${URL0})`);
    assert.ok(chunks.some((e) => e.json.choices.length && e.json.choices[0].finish_reason === 'stop'));
    assert.ok(chunks.at(-1).json.usage, 'the usage chunk last');
    assert.equal(lastImage().body.prompt, 'a red fox');
    const rec = await recordOf(on, s.headers['x-request-id']);
    assert.equal(rec.endpoint, 'images');
    assert.equal(rec.stream, true);
  });

  it('on /v1/messages: Anthropic\'s message, and its events when streamed', async () => {
    const r = await messages(on, '画：山水');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.type, 'message');
    assert.equal(r.json.role, 'assistant');
    assert.equal(r.json.content[0].text, `![山水](${URL0})`);
    const s = await stream(`${on.url}/v1/messages`, {
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-haiku-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: '画 山水' }] },
    });
    assert.equal(s.status, 200);
    const types = s.events.map((e) => e.event);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    const text = s.events.filter((e) => e.event === 'content_block_delta').map((e) => e.json.delta.text).join('');
    assert.equal(text, `![山水](${URL0})`);
    assert.ok(!upstreams().some((q) => q.path.startsWith('/anthropic/')), 'no chat went upstream');
  });

  it('an empty prompt: 400 in the caller\'s dialect, nothing upstream, nothing recorded', async () => {
    const before = upstreams().length;
    const records = spoolRecords(on).length;
    const r = await chat(on, '画   ');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.code, 'empty_drawing_prompt');
    const m = await messages(on, '/draw');
    assert.equal(m.status, 400);
    assert.equal(m.json.type, 'error');
    assert.equal(m.json.error.type, 'invalid_request_error');
    assert.equal(upstreams().length, before);
    assert.equal(spoolRecords(on).length, records);
  });

  it('a failing image upstream: 502 in the caller\'s dialect, recorded as an image call, not a chat', async () => {
    mock.configure({ keys: { [SF_KEY]: { status: 500, times: 6 } } });
    const r = await chat(on, '画 a storm');
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, 'image_upstream_error');
    const m = await messages(on, '画 a storm');
    assert.equal(m.status, 502, m.text);
    assert.equal(m.json.type, 'error');
    mock.configure({ keys: {} });
    for (const id of [r.headers['x-request-id'], m.headers['x-request-id']]) {
      const rec = await recordOf(on, id);
      assert.equal(rec.endpoint, 'images');
      assert.equal(rec.status, 502);
    }
  });
});

describe('drawing off', () => {
  it('the message goes to the chat model unchanged', async () => {
    const r = await chat(off, '画 一只猫');
    assert.equal(r.status, 200);
    const up = upstreams().at(-1);
    assert.match(up.path, /^\/deepseek\//);
    assert.deepEqual(up.body.messages, [{ role: 'user', content: '画 一只猫' }]);
    const rec = await recordOf(off, r.headers['x-request-id']);
    assert.equal(rec.endpoint, 'chat');
  });

  it('no secret in any answer or log line', () => {
    assertNoSecrets([on.errorLog(), off.errorLog(), ...transcript()], Object.values(SECRETS));
  });
});
