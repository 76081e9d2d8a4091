// The drop-in routes of the key-rotating deployments llmgate replaces:
// /api/compat/chat/completions (the /v1 chat front-end, "provider/model"
// names such as google-ai-studio/gemini-2.0-flash) and /api/compat/models,
// at the root and under a mount prefix, with Chinese text byte for byte
// both ways, plain and streamed, and with the official OpenAI SDK.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, joinContent, waitFor, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const OpenAI = require('openai');

const GW_KEY = 'gk-compat-0123456789abcdef';
const KEYS = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-compat', GEMINI_API_KEY: 'gem-SECRET-compat' };
const QUESTION = '你好，请用中文介绍一下长城。🙂';
const ANSWER = '长城是中国古代的军事防御工程，全长两万多公里。😀';
const GEMINI = 'google-ai-studio/gemini-2.0-flash';
const DEEPSEEK = 'deepseek/deepseek-chat';

let mock;
let gw;
const answers = [];   // every answer, for the secret scan
const ids = {};       // request id -> { provider, upstream usage }

function body(model, extra = {}) {
  return { model, messages: [{ role: 'user', content: QUESTION }], ...extra };
}

function chat(base, model, extra) {
  return request('POST', `${base}/api/compat/chat/completions`, { headers: bearer(GW_KEY), body: body(model, extra) });
}

function sse(base, model, extra) {
  return stream(`${base}/api/compat/chat/completions`, { headers: bearer(GW_KEY), body: body(model, { stream: true, ...extra }) });
}

// The last upstream request; its question must be the client's, byte for byte.
function upstreamAsked(pathRe) {
  const reqs = mock.requests();
  assert.equal(reqs.length, 1, 'one upstream request');
  const up = reqs[0];
  assert.match(up.path, pathRe);
  assert.ok(up.raw.includes(QUESTION), 'the question reaches the upstream as raw UTF-8');
  return up;
}

function spoolRecords() {
  const dir = path.join(gw.stateDir, 'spool');
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY },
    conf: buildConf({ providers: { gemini: { models: 'gemini-2.0-flash' } } }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => {
  mock.reset();
  mock.configure({ answer: ANSWER });
});

describe('/api/compat/chat/completions', () => {
  it('google-ai-studio/gemini-2.0-flash, plain: translated to Gemini, Chinese both ways', async () => {
    const res = await chat(gw.base, GEMINI);
    answers.push(res.text);
    assert.equal(res.status, 200, res.text);
    const content = res.json.choices[0].message.content;
    assert.ok(Buffer.from(content, 'utf8').equals(Buffer.from(ANSWER, 'utf8')), content);
    assert.ok(res.text.includes(ANSWER) || res.text.includes(JSON.stringify(ANSWER).slice(1, -1)));
    const up = upstreamAsked(/^\/gemini\/v1beta\/models\/gemini-2\.0-flash:generateContent/);
    assert.equal(up.body.contents[0].parts[0].text, QUESTION);
    assert.equal(up.headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
    ids[res.headers['x-request-id']] = { provider: 'gemini', model: GEMINI, stream: false, usage: res.json.usage };
  });

  it('google-ai-studio/gemini-2.0-flash, streamed', async () => {
    const s = await sse(gw.base, GEMINI, { stream_options: { include_usage: true } });
    answers.push(s.text);
    assert.equal(s.status, 200, s.text);
    assert.ok(s.done, 'ends with [DONE]');
    const text = joinContent(s.events);
    assert.ok(Buffer.from(text, 'utf8').equals(Buffer.from(ANSWER, 'utf8')), text);
    assert.ok(s.events.filter((e) => e.json && e.json.choices && e.json.choices[0] && e.json.choices[0].delta.content).length > 5,
      'the answer comes in many events');
    const up = upstreamAsked(/^\/gemini\/v1beta\/models\/gemini-2\.0-flash:streamGenerateContent/);
    assert.equal(up.body.contents[0].parts[0].text, QUESTION);
    const last = s.events.filter((e) => e.json && e.json.usage).pop();
    assert.ok(last, 'include_usage honoured');
    ids[s.headers['x-request-id']] = { provider: 'gemini', model: GEMINI, stream: true, usage: last.json.usage };
  });

  it('deepseek/deepseek-chat, plain and streamed', async () => {
    const res = await chat(gw.base, DEEPSEEK);
    answers.push(res.text);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, ANSWER);
    let up = upstreamAsked(/^\/deepseek\/chat\/completions$/);
    assert.equal(up.body.model, 'deepseek-chat', 'the provider part is not sent upstream');
    assert.equal(up.body.messages[0].content, QUESTION);
    assert.equal(up.headers.authorization, `Bearer ${KEYS.DEEPSEEK_API_KEY}`);
    ids[res.headers['x-request-id']] = { provider: 'deepseek', model: DEEPSEEK, stream: false, usage: res.json.usage };
    assert.ok(res.json.usage.prompt_tokens > 0);

    mock.reset();
    mock.configure({ answer: ANSWER });
    const s = await sse(gw.base, DEEPSEEK, { stream_options: { include_usage: true } });
    answers.push(s.text);
    assert.equal(s.status, 200, s.text);
    assert.ok(s.done);
    assert.equal(joinContent(s.events), ANSWER);
    up = upstreamAsked(/^\/deepseek\/chat\/completions$/);
    assert.equal(up.body.messages[0].content, QUESTION);
    const last = s.events.filter((e) => e.json && e.json.usage).pop();
    assert.ok(last, 'include_usage honoured');
    ids[s.headers['x-request-id']] = { provider: 'deepseek', model: DEEPSEEK, stream: true, usage: last.json.usage };
  });

  it('bad input is refused in OpenAI shape, nothing upstream', async () => {
    const unknown = await chat(gw.base, 'no-such-provider/some-model');
    assertError(unknown, 404, { code: 'model_not_found' });
    const get = await request('GET', `${gw.base}/api/compat/chat/completions`, { headers: bearer(GW_KEY) });
    assertError(get, 405);
    const noKey = await request('POST', `${gw.base}/api/compat/chat/completions`, { body: body(DEEPSEEK) });
    assertError(noKey, 401);
    const other = await request('POST', `${gw.base}/api/compat/embeddings`, { headers: bearer(GW_KEY), body: { model: DEEPSEEK, input: 'x' } });
    assertError(other, 404);
    const deeper = await request('POST', `${gw.base}/api/compat/chat/completions/x`, { headers: bearer(GW_KEY), body: body(DEEPSEEK) });
    assertError(deeper, 404);
    answers.push(unknown.text, get.text, noKey.text, other.text, deeper.text);
    assert.equal(mock.requests().length, 0);
  });
});

describe('/api/compat/models', () => {
  it('lists provider/model names, then the plain ones', async () => {
    const res = await request('GET', `${gw.base}/api/compat/models`, { headers: bearer(GW_KEY) });
    answers.push(res.text);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.object, 'list');
    const got = res.json.data.map((m) => m.id);
    assert.ok(got.includes(GEMINI), got.join(' '));
    assert.ok(got.includes(DEEPSEEK), got.join(' '));
    assert.ok(got.includes('deepseek-chat'), 'the plain names too');
    assert.ok(got.indexOf(DEEPSEEK) < got.indexOf('deepseek-chat'));
    const g = res.json.data.find((m) => m.id === GEMINI);
    assert.deepEqual(Object.keys(g).sort(), ['created', 'id', 'object', 'owned_by']);
    assert.equal(g.owned_by, 'gemini');
    assert.ok(!got.some((id) => id.startsWith('gemini/')), 'Gemini under its drop-in name only');
    const v1 = await request('GET', `${gw.base}/v1/models`, { headers: bearer(GW_KEY) });
    assert.ok(!v1.json.data.some((m) => m.id === GEMINI), '/v1/models keeps its own names');
  });

  it('one model by its provider/model name', async () => {
    const res = await request('GET', `${gw.base}/api/compat/models/${GEMINI}`, { headers: bearer(GW_KEY) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, GEMINI);
    const none = await request('GET', `${gw.base}/api/compat/models/nobody/none`, { headers: bearer(GW_KEY) });
    assertError(none, 404, { code: 'model_not_found' });
    const noKey = await request('GET', `${gw.base}/api/compat/models`);
    assertError(noKey, 401);
    answers.push(res.text, none.text, noKey.text);
  });
});

describe('the official OpenAI SDK with baseURL .../api/compat', () => {
  it('chat, streaming and models', async () => {
    const client = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.base}/api/compat`, maxRetries: 0, timeout: 10000 });
    const c = await client.chat.completions.create(body(GEMINI));
    assert.equal(c.choices[0].message.content, ANSWER);
    let text = '';
    const s = await client.chat.completions.create(body(DEEPSEEK, { stream: true }));
    for await (const chunk of s) text += (chunk.choices[0] && chunk.choices[0].delta.content) || '';
    assert.equal(text, ANSWER);
    const list = [];
    for await (const m of client.models.list()) list.push(m.id);
    assert.ok(list.includes(GEMINI) && list.includes(DEEPSEEK));
    await assert.rejects(client.chat.completions.create(body('nobody/none')), (e) => e instanceof OpenAI.NotFoundError);
  });
});

describe('under a mount prefix', () => {
  it('mounted at /api/: /api/compat/... as at the root; /v1 still works', async () => {
    const m2 = await startMock();
    const g2 = await startGateway({ env: { ...mockEnv(m2), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf(), mount: '/api/' });
    try {
      m2.configure({ answer: ANSWER });
      assert.ok(g2.url.endsWith('/api'), g2.url);
      const res = await request('POST', `${g2.url}/compat/chat/completions`, { headers: bearer(GW_KEY), body: body(GEMINI) });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, ANSWER);
      const s = await stream(`${g2.url}/compat/chat/completions`, { headers: bearer(GW_KEY), body: body(DEEPSEEK, { stream: true }) });
      assert.equal(joinContent(s.events), ANSWER);
      const models = await request('GET', `${g2.url}/compat/models`, { headers: bearer(GW_KEY) });
      assert.ok(models.json.data.some((m) => m.id === DEEPSEEK), models.text);
      const v1 = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: body('deepseek-chat') });
      assert.equal(v1.status, 200, v1.text);
      const pass = await request('POST', `${g2.url}/deepseek/chat/completions`, { headers: bearer(GW_KEY), body: body('deepseek-chat') });
      assert.equal(pass.status, 200, 'passthrough beside the compat routes');
      assert.equal(m2.requests().length, 4);
      assertNoSecrets([res.text, s.text, models.text, g2.errorLog()], [...Object.values(KEYS), GW_KEY]);
    } finally {
      await g2.stop();
      await m2.close();
    }
  });
});

describe('usage', () => {
  it('recorded as for /v1/chat/completions (endpoint "chat"), with the upstream usage', async () => {
    const want = Object.keys(ids);
    assert.equal(want.length, 4);
    const recs = await waitFor(() => {
      const all = spoolRecords();
      return want.every((id) => all.some((r) => r.id === id)) && all;
    }, { timeoutMs: 10000 });
    assert.ok(recs, 'a record for every request');
    for (const id of want) {
      const r = recs.find((x) => x.id === id);
      const w = ids[id];
      assert.equal(r.endpoint, 'chat', JSON.stringify(r));
      assert.equal(r.provider, w.provider);
      assert.equal(r.model, w.model, 'the model as asked, as on /v1');
      assert.equal(r.upstream_model, w.model.split('/')[1]);
      assert.equal(r.status, 200);
      assert.equal(!!r.stream, w.stream, JSON.stringify(r));
      assert.ok(r.prompt > 0 && r.completion > 0 && !r.estimated, JSON.stringify(r));
      assert.equal(r.prompt, w.usage.prompt_tokens, JSON.stringify(r));
      assert.equal(r.completion, w.usage.completion_tokens, JSON.stringify(r));
    }
    assertNoSecrets([...answers, JSON.stringify(recs), gw.errorLog()], [...Object.values(KEYS), GW_KEY]);
  });
});
