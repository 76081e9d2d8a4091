// Per-route health: /health for the gateway, /v1/chat/health,
// /v1/rag/health and /mcp/health for those routes (what each depends on,
// usable or not: 200 or 503), 404 for a route without an entry; and
// /metrics open to loopback by default.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-health-0123456789abcdef';
const DS_KEY = 'sk-ds-SECRET-health';

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: DS_KEY }, conf: buildConf({}) });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const dep = (j, name) => j.depends_on.find((d) => d.name === name);

describe('per-route health', () => {
  it('/health is the whole gateway, /v1/health the same', async () => {
    for (const p of ['/health', '/v1/health']) {
      const r = await request('GET', gw.url + p);
      assert.equal(r.status, 200);
      assert.equal(r.json.status, 'ok', p);
      assert.ok(Array.isArray(r.json.providers));
    }
  });

  it('/v1/chat/health says what chat depends on, and that it is usable', async () => {
    const r = await request('GET', `${gw.url}/v1/chat/health`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.route, '/v1/chat/completions');
    assert.equal(r.json.usable, true);
    assert.equal(r.json.status, 'ok');
    for (const d of ['gateway_keys', 'upstream_providers', 'usage_store', 'settings_store']) assert.equal(dep(r.json, d).ok, true, d);
    assert.match(dep(r.json, 'upstream_providers').detail, /1 with a key usable now/);
  });

  it('/v1/rag/health needs an embedding model; /mcp/health the MCP endpoint turned on', async () => {
    const rag = await request('GET', `${gw.url}/v1/rag/health`);
    assert.equal(rag.status, 503, rag.text);
    assert.equal(rag.json.route, '/v1/vector_stores');
    assert.equal(dep(rag.json, 'embedding_model').ok, false);
    assert.match(dep(rag.json, 'embedding_model').detail, /\[rag\] model/);
    assert.equal(dep(rag.json, 'upstream_providers').ok, true);
    const mcp = await request('GET', `${gw.url}/mcp/health`);
    assert.equal(mcp.status, 200, mcp.text);
    assert.equal(mcp.json.route, '/mcp');
    assert.equal(dep(mcp.json, 'mcp_enabled').ok, true);
  });

  it('a route without an entry is 404; HEAD and POST as on /health', async () => {
    const r = await request('GET', `${gw.url}/v1/nothing/health`);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'unknown_url');
    const p = await request('POST', `${gw.url}/v1/chat/health`, { body: {} });
    assert.equal(p.status, 405);
  });

  it('chat is unusable (503) once its only upstream key is refused, and says why', async () => {
    mock.configure({ keys: { [DS_KEY]: { status: 401, message: 'invalid key' } } });
    const c = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
    assert.notEqual(c.status, 200);
    const r = await request('GET', `${gw.url}/v1/chat/health`);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.usable, false);
    assert.equal(r.json.status, 'unusable');
    assert.equal(dep(r.json, 'upstream_providers').ok, false);
    assert.equal(dep(r.json, 'gateway_keys').ok, true);
    assert.ok(!r.text.includes(DS_KEY) && !r.text.includes(GW_KEY));
  });

  it('/metrics is open to loopback clients by default', async () => {
    const r = await request('GET', `${gw.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.text, /^llmgate_requests_total\{route="chat\/completions",provider="deepseek",model="deepseek-chat",status="502"\} 1$/m);
  });
});
