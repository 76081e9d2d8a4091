// The web-server matrix: the same core checks behind every web server the
// README names, each run from its example config in conf/ (templated only
// for ports and paths): lighttpd (FastCGI), Apache with mod_proxy_fcgi and
// with mod_fcgid, nginx (fastcgi_pass), busybox httpd (plain CGI).

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { startServer, available, KINDS } = require('../lib/servers.js');

const GW_KEY = 'gk-servers-0123456789abcdef';
const DS_KEY = 'sk-ds-SECRET-servers';
const SETTLE_SECRET = 'settle-SECRET-servers-0123';

let mock;
before(async () => { mock = await startMock(); });
after(async () => { if (mock) await mock.close(); });

// keys and upstreams in the file: not every server passes environment on
const conf = () => buildConf({
  auth: { keys: GW_KEY },
  providers: {
    deepseek: { base_url: mock.url + '/deepseek', keys: DS_KEY },
    openai: { base_url: mock.url + '/openai/v1', keys: 'sk-oa-SECRET-servers' },
  },
}) + `[settle]\nsecret = ${SETTLE_SECRET}\n`;

for (const kind of KINDS) {
  describe(`behind ${kind}`, { skip: available(kind) ? false : `${kind} is not installed (scripts/deps.sh --test)` }, () => {
    let s;
    before(async () => { s = await startServer(kind, { conf: conf() }); });
    after(async () => { if (s) await s.stop(); });

    it('health, models', async () => {
      const h = await request('GET', `${s.base}/health`);
      assert.equal(h.status, 200, h.text);
      assert.equal(h.json.status, 'ok');
      const m = await request('GET', `${s.base}/v1/models`, { headers: bearer(GW_KEY) });
      assert.equal(m.status, 200, `${m.text}\n${s.log().slice(-1500)}`);
      assert.ok(m.json.data.some((x) => x.id === 'deepseek-chat'));
    });

    it('the other routes reach the router: Gemini\'s API, MCP, /metrics, an app', async () => {
      const g = await request('GET', `${s.base}/v1beta/models`, { headers: { 'x-goog-api-key': GW_KEY } });
      assert.equal(g.status, 200, `${g.text}\n${s.log().slice(-1500)}`);
      assert.ok(Array.isArray(g.json.models));
      const mcp = await request('POST', `${s.base}/mcp`, {
        headers: { ...bearer(GW_KEY), Accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      });
      assert.equal(mcp.status, 200, mcp.text);
      assert.equal(mcp.json.result.serverInfo.name, 'llmgate');
      const met = await request('GET', `${s.base}/metrics`);
      assert.equal(met.status, 200, met.text);
      assert.match(met.text, /llmgate_build_info/);
      // /analyze_error: no app declared here, so the router's own 404
      const app = await request('POST', `${s.base}/analyze_error`, { body: {} });
      assert.equal(app.status, 404);
      assert.equal(app.json.error.code, 'unknown_url', app.text);
    });

    it('a chat, with the key as "Authorization: Bearer"', async () => {
      mock.reset();
      const r = await request('POST', `${s.base}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
      assert.equal(r.status, 200, `${r.text}\n${s.log().slice(-1500)}`);
      assert.equal(r.json.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
      assert.equal(mock.requests()[0].headers.authorization, `Bearer ${DS_KEY}`);
      assert.ok(!r.text.includes(DS_KEY));
    });

    it('a stream: events reach the client while the upstream is still sending', async () => {
      // the upstream never ends this stream by itself: events seen by the
      // client before it hangs up cannot have waited for the end
      mock.reset();
      const r = await stream(`${s.base}/v1/chat/completions`, {
        headers: bearer(GW_KEY), body: chatBody('openai/endless-stream', { stream: true }), stopAfter: 2, timeoutMs: 20000,
      });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.aborted, `two events arrived before the upstream ended: ${r.error || ''}`);
      assert.match(r.headers['content-type'] || '', /^text\/event-stream/);
    });

    it('an error in the OpenAI shape', async () => {
      const r = await request('POST', `${s.base}/v1/chat/completions`, { headers: bearer('gk-wrong'), body: chatBody('deepseek-chat') });
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'invalid_api_key');
      const u = await request('POST', `${s.base}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('no-such-model') });
      assert.ok(u.status >= 400 && u.status < 500 && u.json.error, u.text);
    });

    it('the admin API', async () => {
      const adminBase = kind === 'busybox' ? `${s.url}/cgi-bin/llmgate-admin` : s.url;
      const r = await request('GET', `${adminBase}/admin/api/setup`);
      assert.equal(r.status, 200, `${r.text}\n${s.log().slice(-1500)}`);
      assert.equal(typeof r.json, 'object');
    });

    if (kind === 'busybox') {
      it('settle as CGI: the chats so far folded into the ledger', async () => {
        const bad = await request('POST', `${s.url}/cgi-bin/llmgate-settle`, { headers: bearer('wrong'), body: {} });
        assert.equal(bad.status, 401);
        const r = await request('POST', `${s.url}/cgi-bin/llmgate-settle`, { headers: bearer(SETTLE_SECRET), body: {} });
        assert.equal(r.status, 200, r.text);
        assert.ok(!r.text.includes(SETTLE_SECRET));
      });
    }
  });
}
