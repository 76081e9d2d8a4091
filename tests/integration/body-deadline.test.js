// The request-body deadline ([server] body_timeout_ms): behind a front end
// that passes bodies on as they arrive (lighttpd with
// server.stream-request-body = 2 here; the shipped lighttpd.conf buffers
// them), a client that sends its body slowly gets a 408 in its API's
// dialect instead of holding a router thread.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-body-deadline-0123456789';
const DEADLINE_MS = 700;
const THREADS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, OPENAI_API_KEY: 'sk-oa-SECRET-bd', ANTHROPIC_API_KEY: 'sk-ant-SECRET-bd' },
    conf: buildConf({ server: { threads: THREADS, hot_threads: 1, body_timeout_ms: DEADLINE_MS } }),
    streamRequestBody: 2,
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

// Sends the head and the first `first` bytes of body, then the rest as
// `drip` says ({ everyMs, bytes } or null: nothing more); resolves with the
// answer (status, parsed JSON body) and how long it took.
function slowPost(path, body, { first = 10, drip = null, waitMs = 6000, headers = {} } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(gw.port, '127.0.0.1');
    const chunks = [];
    let pos = first;
    let timer = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      clearTimeout(guard);
      s.destroy();
      const raw = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      const end = raw.indexOf('\r\n\r\n');
      let json = null;
      try { json = JSON.parse(end < 0 ? '' : raw.slice(end + 4)); } catch { /* not JSON */ }
      resolve({ status: m ? Number(m[1]) : 0, json, raw, ms: Date.now() - t0 });
    };
    const guard = setTimeout(finish, waitMs);
    s.on('data', (d) => {
      chunks.push(d);
      // lighttpd closes after an error answer to a request it had not read whole
      const raw = Buffer.concat(chunks).toString('utf8');
      const end = raw.indexOf('\r\n\r\n');
      const cl = /\r\ncontent-length: *(\d+)/i.exec(raw);
      if (end >= 0 && cl && Buffer.byteLength(raw.slice(end + 4)) >= Number(cl[1])) finish();
    });
    s.on('close', finish);
    s.on('error', () => {});
    s.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GW_KEY}\r\n${extra}` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, first)}`);
      if (drip) {
        timer = setInterval(() => {
          if (pos >= body.length) { clearInterval(timer); timer = null; return; }
          s.write(body.slice(pos, pos + drip.bytes));
          pos += drip.bytes;
        }, drip.everyMs);
      }
    });
  });
}

const chatText = (model = 'gpt-4o-mini') => JSON.stringify(chatBody(model, { messages: [{ role: 'user', content: 'x'.repeat(300) }] }));

describe('a request body that does not arrive in time', () => {
  it('stopped half-way: 408 in the OpenAI dialect, nothing sent upstream', async () => {
    const r = await slowPost('/v1/chat/completions', chatText());
    assert.equal(r.status, 408, r.raw);
    assert.equal(r.json.error.code, 'request_timeout');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, new RegExp(`within ${DEADLINE_MS} ms`));
    assert.ok(r.ms >= DEADLINE_MS - 50, `answered after ${r.ms} ms`);
    assert.equal(mock.requests().length, 0);
  });

  it('dripped a byte at a time (each read quick, the whole too slow): 408', async () => {
    const r = await slowPost('/v1/chat/completions', chatText(), { drip: { everyMs: 50, bytes: 1 } });
    assert.equal(r.status, 408, r.raw);
    assert.equal(r.json.error.code, 'request_timeout');
    assert.equal(mock.requests().length, 0);
  });

  it('on /v1/messages: 408 in the Anthropic dialect', async () => {
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'x'.repeat(300) }] });
    const r = await slowPost('/v1/messages', body, { headers: { 'anthropic-version': '2023-06-01' } });
    assert.equal(r.status, 408, r.raw);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(mock.requests().length, 0);
  });

  it(`${THREADS + 2} slow bodies at once: each gets its 408, and the gateway answers others after`, async () => {
    const slow = Array.from({ length: THREADS + 2 }, () => slowPost('/v1/chat/completions', chatText(), { drip: { everyMs: 100, bytes: 1 } }));
    const all = await Promise.all(slow);
    for (const r of all) assert.equal(r.status, 408, r.raw);
    const ok = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('gpt-4o-mini'), timeoutMs: 5000 });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('a request body that arrives in pieces within the deadline', () => {
  it('is served', async () => {
    const text = chatText();
    const step = Math.ceil(text.length / 4);
    const r = await slowPost('/v1/chat/completions', text, { first: step, drip: { everyMs: 80, bytes: step } });
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.json.choices[0].message.content, 'Hello from openai mock model gpt-4o-mini');
    assert.equal(mock.requests().length, 1);
  });

  it('and with no deadline (body_timeout_ms = 0) a slow body is waited for', async () => {
    const g = await startGateway({
      env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, OPENAI_API_KEY: 'sk-oa-SECRET-bd' },
      conf: buildConf({ server: { threads: 2, body_timeout_ms: 0 } }),
      streamRequestBody: 2,
    });
    try {
      const saved = gw;
      gw = g;
      const text = chatText();
      const step = Math.ceil(text.length / 3);
      const r = await slowPost('/v1/chat/completions', text, { first: step, drip: { everyMs: 500, bytes: step } });
      gw = saved;
      assert.equal(r.status, 200, r.raw);
      assert.ok(r.ms >= 900, `took ${r.ms} ms`);
    } finally {
      await g.stop();
    }
  });
});
