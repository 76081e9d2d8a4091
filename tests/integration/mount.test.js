// The router under a mount prefix: lighttpd sends only /api/... to it, and
// the router also finds /v1/... under a prefix by itself.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-mount-0123456789abcdef';

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-m', ZAI_API_KEY: 'zai-SECRET-m' },
    conf: buildConf(),
    mount: '/api/',
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('mounted at /api/', () => {
  it('gw.url carries the prefix', () => {
    assert.ok(gw.url.endsWith('/api'), gw.url);
  });

  it('GET /api/health', async () => {
    const res = await request('GET', `${gw.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'ok');
  });

  it('GET /api/v1/models', async () => {
    const res = await request('GET', `${gw.url}/v1/models`, { headers: bearer(GW_KEY) });
    assert.equal(res.status, 200, res.text);
    const ids = res.json.data.map((m) => m.id);
    assert.ok(ids.includes('deepseek-chat') && ids.includes('glm-5'));
  });

  it('POST /api/v1/chat/completions, plain and streamed', async () => {
    const res = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('glm-5') });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'Hello from zai mock model glm-5');
    const s = await stream(`${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat', { stream: true }) });
    assert.equal(s.status, 200);
    assert.ok(s.done);
    assert.equal(joinContent(s.events), 'Hello from deepseek mock model deepseek-chat');
    assert.equal(mock.requests().length, 2);
  });

  it('paths outside the mount never reach the router', async () => {
    const res = await request('GET', `${gw.base}/health`);
    assert.equal(res.status, 404);
    assert.equal(mock.requests().length, 0);
  });
});

describe('mounted at /', () => {
  it('finds /v1/... under any prefix by itself', async () => {
    const m2 = await startMock();
    const g2 = await startGateway({
      env: { ...mockEnv(m2), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-m2' },
      conf: buildConf(),
    });
    try {
      const res = await request('POST', `${g2.url}/llm/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
      const models = await request('GET', `${g2.url}/llm/v1/models`, { headers: bearer(GW_KEY) });
      assert.equal(models.status, 200, models.text);
      const q = await request('GET', `${g2.url}/health?verbose=1`);
      assert.equal(q.status, 200, 'a query string does not change the route');
    } finally {
      await g2.stop();
      await m2.close();
    }
  });
});
