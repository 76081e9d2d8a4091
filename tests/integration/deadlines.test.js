// The gateway's limits on an upstream answer that keeps coming: the whole
// response head (head_timeout_ms), a whole non-stream answer
// (total_timeout_ms), a stream's duration (stream_max_s) and size
// (stream_max_bytes). An upstream dripping its head or body a byte at a
// time never goes quiet for idle_timeout_ms, so only these end it: 504 in
// the caller's dialect before anything reached the client (no retry, the
// key not blamed), an error event and a usage record mid-stream.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-deadlines-0123456789abcdef';
const KEYS = {
  OPENAI_API_KEY: 'sk-oa-SECRET-d1',                       // one key: a blamed key would be gone
  ANTHROPIC_API_KEY: 'sk-ant-SECRET-d3',
  GEMINI_API_KEY: 'gm-SECRET-d4',
  DEEPSEEK_API_KEY: 'sk-ds-SECRET-d2a,sk-ds-SECRET-d2b',   // two: a retry would show
};
const ALL_SECRETS = Object.values(KEYS).flatMap((v) => v.split(','));
const MAX_BYTES = 65536;

let mock;
let gw;
const post = (p, body, timeoutMs = 20000) =>
  request('POST', `${gw.url}${p}`, { headers: bearer(GW_KEY), body, timeoutMs });
const sse = (p, body) => stream(`${gw.url}${p}`, { headers: bearer(GW_KEY), body, timeoutMs: 20000 });

// The usage record of one request, from the spool (bounded wait).
async function recordOf(id) {
  const dir = path.join(gw.stateDir, 'spool');
  let found = null;
  await waitFor(() => {
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('seg-'))) {
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line.includes(id)) continue;
        try { const r = JSON.parse(line); if (r.id === id) found = r; } catch { /* partial line */ }
      }
    }
    return found;
  }, { timeoutMs: 5000 });
  return found;
}

// The gateway dropped its upstream connection(s) (bounded wait).
const upstreamDropped = () => waitFor(() => mock.requests().length > 0 && mock.requests().every((r) => r.closedEarly),
  { timeoutMs: 5000 });

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, ...KEYS },
    conf: buildConf({
      upstream: {
        first_byte_timeout_ms: 5000, idle_timeout_ms: 5000, max_attempts: 3,
        head_timeout_ms: 1500, total_timeout_ms: 2000, stream_max_s: 2, stream_max_bytes: MAX_BYTES,
      },
    }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('before anything reached the client: 504, no retry, the key not blamed', () => {
  it('a head dripped a byte at a time passes head_timeout_ms: 504, the upstream dropped', async () => {
    const res = await post('/v1/chat/completions', chatBody('deepseek/drip-head'));
    assertError(res, 504, { code: 'upstream_timeout' });
    assert.match(res.json.error.message, /head_timeout_ms/);
    assert.equal(mock.requests().length, 1, 'not retried with the other key');
    assert.ok(mock.requests()[0].bytesSent > 0, 'the upstream was dripping');
    assert.ok(await upstreamDropped(), 'the gateway closed the upstream connection');
    const rec = await recordOf(res.headers['x-request-id']);
    assert.ok(rec, 'a usage record');
    assert.equal(rec.status, 504);
  });

  it('a body dripped a few bytes at a time passes total_timeout_ms: 504', async () => {
    const res = await post('/v1/chat/completions', chatBody('openai/drip-body'));
    assertError(res, 504, { code: 'upstream_timeout' });
    assert.match(res.json.error.message, /total_timeout_ms/);
    assert.equal(mock.requests().length, 1);
    assert.ok(await upstreamDropped());
  });

  it('the same single key serves the next request (not cooled down or blocked)', async () => {
    const slow = await post('/v1/chat/completions', chatBody('openai/drip-head'));
    assertError(slow, 504);
    const res = await post('/v1/chat/completions', chatBody('openai/gpt-4o-mini'));
    assert.equal(res.status, 200, res.text);
    const reqs = mock.requests();
    assert.equal(reqs.length, 2);
    assert.equal(reqs[1].headers.authorization, reqs[0].headers.authorization, 'the same key');
    const health = await request('GET', `${gw.url}/health`);
    assert.doesNotMatch(health.text, /blocked":\s*true/);
  });

  it('/v1/messages answers in Anthropic\'s shape', async () => {
    const res = await post('/v1/messages', {
      model: 'openai/drip-head', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(res.status, 504, res.text);
    assert.equal(res.json.type, 'error');
    assert.equal(res.json.error.type, 'api_error');
    assert.match(res.json.error.message, /head_timeout_ms/);
  });

  it('/v1/embeddings: a dripped body is 504', async () => {
    const res = await post('/v1/embeddings', { model: 'openai/drip-body', input: 'hello' });
    assertError(res, 504, { code: 'upstream_timeout' });
    assert.equal(mock.requests().length, 1);
  });

  it('/v1/images/generations: a dripped head is 504', async () => {
    const res = await post('/v1/images/generations', { model: 'openai/drip-head', prompt: 'a cat' });
    assertError(res, 504, { code: 'upstream_timeout' });
  });

  it('passthrough: a dripped head is 504', async () => {
    const res = await post('/api/openai/v1/chat/completions', { model: 'drip-head', messages: [{ role: 'user', content: 'hi' }] });
    assertError(res, 504, { code: 'upstream_timeout' });
    assert.equal(mock.requests().length, 1);
    assert.ok(await upstreamDropped());
  });

  it('passthrough to Anthropic and Gemini: 504 in the provider\'s own shape', async () => {
    const a = await request('POST', `${gw.url}/api/anthropic/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'drip-head', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 20000,
    });
    assert.equal(a.status, 504, a.text);
    assert.equal(a.json.type, 'error');
    assert.equal(a.json.error.type, 'api_error');
    assert.match(a.json.error.message, /head_timeout_ms/);
    const g = await request('POST', `${gw.url}/api/gemini/v1beta/models/drip-head:generateContent`, {
      headers: { 'x-goog-api-key': GW_KEY }, body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, timeoutMs: 20000,
    });
    assert.equal(g.status, 504, g.text);
    assert.equal(g.json.error.code, 504);
    assert.equal(g.json.error.status, 'DEADLINE_EXCEEDED');
    assert.match(g.json.error.message, /head_timeout_ms/);
    assert.equal(mock.requests().length, 2, 'one upstream request each');
  });

  it('a drip that completes within the limits is served', async () => {
    mock.configure({ dripMs: 5, dripBytes: 64 });
    const res = await post('/v1/chat/completions', chatBody('openai/drip-body'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'Hello from openai mock model drip-body');
  });
});

describe('mid-stream: the stream is ended with an error event, usage recorded', () => {
  it('an endless stream ends after stream_max_s', async () => {
    const r = await sse('/v1/chat/completions', chatBody('openai/endless-stream', { stream: true }));
    assert.equal(r.status, 200);
    assert.ok(!(r.error && /not finished within/.test(r.error.message)), 'the stream ends, it does not hang');
    assert.ok(!r.done, 'no [DONE]');
    const content = r.events.filter((e) => e.json && e.json.choices);
    assert.ok(content.length > 3, `events before the limit: ${content.length}`);
    const last = r.events[r.events.length - 1];
    assert.ok(last.json && last.json.error, `ends with an error event: ${last.data}`);
    assert.ok(await upstreamDropped());
    const rec = await recordOf(r.headers['x-request-id']);
    assert.ok(rec, 'a usage record');
    assert.equal(rec.status, 200);
    assert.equal(rec.stream, true);
    assert.ok(rec.completion > 0, `completion tokens: ${rec.completion}`);
    await waitFor(() => /stream_max_s/.test(gw.errorLog()), { timeoutMs: 3000 });
    assert.match(gw.errorLog(), new RegExp(`${r.headers['x-request-id']}.*ended by the gateway's limit.*stream_max_s`));
  });

  it('a stream over stream_max_bytes is ended there', async () => {
    mock.configure({ endlessPad: 4000, endlessMs: 2 });
    const r = await sse('/v1/chat/completions', chatBody('openai/endless-stream', { stream: true }));
    assert.equal(r.status, 200);
    assert.ok(!r.done);
    const last = r.events[r.events.length - 1];
    assert.ok(last.json && last.json.error, 'ends with an error event');
    assert.ok(r.text.length <= MAX_BYTES + 4096, `the client got ${r.text.length} bytes`);
    assert.ok(await upstreamDropped());
    assert.ok(mock.requests()[0].bytesSent > MAX_BYTES, 'the upstream sent more than the limit');
    const rec = await recordOf(r.headers['x-request-id']);
    assert.ok(rec && rec.completion > 0, 'usage recorded');
    assert.match(gw.errorLog(), /stream_max_bytes/);
  });

  it('/v1/messages: an Anthropic error event', async () => {
    const r = await sse('/v1/messages', {
      model: 'openai/endless-stream', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(r.status, 200);
    const last = r.events[r.events.length - 1];
    assert.equal(last.event, 'error', `last event: ${last.event} ${last.data}`);
    assert.equal(last.json.type, 'error');
    assert.ok(await upstreamDropped());
  });

  it('passthrough: an endless stream is cut after stream_max_s', async () => {
    const r = await sse('/api/openai/v1/chat/completions',
      { model: 'endless-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    assert.ok(!(r.error && /not finished within/.test(r.error.message)), 'the stream ends, it does not hang');
    assert.ok(r.events.length > 3);
    assert.ok(!r.done);
    assert.ok(await upstreamDropped());
    const rec = await recordOf(r.headers['x-request-id']);
    assert.ok(rec, 'a usage record');
  });
});

describe('secrets', () => {
  it('no provider key in any answer or in the error log', () => {
    assertNoSecrets(transcript(), ALL_SECRETS, 'an answer');
    assertNoSecrets([gw.errorLog()], [...ALL_SECRETS, GW_KEY], 'the error log');
  });
});
