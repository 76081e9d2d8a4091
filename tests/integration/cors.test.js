// CORS: the gateway called with fetch from pages of other origins in
// headless Chromium (one origin listed in CORS_ORIGINS, one not), plain and
// streamed; the preflight and the headers of answers, errors included, as
// sent; a refused origin gets no CORS header at all.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM=path) and npm
// playwright-core for the browser part; without them that part is skipped.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { CHROMIUM, CHROME_ARGS, playwright, browserSkip } = require('../lib/browser.js');

const GW_KEY = 'gk-cors-0123456789abcdef';

let skipBrowser = browserSkip;

// A page server on an ephemeral port of its own: another origin.
function startSite() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>cors test</title><p>page');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => server.close(r)),
  })));
}

let mock;
let gw;
let allowed;
let refused;

before(async () => {
  mock = await startMock();
  [allowed, refused] = await Promise.all([startSite(), startSite()]);
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-cors', CORS_ORIGINS: `https://other.example, ${allowed.origin}` },
    conf: buildConf({}),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
  if (allowed) await allowed.close();
  if (refused) await refused.close();
});

const chat = () => `${gw.url}/v1/chat/completions`;
const preflight = (origin, url = chat()) => request('OPTIONS', url, {
  headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type, x-stainless-os' },
});

describe('CORS headers as sent', () => {
  it('answers a preflight from an allowed origin on every API route', async () => {
    for (const p of ['/v1/chat/completions', '/v1/messages', '/v1/responses', '/v1/models', '/api/deepseek/chat/completions', '/health', '/mcp']) {
      const r = await preflight(allowed.origin, gw.url + p);
      assert.equal(r.status, 204, `${p}: ${r.text}`);
      assert.equal(r.headers['access-control-allow-origin'], allowed.origin, p);
      assert.match(r.headers['access-control-allow-methods'], /OPTIONS/, p);
      for (const h of ['Authorization', 'x-api-key', 'x-goog-api-key', 'Content-Type', 'anthropic-version', 'anthropic-beta', 'openai-beta', 'Mcp-Session-Id', 'x-stainless-os']) {
        assert.match(r.headers['access-control-allow-headers'], new RegExp(`(^|, )${h}(,|$)`, 'i'), `${p}: ${h}`);
      }
      assert.equal(r.headers['access-control-max-age'], '600');
      assert.equal(r.headers.vary, 'Origin');
    }
  });

  it('refuses a preflight from another origin with a clear 403 and no CORS header', async () => {
    const r = await preflight(refused.origin);
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'origin_not_allowed');
    assert.match(r.json.error.message, /cors_origins/);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const none = await request('OPTIONS', chat());
    assert.equal(none.status, 204, 'a plain OPTIONS');
    assert.equal(none.headers.allow, 'POST, OPTIONS');
  });

  it('puts the headers on errors for an allowed origin, and on nothing for others', async () => {
    const e = await request('POST', chat(), { headers: { Origin: allowed.origin, ...bearer('gk-wrong-0000000000') }, body: chatBody('deepseek-chat') });
    assert.equal(e.status, 401);
    assert.equal(e.headers['access-control-allow-origin'], allowed.origin);
    assert.match(e.headers['access-control-expose-headers'], /X-Request-Id/);
    const o = await request('POST', chat(), { headers: { Origin: refused.origin, ...bearer(GW_KEY) }, body: chatBody('deepseek-chat') });
    assert.equal(o.status, 200, 'the request itself is served (a browser withholds the answer)');
    assert.equal(o.headers['access-control-allow-origin'], undefined);
    assert.equal(o.headers.vary, undefined);
  });
});

describe('fetch from pages in Chromium', { skip: skipBrowser || false }, () => {
  let context;
  let userDataDir;

  before(async () => {
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-chromium-'));
    context = await playwright.chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
    context.setDefaultTimeout(15000);
  });

  after(async () => {
    if (context) await context.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  // Runs fetch calls in a page of origin; -> what the page saw.
  async function fromPage(origin) {
    const page = await context.newPage();
    await page.goto(origin + '/');
    const out = await page.evaluate(async ({ url, key }) => {
      const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
      const body = (stream) => JSON.stringify({ model: 'deepseek-chat', stream, messages: [{ role: 'user', content: 'Say hello.' }] });
      const res = {};
      try {
        const r = await fetch(url, { method: 'POST', headers, body: body(false) });
        res.plain = { status: r.status, requestId: r.headers.get('x-request-id'), json: await r.json() };
        const s = await fetch(url, { method: 'POST', headers, body: body(true) });
        const reader = s.body.getReader();
        let text = '';
        let chunks = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks++;
          text += new TextDecoder().decode(value);
        }
        res.stream = { status: s.status, type: s.headers.get('content-type'), text, chunks };
        const bad = await fetch(url, { method: 'POST', headers: { ...headers, Authorization: 'Bearer gk-wrong-000000000000' }, body: body(false) });
        res.error = { status: bad.status, json: await bad.json() };
      } catch (e) {
        res.failed = String(e);
      }
      return res;
    }, { url: chat(), key: GW_KEY });
    await page.close();
    return out;
  }

  it('an allowed origin gets answers, streamed ones and errors', async () => {
    const r = await fromPage(allowed.origin);
    assert.equal(r.failed, undefined, r.failed);
    assert.equal(r.plain.status, 200);
    assert.equal(r.plain.json.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
    assert.match(r.plain.requestId, /^req_/, 'an exposed header is readable');
    assert.equal(r.stream.status, 200);
    assert.match(r.stream.type, /^text\/event-stream/);
    assert.match(r.stream.text, /data: \[DONE\]/);
    assert.equal(r.error.status, 401);
    assert.equal(r.error.json.error.code, 'invalid_api_key');
  });

  it('a refused origin cannot call the gateway', async () => {
    const before = mock.requests().length;
    const r = await fromPage(refused.origin);
    assert.match(r.failed || '', /TypeError: Failed to fetch/);
    assert.equal(r.plain, undefined);
    assert.equal(mock.requests().length, before, 'the preflight failed: nothing went upstream');
  });
});
