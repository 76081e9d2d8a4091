// The router's upstream client: HTTPS with certificate checks (a test CA
// made here with openssl), kept-alive connections reused, connections the
// upstream closed while idle, and transport failures told in the API's
// dialect without secrets.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startMock, startGateway } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-upstream-0123456789abcdef';
const UP_KEY = 'sk-oa-SECRET-u1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A CA, and a certificate for "localhost" signed by it; a second CA that
// signed nothing here.
function makeCerts(dir) {
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=llmgate test CA');
  run('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=another CA');
  run('req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
  run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem',
    '-days', '2', '-extfile', 'ext.cnf');
  const f = (n) => path.join(dir, n);
  return { ca: f('ca.pem'), other: f('other.pem'), key: fs.readFileSync(f('srv.key')), cert: fs.readFileSync(f('srv.pem')) };
}

function gatewayFor(mock, { caFile, base = mock.url, threads = 1, streams } = {}) {
  return startGateway({
    env: { OPENAI_BASE_URL: `${base}/openai/v1`, OPENAI_API_KEY: UP_KEY, AUTH_KEY: GW_KEY },
    conf: buildConf({
      server: { threads, ...(streams ? { streams } : {}) },
      upstream: { max_attempts: 1, ...(caFile ? { ca_file: caFile } : {}) },
    }),
  });
}

const chat = (gw, extra = {}) => request('POST', `${gw.url}/v1/chat/completions`,
  { headers: bearer(GW_KEY), body: chatBody('gpt-4o', extra) });

let tmp;
let certs;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-tls-'));
  certs = makeCerts(tmp);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('https upstream with a trusted certificate', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock({ tls: { key: certs.key, cert: certs.cert }, urlHost: 'localhost' });
    gw = await gatewayFor(mock, { caFile: certs.ca });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('answers chat completions, plain and streamed, over one kept TLS connection', async () => {
    const before = mock.connections();
    for (let i = 0; i < 3; i++) {
      const res = await chat(gw);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.object, 'chat.completion');
      assert.ok(res.json.choices[0].message.content.length > 0);
    }
    const s = await stream(`${gw.url}/v1/chat/completions`, {
      headers: bearer(GW_KEY), body: chatBody('gpt-4o', { stream: true }),
    });
    assert.equal(s.status, 200);
    assert.ok(joinContent(s.events).length > 0, 'streamed content arrived');
    assert.ok(s.done, 'stream ended with [DONE]');
    // one worker thread: every call after the first reuses its connection
    assert.equal(mock.connections() - before, 1, 'one TLS connection for four calls');
    const reqs = mock.requests();
    assert.equal(reqs[reqs.length - 1].headers.authorization, `Bearer ${UP_KEY}`, 'the upstream key went over TLS');
  });
});

describe('https upstream, [server] streams = events', () => {
  it('streams over TLS move to the event loop, two worker threads serve twelve at once', async () => {
    const mock = await startMock({ tls: { key: certs.key, cert: certs.cert }, urlHost: 'localhost' });
    mock.configure({ trickleEvents: 6, trickleMs: 100 });
    const gw = await gatewayFor(mock, { caFile: certs.ca, threads: 2, streams: 'events' });
    try {
      const all = await Promise.all(Array.from({ length: 12 }, () => stream(`${gw.url}/v1/chat/completions`, {
        headers: bearer(GW_KEY), body: chatBody('openai/trickle', { stream: true }), timeoutMs: 30000,
      })));
      for (const s of all) {
        assert.equal(s.status, 200, s.text);
        assert.ok(s.done, 'stream ended with [DONE]');
        assert.equal(joinContent(s.events).trim().split(/\s+/).length, 6);
      }
      const parked = gw.errorLog().split('\n').filter((l) => l.includes('parked on the event loop')).length;
      assert.equal(parked, 12, `every TLS stream parked on the event loop: ${parked}`);
    } finally {
      await gw.stop();
      await mock.close();
    }
  });
});

describe('https fallback from the event loop', () => {
  it('a call that timed out after it parked goes on to a TLS target: a name looked up off the loop, a handshake through the loop', async () => {
    const mock = await startMock({ tls: { key: certs.key, cert: certs.cert }, urlHost: 'localhost' });
    const gw = await startGateway({
      env: { OPENAI_BASE_URL: `${mock.url}/openai/v1`, OPENAI_API_KEY: UP_KEY, DEEPSEEK_BASE_URL: `${mock.url}/deepseek`,
        DEEPSEEK_API_KEY: 'sk-ds-SECRET-u2', AUTH_KEY: GW_KEY },
      conf: buildConf({
        server: { threads: 2, streams: 'events' },
        upstream: { ca_file: certs.ca, first_byte_timeout_ms: 1500 },
        aliases: { slowpoke: 'openai/hang' }, fallback: { slowpoke: ['deepseek/deepseek-chat'] },
      }),
    });
    try {
      for (const streamed of [false, true]) {
        const body = chatBody('slowpoke', streamed ? { stream: true } : {});
        const r = streamed
          ? await stream(`${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body, timeoutMs: 30000 })
          : await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body, timeoutMs: 30000 });
        assert.equal(r.status, 200, r.text);
        const text = streamed ? joinContent(r.events) : r.json.choices[0].message.content;
        assert.match(text, /deepseek/, 'answered by the fallback');
        assert.ok(gw.errorLog().includes(`${r.headers['x-request-id']} parked on the event loop`), 'it waited on the loop');
      }
      const hosts = mock.requests().filter((q) => q.body && q.body.model === 'deepseek-chat').length;
      assert.equal(hosts, 2, 'both fallbacks reached the TLS upstream');
      assertNoSecrets([gw.errorLog()], [UP_KEY, 'sk-ds-SECRET-u2'], 'the router log');
    } finally {
      await gw.stop();
      await mock.close();
    }
  });
});

describe('https upstream that is not to be trusted', () => {
  let mock;
  let gwOther;
  let gwName;
  before(async () => {
    mock = await startMock({ tls: { key: certs.key, cert: certs.cert }, urlHost: 'localhost' });
    // a CA that did not sign the certificate
    gwOther = await gatewayFor(mock, { caFile: certs.other });
    // the right CA, but the URL's host (127.0.0.1) is not the certificate's name
    gwName = await gatewayFor(mock, { caFile: certs.ca, base: mock.url.replace('localhost', '127.0.0.1') });
  });
  after(async () => {
    if (gwOther) await gwOther.stop();
    if (gwName) await gwName.stop();
    if (mock) await mock.close();
  });

  for (const [what, gwOf, why] of [
    ['a certificate from an unknown CA', () => gwOther, /not trusted|certificate/i],
    ['a certificate for another name', () => gwName, /CN|name|certificate/i],
  ]) {
    it(`refuses ${what}: 502 in the OpenAI dialect, nothing sent, no secret told`, async () => {
      const n = mock.requests().length;
      const res = await chat(gwOf());
      const e = assertError(res, 502);
      assert.match(e.message, why);
      assert.equal(mock.requests().length, n, 'no request reached the upstream');
      assertNoSecrets([res.text, gwOf().errorLog()], [UP_KEY, GW_KEY], 'answer or log');
      assert.match(gwOf().errorLog(), /certificate of (localhost|127\.0\.0\.1) not accepted/);
    });
  }
});

describe('an upstream that drops kept connections without a word', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock({ dropAfterMs: 50 });
    gw = await gatewayFor(mock);
  });
  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('sends on the kept one, finds it closed, and asks again on a new one', async () => {
    assert.equal((await chat(gw)).status, 200);
    const conns = mock.connections();
    const asked = mock.requests().length;
    // closed 50 ms after the answer; reused at 300 ms, too fresh for a look
    await sleep(300);
    const res = await chat(gw);
    assert.equal(res.status, 200, res.text);
    assert.equal(mock.connections() - conns, 1, 'one new connection');
    assert.equal(mock.requests().length - asked, 1, 'the upstream saw the request once');
    assert.doesNotMatch(gw.errorLog(), /failed|error/i);
  });
});

describe('plain http upstream connections', () => {
  let mock;
  let gw;
  before(async () => {
    // the upstream closes connections idle for 300 ms (and about 1 s more)
    mock = await startMock({ keepAliveTimeout: 300 });
    gw = await gatewayFor(mock);
  });
  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('keeps one connection for calls in a row', async () => {
    const before = mock.connections();
    for (let i = 0; i < 5; i++) assert.equal((await chat(gw)).status, 200);
    assert.equal(mock.connections() - before, 1);
  });

  it('opens a new connection when the upstream closed the idle one', async () => {
    assert.equal((await chat(gw)).status, 200);
    const before = mock.connections();
    await sleep(2000);   // node closes it some 1 s after keepAliveTimeout
    const res = await chat(gw);
    assert.equal(res.status, 200, res.text);
    assert.equal(mock.connections() - before, 1, 'a new connection');
  });

  it('says a refused connection in the dialect, without the key', async () => {
    await mock.close();
    const res = await chat(gw);
    const e = assertError(res, 502);
    assert.match(gw.errorLog(), /connect to 127\.0\.0\.1:\d+ failed: Connection refused/);
    assertNoSecrets([res.text, e.message, gw.errorLog()], [UP_KEY, GW_KEY], 'answer or log');
    mock = null;
  });
});
