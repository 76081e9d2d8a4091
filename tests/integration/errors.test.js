// Error answers: malformed requests, wrong methods, size cap, upstream
// errors passed through (scrubbed), upstream failures and timeouts.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const http = require('node:http');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-errors-0123456789abcdef';
const MAX_BODY = 4096;
const KEYS = {
  DEEPSEEK_API_KEY: 'sk-ds-SECRET-e1',
  OPENAI_API_KEY: 'sk-oa-SECRET-e2',
  // one key answers 400 with the key in its message, the other 401
  MOONSHOT_API_KEY: 'sk-ms-SECRET-e3',
  ZAI_API_KEY: 'zai-SECRET-e4',
  SILICONFLOW_API_KEY: 'sk-sf-SECRET-e5a,sk-sf-SECRET-e5b,sk-sf-SECRET-e5c',
};
const ALL_SECRETS = Object.values(KEYS).flatMap((v) => v.split(','));

let mock;
let gw;
const url = () => `${gw.url}/v1/chat/completions`;
const post = (body, headers = bearer(GW_KEY)) => request('POST', url(), { headers, body });

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, ...KEYS },
    conf: buildConf({
      server: { max_body: MAX_BODY },
      upstream: { first_byte_timeout_ms: 800, idle_timeout_ms: 600, max_attempts: 2 },
    }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('malformed requests are 400 invalid_request_error', () => {
  const cases = [
    ['malformed JSON', '{"model": "deepseek-chat", "messages": ['],
    ['not an object', '[1, 2, 3]'],
    ['empty body', ''],
    ['missing model', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })],
    ['missing messages', JSON.stringify({ model: 'deepseek-chat' })],
    ['model not a string', JSON.stringify({ model: 42, messages: [{ role: 'user', content: 'hi' }] })],
    ['messages not an array', JSON.stringify({ model: 'deepseek-chat', messages: 'hi' })],
  ];
  for (const [name, raw] of cases) {
    it(name, async () => {
      const res = await post(raw);
      assertError(res, 400, { type: 'invalid_request_error' });
      assert.equal(mock.requests().length, 0, 'nothing sent upstream');
    });
  }
});

describe('methods and routes', () => {
  it('GET /v1/chat/completions is 405', async () => {
    const res = await request('GET', url(), { headers: bearer(GW_KEY) });
    assertError(res, 405);
  });

  it('POST /v1/models is 405', async () => {
    const res = await request('POST', `${gw.url}/v1/models`, { headers: bearer(GW_KEY), body: {} });
    assertError(res, 405);
  });

  it('an unknown route is a JSON 404, not HTML', async () => {
    const res = await request('GET', `${gw.url}/v1/no-such-route`, { headers: bearer(GW_KEY) });
    assertError(res, 404);
  });
});

// POSTs `body` with Transfer-Encoding: chunked, in pieces of `piece` bytes.
function postChunked(body, piece = 1000) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${GW_KEY}`, 'Transfer-Encoding': 'chunked' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        clearTimeout(timer);
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error('chunked POST timed out')), 10000);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    for (let i = 0; i < body.length; i += piece) req.write(body.slice(i, i + piece));
    req.end();
  });
}

describe('[server] max_body', () => {
  it('a chunked request body (no Content-Length) is read whole', async () => {
    const body = JSON.stringify(chatBody('deepseek-chat', { messages: [{ role: 'user', content: 'z'.repeat(2500) }] }));
    const res = await postChunked(body, 700);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(mock.requests()[0].raw.length > 2500, true);
    assert.deepEqual(mock.requests()[0].body, JSON.parse(body));
  });

  it('a chunked body over the cap is 413', async () => {
    const body = JSON.stringify(chatBody('deepseek-chat', { messages: [{ role: 'user', content: 'z'.repeat(MAX_BODY * 2) }] }));
    const res = await postChunked(body, 1000);
    assertError(res, 413);
    assert.equal(mock.requests().length, 0);
  });

  it('a body over the cap is 413 and is not forwarded', async () => {
    const big = chatBody('deepseek-chat', { messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY + 100) }] });
    const res = await post(big);
    assertError(res, 413);
    assert.equal(mock.requests().length, 0);
  });

  it('a body just under the cap is served', async () => {
    const filler = 'y'.repeat(MAX_BODY - 200);
    const body = chatBody('deepseek-chat', { messages: [{ role: 'user', content: filler }] });
    assert.ok(Buffer.byteLength(JSON.stringify(body)) < MAX_BODY);
    const res = await post(body);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(mock.requests()[0].body.messages[0].content, filler);
  });
});

describe('upstream errors', () => {
  it('an upstream 400 is passed with its status and body', async () => {
    const res = await post(chatBody('openai/error-400'));
    const e = assertError(res, 400, { type: 'invalid_request_error', code: 'invalid_value' });
    assert.equal(e.param, 'temperature');
    assert.equal(e.message, "Invalid value for 'temperature': expected a number between 0 and 2 (mock error-400).");
    assert.equal(mock.requests().length, 1, 'a 4xx is not retried');
  });

  it('an upstream 4xx that names the key is passed scrubbed', async () => {
    mock.configure({ keys: { [KEYS.MOONSHOT_API_KEY]: { status: 400, message: 'Bad request made with key {key}; fix it.' } } });
    const res = await post(chatBody('kimi-k2.5'));
    assertError(res, 400);
    assert.ok(!res.text.includes(KEYS.MOONSHOT_API_KEY), `key leaked: ${res.text}`);
    assert.equal(mock.requests()[0].headers.authorization, `Bearer ${KEYS.MOONSHOT_API_KEY}`, 'the mock did see the key');
  });

  it('an upstream 401 naming the key: never passed on with the key; the only key is then blocked', async () => {
    mock.configure({ keys: { [KEYS.ZAI_API_KEY]: { status: 401 } } });
    const res = await post(chatBody('glm-5'));
    assert.notEqual(res.status, 200);
    assertError(res, res.status);
    assert.ok(!res.text.includes(KEYS.ZAI_API_KEY), `key leaked: ${res.text}`);
    assert.ok([502, 503].includes(res.status),
      `no usable upstream key left should be a gateway-side 502/503, not ${res.status} (a 401 would blame the client's own key)`);
    assert.equal(mock.requests().length, 1);
    // The key is blocked: the next request does not reach the upstream.
    const again = await post(chatBody('glm-5'));
    assert.notEqual(again.status, 200);
    assertError(again, again.status);
    assert.equal(mock.requests().length, 1, 'a blocked key is not used again');
    const h = await request('GET', `${gw.url}/health`);
    const zai = h.json.providers.find((p) => p.name === 'zai');
    assert.equal(zai.keys[0].state, 'blocked');
    assert.equal(zai.available, 0);
  });

  it('5xx on every try is 502 after at most max_attempts upstream requests', async () => {
    const res = await post(chatBody('siliconflow/error-500'));
    assertError(res, 502);
    const reqs = mock.requests();
    assert.equal(reqs.length, 2, 'max_attempts = 2');
    assert.notEqual(reqs[0].headers.authorization, reqs[1].headers.authorization, 'the retry uses another key');
  });

  it('a 200 with a non-JSON body is 502', async () => {
    const res = await post(chatBody('deepseek/garbage'));
    assertError(res, 502);
    assert.ok(!res.text.includes('not json at all'), 'the garbage itself is not passed on');
  });

  it('no first byte within first_byte_timeout_ms is 504, and the upstream request is dropped', async () => {
    const started = Date.now();
    const res = await post(chatBody('openai/hang'));
    assertError(res, 504);
    assert.ok(Date.now() - started < 8000, 'timed out in bounded time');
    const reqs = mock.requests();
    assert.ok(reqs.length >= 1 && reqs.length <= 2, `attempts: ${reqs.length}`);
    const closed = await waitFor(() => mock.requests().every((r) => r.closedEarly), { timeoutMs: 3000 });
    assert.ok(closed, 'the gateway closed its upstream connections');
  });

  it('silence longer than idle_timeout_ms inside a stream ends it without [DONE]', async () => {
    mock.configure({ trickleEvents: 4, trickleMs: 2000 });
    const r = await stream(`${gw.url}/v1/chat/completions`, {
      headers: bearer(GW_KEY), body: chatBody('openai/trickle', { stream: true }), timeoutMs: 7000,
    });
    assert.equal(r.status, 200);
    assert.ok(!(r.error && /not finished within/.test(r.error.message)), 'the stream ends, it does not hang');
    assert.ok(!r.done, 'no [DONE] after an idle timeout');
    assert.ok(joinContent(r.events).length < 'Hello from openai mock'.length, `got: ${joinContent(r.events)}`);
    const up = await waitFor(() => mock.requests().find((x) => x.closedEarly), { timeoutMs: 3000 });
    assert.ok(up, 'the upstream connection is dropped');
  });

  it('a slow first byte inside the limit is served', async () => {
    mock.configure({ delayMs: 300 });
    const res = await post(chatBody('openai/slow-first-byte'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'Hello from openai mock model slow-first-byte');
    assert.equal(mock.requests().length, 1);
  });
});

describe('secrets', () => {
  it('no provider key in any answer or in the error log', () => {
    assertNoSecrets(transcript(), ALL_SECRETS, 'an answer');
    assertNoSecrets([gw.errorLog()], [...ALL_SECRETS, GW_KEY], 'the error log');
  });
});
