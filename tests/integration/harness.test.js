// Self-checks of the test tools: the mock upstream's wire formats, control
// endpoints and CLI, and the harness's isolation and clean-up.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, groupMembers } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer } = require('../lib/client.js');

let mock;
before(async () => { mock = await startMock(); });
after(async () => { if (mock) await mock.close(); });
beforeEach(() => mock.reset());

const up = (p, body, headers = bearer('mk-1')) => request('POST', mock.url + p, { headers, body });
const upStream = (p, body) => stream(mock.url + p, { headers: bearer('mk-1'), body });
const usageOnly = (r) => r.events.filter((e) => e.json && Array.isArray(e.json.choices) && e.json.choices.length === 0);

describe('mock upstream', () => {
  it('answers per flavour with deterministic content and usage', async () => {
    const body = chatBody('deepseek-chat');
    const r = await up('/deepseek/chat/completions', body);
    assert.equal(r.status, 200);
    assert.equal(r.json.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
    assert.equal(r.json.usage.prompt_cache_miss_tokens, r.json.usage.prompt_tokens);
    assert.equal(r.json.usage.total_tokens, r.json.usage.prompt_tokens + 6);
    const rec = mock.requests()[0];
    assert.equal(rec.path, '/deepseek/chat/completions');
    assert.deepEqual(rec.body, body);
    assert.equal(rec.headers.authorization, 'Bearer mk-1');
    assert.equal(typeof rec.t, 'number');
  });

  it('openai streams carry a usage-only chunk only with include_usage', async () => {
    const without = await upStream('/openai/v1/chat/completions', chatBody('gpt-4o', { stream: true }));
    assert.equal(usageOnly(without).length, 0);
    assert.ok(without.done);
    const withU = await upStream('/openai/v1/chat/completions', chatBody('gpt-4o', { stream: true, stream_options: { include_usage: true } }));
    assert.equal(usageOnly(withU).length, 1);
    for (const e of withU.events.filter((x) => x.json)) assert.ok('usage' in e.json, 'every chunk has "usage"');
  });

  it('moonshot puts usage in choices[0] of the finish chunk whatever include_usage says', async () => {
    const r = await upStream('/moonshot/v1/chat/completions', chatBody('kimi-k2.5', { stream: true, stream_options: { include_usage: false } }));
    const fin = r.events.find((e) => e.json && e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.ok(fin.json.choices[0].usage.total_tokens > 0);
    assert.equal(joinContent(r.events), 'Hello from moonshot mock model kimi-k2.5');
  });

  it('401 without a key, per-key 429 with Retry-After and 401 naming the key', async () => {
    const none = await up('/openai/v1/chat/completions', chatBody('gpt-4o'), {});
    assert.equal(none.status, 401);
    mock.configure({ keys: { 'mk-429': { status: 429, retryAfter: 2 }, 'mk-bad': { status: 401 } } });
    const limited = await up('/openai/v1/chat/completions', chatBody('gpt-4o'), bearer('mk-429'));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '2');
    assert.equal(limited.json.error.code, 'rate_limit_exceeded');
    const bad = await up('/openai/v1/chat/completions', chatBody('gpt-4o'), bearer('mk-bad'));
    assert.equal(bad.status, 401);
    assert.match(bad.json.error.message, /Incorrect API key provided: mk-bad/);
    mock.configure({ keys: {} });
    assert.equal((await up('/openai/v1/chat/completions', chatBody('gpt-4o'), bearer('mk-bad'))).status, 200);
  });

  it('special models: error-400, error-500, garbage, cut-stream', async () => {
    assert.equal((await up('/x/chat/completions', chatBody('error-400'))).json.error.type, 'invalid_request_error');
    assert.equal((await up('/x/chat/completions', chatBody('error-500'))).status, 500);
    const g = await up('/x/chat/completions', chatBody('garbage'));
    assert.equal(g.status, 200);
    assert.equal(g.json, undefined);
    const c = await upStream('/x/chat/completions', chatBody('cut-stream', { stream: true }));
    assert.equal(joinContent(c.events), 'Hello from');
    assert.ok(!c.done);
  });

  it('records a client that went away (closedEarly)', async () => {
    mock.configure({ trickleEvents: 10, trickleMs: 100 });
    const r = await stream(mock.url + '/x/chat/completions', { headers: bearer('mk-1'), body: chatBody('trickle', { stream: true }), stopAfter: 2 });
    assert.ok(r.aborted);
    await new Promise((res) => setTimeout(res, 300));
    const rec = mock.requests()[0];
    assert.equal(rec.closedEarly, true);
    assert.ok(rec.eventsSent < 14);
  });

  it('CLI: prints LISTENING <port> and serves the control endpoints', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'mock', 'upstream.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error('no LISTENING line within 5 s')), 5000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /^LISTENING (\d+)$/m.exec(out);
          if (m) { clearTimeout(t); resolve(Number(m[1])); }
        });
      });
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await request('POST', `${base}/_mock/config`, { body: { keys: { k: { status: 429 } } } })).status, 200);
      assert.equal((await request('POST', `${base}/zai/chat/completions`, { headers: bearer('k'), body: chatBody('glm-5') })).status, 429);
      const reqs = (await request('GET', `${base}/_mock/requests`)).json;
      assert.equal(reqs.length, 1);
      assert.equal(reqs[0].body.model, 'glm-5');
      assert.equal((await request('POST', `${base}/_mock/reset`)).status, 200);
      assert.equal((await request('GET', `${base}/_mock/requests`)).json.length, 0);
      assert.equal((await request('POST', `${base}/zai/chat/completions`, { headers: bearer('k'), body: chatBody('glm-5') })).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('harness', () => {
  it('the router sees only the variables it is given, and stop() cleans up', async () => {
    const saved = process.env.ZAI_API_KEY;
    process.env.ZAI_API_KEY = 'zai-from-the-test-process';
    let gw;
    try {
      gw = await startGateway({ env: { ...mockEnv(mock), AUTH_KEY: 'gk-harness-123456', DEEPSEEK_API_KEY: 'sk-h' } });
      const models = await request('GET', `${gw.url}/v1/models`, { headers: bearer('gk-harness-123456') });
      assert.equal(models.status, 200);
      const ids = models.json.data.map((m) => m.id);
      assert.ok(ids.includes('deepseek-chat'));
      assert.ok(!ids.includes('glm-5'), 'ZAI_API_KEY of the test process must not reach the router');
      assert.equal(fs.statSync(gw.stateDir).mode & 0o777, 0o700);
    } finally {
      if (saved === undefined) delete process.env.ZAI_API_KEY; else process.env.ZAI_API_KEY = saved;
    }
    const pid = Number(fs.readFileSync(path.join(gw.dir, 'lighttpd.pid'), 'utf8'));
    await gw.stop();
    assert.ok(!fs.existsSync(gw.dir), 'temp dir removed');
    assert.deepEqual(groupMembers(pid), [], 'no live process of the gateway is left');
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'lighttpd is gone');
  });
});
