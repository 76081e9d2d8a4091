// Several gateways sharing keys' limits through one real Redis (started
// here on loopback): three routers, each its own lighttpd, state folder
// and spool. A token budget spent across all three stops at the limit
// (within what was in flight); requests per minute count across nodes; a
// node killed between reserve and record leaves no reservation past its
// lease; Redis killed and back: requests keep being answered, /health says
// so, and the usage made meanwhile reaches the shared counters.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor } = require('../lib/client.js');
const { startRedis } = require('../lib/servers-db.js');

const PROVIDER_ENV = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-redis', OPENAI_API_KEY: 'sk-oa-SECRET-redis' };
const MAX_OUT = 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// slow answers (the mock's delayMs before its headers), so requests overlap
const body = chatBody('openai/slow-first-byte', { max_tokens: MAX_OUT });
const WORST = Buffer.byteLength(JSON.stringify(body)) + MAX_OUT;

describe('three gateways, one Redis', () => {
  let redis;
  let mock;
  const nodes = [];

  before(async () => {
    redis = await startRedis({ password: 'redis-SECRET-pw-1234' });
    if (redis.skip) return;
    mock = await startMock();
    mock.configure({ delayMs: 150 });
    const conf = `[server]\nthreads = 8\n[shared]\nredis = ${redis.url}\nlease_s = 2\ntimeout_ms = 300\n`;
    for (let i = 0; i < 3; i++) nodes.push(await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf }));
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    if (mock) await mock.close();
    if (redis && !redis.skip) await redis.destroy();
  });

  // A key made on node 0 and known to every node (its state.db copied).
  async function newKey(args) {
    const r = await keysTool(nodes[0], ['create', '--name', 'fleet', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const key = r.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(r.stderr)[1];
    for (const n of nodes.slice(1)) {
      const tmp = path.join(n.stateDir, 'state.db.copy');
      fs.copyFileSync(path.join(nodes[0].stateDir, 'state.db'), tmp);
      fs.renameSync(tmp, path.join(n.stateDir, 'state.db'));
    }
    for (const n of nodes) {
      assert.ok(await waitFor(async () => (await request('GET', `${n.url}/v1/models`, { headers: bearer(key) })).status === 200, { timeoutMs: 5000 }));
    }
    return { key, id };
  }

  // n requests at once, spread over the three nodes
  async function burst(key, n) {
    const all = await Promise.all(Array.from({ length: n }, (_, i) =>
      request('POST', `${nodes[i % 3].url}/v1/chat/completions`, { headers: bearer(key), body })));
    for (const r of all) if (r.status !== 200) assert.equal(r.status, 429, JSON.stringify(r.json));
    return { served: all.filter((r) => r.status === 200), refused: all.filter((r) => r.status === 429) };
  }

  it('a token budget spent across three nodes stops at the limit', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const budget = WORST * 6;
    const { key, id } = await newKey(['--tokens', String(budget)]);
    const { served, refused } = await burst(key, 30);
    const spent = served.reduce((s, r) => s + r.json.usage.total_tokens, 0);
    assert.ok(served.length >= 1 && refused.length >= 1, `${served.length} served, ${refused.length} refused`);
    assert.ok(spent <= budget, `spent ${spent} of ${budget}`);
    for (const r of refused) assert.equal(r.json.error.code, 'insufficient_quota');
    // the fleet's counter holds what was spent (the answers' usage)
    assert.ok(await waitFor(() => Number(redis.cli('HGET', `llmgate:q:${id}:all`, 't')[0]) === spent, { timeoutMs: 3000 }));
    // and a node that served nothing of it refuses as well
    const more = await Promise.all(nodes.map((n) => request('POST', `${n.url}/v1/chat/completions`, { headers: bearer(key), body })));
    const left = budget - spent;
    for (const r of more) if (left < WORST) assert.equal(r.status, 429);
  });

  it('requests per minute count across nodes', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const { key } = await newKey(['--rpm', '5']);
    const { served, refused } = await burst(key, 9);
    assert.equal(served.length, 5);
    assert.equal(refused.length, 4);
    for (const r of refused) {
      assert.equal(r.json.error.code, 'rate_limit_exceeded');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    }
  });

  it('a node killed between reserve and record leaves no reservation past its lease', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const { key, id } = await newKey(['--tokens', '100000']);
    mock.configure({ delayMs: 4000 });
    const pending = request('POST', `${nodes[2].url}/v1/chat/completions`, { headers: bearer(key), body }).catch(() => null);
    assert.ok(await waitFor(() => Number(redis.cli('HLEN', `llmgate:q:${id}:res`)[0]) === 1, { timeoutMs: 3000 }), 'reserved');
    for (const pid of nodes[2].routerPids()) process.kill(pid, 'SIGKILL');
    await pending;
    mock.configure({ delayMs: 150 });
    // past the lease (2 s), the next check on another node drops it
    await sleep(2200);
    const r = await request('POST', `${nodes[0].url}/v1/chat/completions`, { headers: bearer(key), body });
    assert.equal(r.status, 200);
    // (this request's own usage replaces its reservation on the node's next tick)
    const spentNow = () => Number(redis.cli('HGET', `llmgate:q:${id}:all`, 't')[0]);
    assert.ok(await waitFor(() => spentNow() === r.json.usage.total_tokens, { timeoutMs: 2000 }), 'the killed request spent nothing');
    assert.equal(Number(redis.cli('HLEN', `llmgate:q:${id}:res`)[0]), 0);
  });

  it('Redis killed and back: answered meanwhile, /health says so, the usage catches up', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const { key, id } = await newKey(['--tokens', '100000']);
    await redis.stop();
    const during = [];
    for (let i = 0; i < 3; i++) {
      const r = await request('POST', `${nodes[i % 2].url}/v1/chat/completions`, { headers: bearer(key), body });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      during.push(r.json.usage.total_tokens);
    }
    assert.ok(await waitFor(async () => {
      const h = await request('GET', `${nodes[0].url}/health`);
      return h.json && JSON.stringify(h.json).includes('shared_state_unavailable');
    }, { timeoutMs: 3000 }), '/health names the shared state');
    const h = await request('GET', `${nodes[0].url}/health`);
    assert.ok(!JSON.stringify(h.json).includes('redis-SECRET-pw-1234'));
    await redis.start();
    // Redis comes back empty (nothing saved): the usage of the outage is sent again
    const want = during.reduce((a, b) => a + b, 0);
    assert.ok(await waitFor(() => Number(redis.cli('HGET', `llmgate:q:${id}:all`, 't')[0] || 0) === want, { timeoutMs: 5000 }),
      `counters caught up to ${want}: ${redis.cli('HGET', `llmgate:q:${id}:all`, 't')}`);
    assert.ok(await waitFor(async () => !JSON.stringify((await request('GET', `${nodes[0].url}/health`)).json).includes('shared_state_unavailable'), { timeoutMs: 3000 }));
  });
});
