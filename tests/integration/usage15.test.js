// Usage exactness through the OpenAI passthrough's Responses API
// (/api/openai/v1/responses), streamed and not: the record holds exactly
// what the mock upstream reported (response.completed's usage for a
// stream), with the stream flag right in the record and the log line; a
// passed-through chat, Anthropic or Gemini stream says stream=1 too. Requests refused before
// any upstream (bad JSON, unknown route, wrong method, bad key) each leave
// one log line with method, route, status and reason, and no secret.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-usage15-0123456789abcdef';
const BAD_KEY = 'gk-wrong-SECRET-0123456789';
const KEYS = {
  OPENAI_API_KEY: 'sk-oai-usage15-SECRET-1', DEEPSEEK_API_KEY: 'sk-ds-usage15-SECRET-1',
  ANTHROPIC_API_KEY: 'sk-ant-usage15-SECRET-1', GEMINI_API_KEY: 'gem-usage15-SECRET-1',
};

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

function spoolRecords() {
  const dir = path.join(gw.stateDir, 'spool');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

// The usage record of request id, once written (bounded wait).
async function recordOf(id) {
  const rec = await waitFor(() => spoolRecords().find((r) => r.id === id), { timeoutMs: 10000 });
  assert.ok(rec, `no usage record for ${id}`);
  return rec;
}

// The router's log lines naming request id (bounded wait for at least one).
async function logLinesOf(id) {
  await waitFor(() => gw.errorLog().includes(id), { timeoutMs: 10000 });
  return gw.errorLog().split('\n').filter((l) => l.includes(id));
}

function assertNoSecret(text) {
  for (const k of [...Object.values(KEYS), GW_KEY, BAD_KEY]) assert.ok(!text.includes(k), 'a secret in the log');
  assert.ok(!/authorization/i.test(text), 'an Authorization header in the log');
}

// Request id's record and its one log line hold exactly the Responses
// usage u, and no secret.
async function assertRecordedExactly(id, u, streamed) {
  const rec = await recordOf(id);
  const lines = (await logLinesOf(id)).filter((l) => / passthrough /.test(l));
  assert.equal(lines.length, 1, lines.join('\n'));
  const line = lines[0];
  assert.equal(rec.endpoint, 'passthrough');
  assert.equal(rec.provider, 'openai');
  assert.equal(rec.status, 200);
  assert.equal(rec.estimated, false);
  assert.deepEqual({ prompt: rec.prompt, completion: rec.completion, cached: rec.cached, reasoning: rec.reasoning },
    { prompt: u.input_tokens, completion: u.output_tokens, cached: u.input_tokens_details.cached_tokens,
      reasoning: u.output_tokens_details.reasoning_tokens });
  assert.equal(rec.stream, streamed);
  assert.match(line, new RegExp(` stream=${streamed ? 1 : 0} prompt=${u.input_tokens} completion=${u.output_tokens} ` +
    `cached=${u.input_tokens_details.cached_tokens} reasoning=${u.output_tokens_details.reasoning_tokens} cost=`));
  assertNoSecret(gw.errorLog() + JSON.stringify(rec));
}

describe('the Responses API through /api/openai', () => {
  it('a non-streamed call is recorded with exactly the reported usage, stream=0', async () => {
    const body = { model: 'gpt-4o', input: 'Say hello to the accounting tests', instructions: 'Be brief.' };
    const r = await request('POST', `${gw.url}/api/openai/v1/responses`, { headers: bearer(GW_KEY), body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'response');
    const up = mock.requests().at(-1);
    assert.equal(up.path, '/openai/v1/responses');
    assert.equal(up.headers.authorization, `Bearer ${KEYS.OPENAI_API_KEY}`);
    assert.deepEqual(r.json.usage, up.usageReported);
    await assertRecordedExactly(r.headers['x-request-id'], up.usageReported, false);
  });

  it('a streamed call is read from response.completed exactly, stream=1', async () => {
    const body = { model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream to me, please' }] }], stream: true };
    const r = await stream(`${gw.url}/api/openai/v1/responses`, { headers: bearer(GW_KEY), body });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.complete, 'the stream ended normally');
    const types = r.events.map((e) => e.json && e.json.type);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.includes('response.output_text.delta'));
    assert.deepEqual(r.events.map((e) => e.event), types, 'each event named by its type');
    const up = mock.requests().at(-1);
    assert.equal(up.body.stream, true);
    assert.deepEqual(r.events.at(-1).json.response.usage, up.usageReported);
    await assertRecordedExactly(r.headers['x-request-id'], up.usageReported, true);
  });

  it('a passed-through chat stream is recorded and logged as stream=1', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'stream a chat' }], stream: true, stream_options: { include_usage: true } };
    const r = await stream(`${gw.url}/api/openai/v1/chat/completions`, { headers: bearer(GW_KEY), body });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.done);
    const up = mock.requests().at(-1).usageReported;
    const id = r.headers['x-request-id'];
    const rec = await recordOf(id);
    assert.equal(rec.stream, true);
    assert.equal(rec.estimated, false);
    assert.equal(rec.prompt, up.prompt_tokens);
    assert.equal(rec.completion, up.completion_tokens);
    const lines = (await logLinesOf(id)).filter((l) => / passthrough /.test(l));
    assert.equal(lines.length, 1);
    assert.match(lines[0], / stream=1 /);
  });
});

describe('other dialects\' passthrough streams', () => {
  it('an Anthropic stream through /api/anthropic: the events\' usage, stream=1', async () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'stream through' }] };
    const r = await stream(`${gw.url}/api/anthropic/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' }, body,
    });
    assert.equal(r.status, 200, r.text);
    const start = r.events.find((e) => e.event === 'message_start').json.message.usage;
    const delta = r.events.filter((e) => e.event === 'message_delta').at(-1).json.usage;
    const rec = await recordOf(r.headers['x-request-id']);
    assert.equal(rec.stream, true);
    assert.equal(rec.estimated, false);
    assert.equal(rec.prompt, start.input_tokens + start.cache_read_input_tokens + start.cache_creation_input_tokens);
    assert.equal(rec.completion, delta.output_tokens);
    const lines = (await logLinesOf(r.headers['x-request-id'])).filter((l) => / passthrough /.test(l));
    assert.match(lines[0], / stream=1 /);
  });

  it('a Gemini stream through /api/google-ai-studio: usageMetadata, stream=1', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'stream through' }] }] };
    const r = await stream(`${gw.url}/api/google-ai-studio/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      headers: { 'x-goog-api-key': GW_KEY }, body,
    });
    assert.equal(r.status, 200, r.text);
    const um = r.events.filter((e) => e.json && e.json.usageMetadata).at(-1).json.usageMetadata;
    const rec = await recordOf(r.headers['x-request-id']);
    assert.equal(rec.stream, true);
    assert.equal(rec.estimated, false);
    assert.equal(rec.prompt, um.promptTokenCount);
    assert.equal(rec.completion, (um.candidatesTokenCount || 0) + (um.thoughtsTokenCount || 0));
    const lines = (await logLinesOf(r.headers['x-request-id'])).filter((l) => / passthrough /.test(l));
    assert.match(lines[0], / stream=1 /);
  });
});

describe('refused requests leave one log line', () => {
  const cases = [
    { name: 'bad JSON', status: 400, route: 'chat/completions', method: 'POST', reason: /^invalid_json$/,
      send: () => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: '{"model": "deepseek-chat", "messages": [' }) },
    { name: 'unknown route', status: 404, route: '/v1/nothing-here/*', method: 'GET', reason: /^unknown_url$/,
      send: () => request('GET', `${gw.url}/v1/nothing-here/sk-0123456789abcdefghijklmnop`, { headers: bearer(GW_KEY) }) },
    { name: 'wrong method', status: 405, route: 'chat/completions', method: 'GET', reason: /^method_not_allowed$/,
      send: () => request('GET', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY) }) },
    { name: 'bad key', status: 401, route: 'chat/completions', method: 'POST', reason: /^invalid_api_key$/,
      send: () => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(BAD_KEY), body: { model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }] } }) },
    { name: 'bad key on the passthrough', status: 401, route: 'api/openai', method: 'POST', reason: /^invalid_api_key$/,
      send: () => request('POST', `${gw.url}/api/openai/v1/responses`, { headers: bearer(BAD_KEY), body: { model: 'gpt-4o', input: 'hi' } }) },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status}, logged with method, route, status and reason`, async () => {
      const before = mock.requests().length;
      const r = await c.send();
      assert.equal(r.status, c.status, r.text);
      const id = r.headers['x-request-id'];
      assert.ok(id);
      const lines = await logLinesOf(id);
      assert.equal(lines.length, 1, lines.join('\n'));
      const m = / refused (\S+) (\S+) status=(\d+) reason=(\S+)$/.exec(lines[0]);
      assert.ok(m, lines[0]);
      assert.equal(m[1], c.method);
      assert.equal(m[2], c.route);
      assert.equal(Number(m[3]), c.status);
      assert.match(m[4], c.reason);
      assert.equal(mock.requests().length, before, 'nothing sent upstream');
      assert.ok(!spoolRecords().some((rec) => rec.id === id), 'no usage record');
      assertNoSecret(lines[0]);
      assert.ok(!lines[0].includes('0123456789abcdefghijklmnop'), 'a key-like path segment is masked');
    });
  }
});
