// Many open streams in one router process: [server] max_streams (a stream
// over it gets 503 with Retry-After in the caller's dialect, nothing sent
// upstream, nothing recorded), back-pressure (a client that does not read
// holds its upstream back instead of making the gateway buffer the
// answer, while streams beside it go on), and clients that leave
// mid-stream in each dialect (the upstream is closed, one usage record).

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startMock, startGateway, mockEnv, usageRecords, sleep } = require('../lib/harness.js');
const { request, stream, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-streams-0123456789abcdef';
const SECRETS = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-streams', GEMINI_API_KEY: 'sk-gm-SECRET-streams' };
const MAX_STREAMS = 3;

// A stream held open: resolves once its head and first bytes are in, with
// the response (paused or flowing) and a count of the bytes read so far.
function openStream(url, path, body, headers, { paused = false } = {}) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(`${url}${path}`, {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...headers },
    }, (res) => {
      const s = { req, res, status: res.statusCode, bytes: 0, text: '' };
      res.on('error', () => {});
      if (paused) {
        res.pause();
        return resolve(s);
      }
      res.on('data', (c) => {
        s.bytes += c.length;
        if (s.text.length < 4096) s.text += c.toString('utf8');
        if (s.resolve) { const r = s.resolve; s.resolve = null; r(s); }
      });
      s.resolve = resolve;
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const CHAT = '/v1/chat/completions';
const MESSAGES = '/v1/messages';
const ANTHROPIC_HEADERS = { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' };

describe('open streams, back-pressure and clients that leave', () => {
  let mock;
  let gw;

  before(async () => {
    mock = await startMock();
    mock.configure({ endlessMs: 20 });
    gw = await startGateway({
      env: { ...mockEnv(mock), ...SECRETS, AUTH_KEY: GW_KEY },
      conf: buildConf({ server: { threads: 8, hot_threads: 2, max_streams: MAX_STREAMS }, upstream: { stream_max_bytes: 1073741824 },
        aliases: { endless: 'deepseek/endless-stream' } }),
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  const endless = (model = 'deepseek/endless-stream') => chatBody(model, { stream: true });
  const upstreamOf = (n) => mock.requests().filter((r) => r.body && r.body.model === 'endless-stream').slice(-n);

  it('beyond max_streams a stream gets 503 with Retry-After in the caller\'s dialect, nothing upstream or recorded', async () => {
    const held = [];
    for (let i = 0; i < MAX_STREAMS; i++) held.push(await openStream(gw.url, CHAT, endless(), bearer(GW_KEY)));
    for (const h of held) assert.equal(h.status, 200);
    const upBefore = mock.requests().length;
    const recsBefore = usageRecords(gw).length;

    const oai = await request('POST', `${gw.url}${CHAT}`, { headers: bearer(GW_KEY), body: endless() });
    assert.equal(oai.status, 503, oai.text);
    assert.ok(Number(oai.headers['retry-after']) >= 1, 'Retry-After');
    assert.equal(oai.json.error.code, 'too_many_streams');

    const ant = await request('POST', `${gw.url}${MESSAGES}`, {
      headers: ANTHROPIC_HEADERS,
      body: { model: 'deepseek/endless-stream', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(ant.status, 503, ant.text);
    assert.ok(ant.headers['retry-after']);
    assert.equal(ant.json.type, 'error');
    assert.equal(typeof ant.json.error.type, 'string');

    const gem = await request('POST', `${gw.url}/v1beta/models/deepseek-chat:streamGenerateContent?alt=sse`, {
      headers: { 'x-goog-api-key': GW_KEY }, body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
    });
    assert.equal(gem.status, 503, gem.text);
    assert.ok(gem.headers['retry-after']);
    assert.equal(gem.json.error.code, 503);
    assert.equal(gem.json.error.status, 'UNAVAILABLE');

    // a call that does not stream is not counted
    const plain = await request('POST', `${gw.url}${CHAT}`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
    assert.equal(plain.status, 200, plain.text);
    assert.equal(mock.requests().length, upBefore + 1, 'the refused streams never went upstream');
    assert.equal(usageRecords(gw).length, recsBefore + 1, 'only the plain call recorded so far');

    // the places come back when the streams end
    for (const h of held) h.req.destroy();
    const again = await waitFor(async () => {
      const r = await stream(`${gw.url}${CHAT}`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat', { stream: true }) });
      return r.status === 200 ? r : null;
    }, { timeoutMs: 5000, intervalMs: 100 });
    assert.ok(again && again.done, 'a stream is served again once the held ones left');
  });

  it('a client that does not read holds its upstream back; streams beside it go on', async (t) => {
    mock.configure({ endlessMs: 0, endlessPad: 16000 });
    const slow = await openStream(gw.url, CHAT, endless(), bearer(GW_KEY), { paused: true });
    assert.equal(slow.status, 200);
    const [up] = await waitFor(() => { const u = upstreamOf(1); return u.length && u[0].eventsSent > 0 ? u : null; });
    // the fast ones, meanwhile, complete
    const fast = await Promise.all([0, 1].map(() => stream(`${gw.url}${CHAT}`, {
      headers: bearer(GW_KEY), body: chatBody('deepseek/trickle', { stream: true }), timeoutMs: 20000,
    })));
    for (const f of fast) assert.ok(f.status === 200 && f.done, `a fast stream completed beside the slow one: ${f.status}`);
    // the upstream's socket fills up: it is made to wait, not drained
    // into the gateway's memory
    const blocked = await waitFor(() => up.waitingDrain, { timeoutMs: 15000, intervalMs: 50 });
    assert.ok(blocked, `the upstream was held back (sent ${up.bytesSent} bytes)`);
    let steady = up.bytesSent;
    for (let i = 0; i < 3; i++) {
      await sleep(200);
      assert.ok(up.waitingDrain, 'still held back while the client reads nothing');
      steady = up.bytesSent;
    }
    // at most what the sockets on the way hold: far less than an
    // unread stream would reach if the gateway kept reading
    t.diagnostic(`upstream held back after ${steady} bytes`);
    assert.ok(steady < 64 * 1024 * 1024, `upstream got ${steady} bytes out while the client read none`);
    // reading again lets the upstream go on
    let read = 0;
    slow.res.on('data', (c) => { read += c.length; });
    slow.res.resume();
    const moved = await waitFor(() => up.bytesSent > steady + 1024 * 1024, { timeoutMs: 15000 });
    assert.ok(moved, 'the upstream went on once the client read');
    slow.req.destroy();
    assert.ok(await waitFor(() => up.closedEarly, { timeoutMs: 5000 }), 'the upstream is closed when the client leaves');
    assert.ok(read > 0);
    mock.configure({ endlessMs: 20, endlessPad: 0 });
  });

  it('a client that leaves mid-stream stops its upstream, in every dialect, recorded once', async () => {
    const cases = [
      [CHAT, endless(), bearer(GW_KEY)],
      [MESSAGES, { model: 'deepseek/endless-stream', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] }, ANTHROPIC_HEADERS],
      ['/v1beta/models/endless:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, { 'x-goog-api-key': GW_KEY }],
    ];
    const recsBefore = usageRecords(gw).length;
    const ups = [];
    for (const [path, body, headers] of cases) {
      const s = await openStream(gw.url, path, body, headers);
      assert.equal(s.status, 200, `${path}: ${s.text}`);
      // leave after a few events
      await waitFor(() => s.bytes > 300, { timeoutMs: 5000 });
      s.req.destroy();
      const [u] = upstreamOf(1);
      ups.push(u);
      assert.ok(await waitFor(() => u.closedEarly, { timeoutMs: 5000 }), `${path}: the upstream was closed`);
    }
    const recs = await waitFor(() => { const r = usageRecords(gw).slice(recsBefore); return r.length >= cases.length ? r : null; });
    assert.equal(recs.length, cases.length, 'one record per stream');
    for (const r of recs) assert.equal(r.client_gone, true, JSON.stringify(r));
    assert.equal(new Set(recs.map((r) => r.id)).size, cases.length);
  });

  it('no secret in any answer', () => {
    for (const t of transcript()) for (const s of Object.values(SECRETS)) assert.ok(!t.includes(s));
  });
});
