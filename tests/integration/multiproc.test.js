// Several router processes behind one lighttpd (max-procs 2): concurrent
// requests, and gateway keys made / revoked seen by every process.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-multi-0123456789abcdef';

let mock;
let gw;
const url = () => `${gw.url}/v1/chat/completions`;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-mp1,sk-ds-SECRET-mp2', MOONSHOT_API_KEY: 'sk-ms-SECRET-mp', OPENAI_API_KEY: 'sk-oa-SECRET-mp' },
    conf: buildConf({ server: { threads: 2 } }),
    maxProcs: 2,
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

// Requests that each keep a router busy for delayMs, so lighttpd spreads
// them over both processes.
function busy(key, n) {
  return Promise.all(Array.from({ length: n }, () =>
    request('POST', url(), { headers: bearer(key), body: chatBody('openai/slow-first-byte') })));
}

describe('max-procs 2', () => {
  it('two router processes are running', () => {
    const sockets = require('node:fs').readdirSync(gw.dir).filter((f) => f.startsWith('router.sock'));
    assert.equal(sockets.length, 2, `sockets: ${sockets.join(', ')}`);
  });

  it('serves concurrent plain and streamed requests', async () => {
    const plain = Array.from({ length: 8 }, (_, i) => request('POST', url(), {
      headers: bearer(GW_KEY), body: chatBody(i % 2 ? 'deepseek-chat' : 'kimi-k2.5'),
    }));
    const streamed = Array.from({ length: 4 }, () => stream(url(), {
      headers: bearer(GW_KEY), body: chatBody('openai/trickle', { stream: true }),
    }));
    const [p, s] = await Promise.all([Promise.all(plain), Promise.all(streamed)]);
    p.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      const model = i % 2 ? 'deepseek-chat' : 'kimi-k2.5';
      const flavour = i % 2 ? 'deepseek' : 'moonshot';
      assert.equal(r.json.choices[0].message.content, `Hello from ${flavour} mock model ${model}`);
    });
    for (const r of s) {
      assert.equal(r.status, 200);
      assert.ok(r.done);
      assert.equal(joinContent(r.events), 'Hello from openai mock model trickle w1 w2 w3 w4');
    }
    assert.equal(mock.requests().length, 12);
  });

  it('a key made with llmgate-keys works in every process; a revoked one in none', async () => {
    mock.configure({ delayMs: 300 });
    const c = await keysTool(gw, ['create', '--name', 'multi']);
    assert.equal(c.code, 0, c.stderr);
    const key = c.stdout.split('\n')[0].trim();
    const ok = await waitFor(async () => (await busy(key, 4)).every((r) => r.status === 200), { timeoutMs: 3000, intervalMs: 100 });
    assert.ok(ok, 'the new key is accepted by all processes within 3 s');
    for (const r of await busy(key, 6)) assert.equal(r.status, 200);

    const list = await keysTool(gw, ['list']);
    const line = list.stdout.split('\n').find((l) => l.split(/[\s|]+/).includes('multi'));
    assert.ok(line, list.stdout);
    const id = line.split(/[\s|]+/).filter(Boolean)[0];
    const rv = await keysTool(gw, ['revoke', id]);
    assert.equal(rv.code, 0, rv.stderr);
    const gone = await waitFor(async () => {
      // keep both processes busy with the gateway key while the revoked key knocks
      const [, revoked] = await Promise.all([busy(GW_KEY, 2), busy(key, 4)]);
      return revoked.every((r) => r.status === 401);
    }, { timeoutMs: 3000, intervalMs: 100 });
    assert.ok(gone, 'the revoked key is refused by all processes within 3 s');
    const [, revoked] = await Promise.all([busy(GW_KEY, 2), busy(key, 6)]);
    for (const r of revoked) assert.equal(r.status, 401);
  });
});
