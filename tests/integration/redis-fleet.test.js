// Three gateways sharing one real Redis (started here on loopback), each
// its own lighttpd, state folder and spool: a gateway key created or
// revoked on one node is honoured on the others within a second, and so
// is an upstream key added or removed there, and a setting changed on the
// admin page of a fourth node; an upstream key that answered
// 429 on one node is left alone on the others; an answer cached on one
// node is a hit on the others; Redis killed and started again under load
// (its append-only file kept): every request answered, every usage counted
// once, the limits in force again.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, keysTool, usageRecords } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor } = require('../lib/client.js');
const { startRedis } = require('../lib/servers-db.js');
const { startSite, AdminClient } = require('../lib/admin.js');

const THROTTLED = 'sk-ds-SECRET-fleet-one';
const PROVIDER_ENV = { OPENAI_API_KEY: 'sk-oa-SECRET-fleet', DEEPSEEK_API_KEY: `${THROTTLED},sk-ds-SECRET-fleet-two` };
// what "within a second" is held to: the wait from the change on node A
// until every other node honours it
const FLEET_MS = 1000;

describe('three gateways, one Redis: keys, cool-downs, cache, outage', () => {
  let redis;
  let mock;
  let site;   // a node with its admin page
  const nodes = [];

  before(async () => {
    redis = await startRedis({ password: 'redis-SECRET-fleet-pw', durable: true });
    if (redis.skip) return;
    mock = await startMock();
    const conf = `[shared]\nredis = ${redis.url}\ntimeout_ms = 300\n[cache]\nenabled = true\nttl_s = 600\n`;
    for (let i = 0; i < 3; i++) nodes.push(await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf }));
    site = await startSite({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf });
  });

  after(async () => {
    if (site) await site.stop();
    for (const n of nodes) await n.stop();
    if (mock) await mock.close();
    if (redis && !redis.skip) await redis.destroy();
  });

  const models = (n, key) => request('GET', `${n.url}/v1/models`, { headers: bearer(key) });
  // every other node answers status to key within FLEET_MS
  async function everywhere(key, status) {
    for (const n of nodes.slice(1)) {
      assert.ok(await waitFor(async () => (await models(n, key)).status === status, { timeoutMs: FLEET_MS, intervalMs: 20 }),
        `a node answers ${status} within ${FLEET_MS} ms`);
    }
  }

  it('a key created on A works on B and C, and once revoked on A stops there', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const r = await keysTool(nodes[0], ['create', '--name', 'fleet-key']);
    assert.equal(r.code, 0, r.stderr);
    const key = r.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(r.stderr)[1];
    await everywhere(key, 200);
    // the other nodes' own tools see it (their state.db holds it)
    const list = await keysTool(nodes[2], ['list']);
    assert.match(list.stdout, new RegExp(id));
    assert.ok(!redis.cli('HGET', 'llmgate:rec', `gwkey:${id}`)[0].includes(key), 'Redis holds the hash, not the key');
    const rv = await keysTool(nodes[0], ['revoke', id]);
    assert.equal(rv.code, 0, rv.stderr);
    await everywhere(key, 401);
  });

  it('an upstream key added on A is used on B, and once removed on A no longer', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const k = await keysTool(nodes[0], ['create', '--name', 'fleet-up']);
    const key = k.stdout.trim();
    await everywhere(key, 200);
    const body = chatBody('moonshot/kimi-k2');
    // no Moonshot key anywhere yet
    assert.notEqual((await request('POST', `${nodes[1].url}/v1/chat/completions`, { headers: bearer(key), body })).status, 200);
    const secret = 'sk-moon-SECRET-fleet-0123456789';
    const add = await keysTool(nodes[0], ['upstream', 'add', 'moonshot', '--label', 'shared'], { input: secret + '\n' });
    assert.equal(add.code, 0, add.stderr);
    const uid = /added upstream key (u_[0-9a-f]+)/.exec(add.stderr)[1];
    mock.reset();
    // no-store: each answer from the upstream, not the shared cache
    const chat = (n) => request('POST', `${n.url}/v1/chat/completions`, { headers: { ...bearer(key), 'cache-control': 'no-store' }, body });
    for (const n of nodes.slice(1)) {
      assert.ok(await waitFor(async () => (await chat(n)).status === 200, { timeoutMs: FLEET_MS, intervalMs: 20 }),
        'the other nodes answer with the key added on A');
      assert.equal(mock.requests().at(-1).headers.authorization, `Bearer ${secret}`);
    }
    const rm = await keysTool(nodes[0], ['upstream', 'remove', uid]);
    assert.equal(rm.code, 0, rm.stderr);
    for (const n of nodes.slice(1)) {
      assert.ok(await waitFor(async () => (await chat(n)).status === 404, { timeoutMs: FLEET_MS, intervalMs: 20 }),
        'the other nodes stop using the key removed on A');
    }
    const rec = redis.cli('HGET', 'llmgate:rec', `upkey:moonshot:${uid}`)[0];
    assert.ok(!rec.includes(secret), `the removal keeps no secret: ${rec}`);
    const list = await keysTool(nodes[1], ['upstream', 'list']);
    assert.ok(!list.stdout.includes(uid), list.stdout);
  });

  it('an upstream key that answered 429 on A is not tried on B or C', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const k = await keysTool(nodes[0], ['create', '--name', 'fleet-cool']);
    const key = k.stdout.trim();
    await everywhere(key, 200);
    const body = chatBody('deepseek/deepseek-chat');
    const chat = (n) => request('POST', `${n.url}/v1/chat/completions`, { headers: { ...bearer(key), 'cache-control': 'no-store' }, body });
    const usedThrottled = () => mock.requests().some((r) => r.headers.authorization === `Bearer ${THROTTLED}`);
    mock.reset();
    mock.configure({ keys: { [THROTTLED]: { status: 429, retryAfter: 60 } } });
    // node A meets the 429 (the other key answers the client)
    for (let i = 0; i < 4 && !usedThrottled(); i++) assert.equal((await chat(nodes[0])).status, 200);
    assert.ok(usedThrottled(), 'node A tried the throttled key');
    const cooling = async (n) => JSON.stringify((await request('GET', `${n.url}/health`)).json.providers).includes('"cooling"');
    for (const n of nodes.slice(1)) assert.ok(await waitFor(() => cooling(n), { timeoutMs: FLEET_MS }), 'the cool-down reached the node');
    mock.reset();   // the key would answer now: only the cool-down keeps it out
    for (let i = 0; i < 6; i++) assert.equal((await chat(nodes[1 + (i % 2)])).status, 200);
    assert.equal(mock.requests().length, 6);
    assert.ok(!usedThrottled(), 'nodes B and C left the throttled key alone');
    assert.ok(!JSON.stringify(redis.cli('HGETALL', 'llmgate:cool')).includes(THROTTLED), 'Redis names the key by a digest');
  });

  it('an answer stored on A is a cache hit on B and C', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const k = await keysTool(nodes[0], ['create', '--name', 'fleet-cache']);
    const key = k.stdout.trim();
    await everywhere(key, 200);
    const body = chatBody('openai/gpt-4o-mini', { messages: [{ role: 'user', content: 'A question for the fleet cache.' }] });
    mock.reset();
    const first = await request('POST', `${nodes[0].url}/v1/chat/completions`, { headers: bearer(key), body });
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-llmgate-cache'], 'miss');
    for (const n of nodes.slice(1)) {
      const r = await request('POST', `${n.url}/v1/chat/completions`, { headers: bearer(key), body });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-llmgate-cache'], 'hit');
      assert.deepEqual(r.json.choices, first.json.choices);
    }
    assert.equal(mock.requests().length, 1, 'the upstream answered once for the fleet');
    const [entry] = redis.cli('KEYS', 'llmgate:c:*');
    const ttl = Number(redis.cli('TTL', entry)[0]);
    assert.ok(ttl > 0 && ttl <= 600, `the entry expires with the cache's TTL: ${ttl}`);
  });

  it('Redis killed and started again under load: nothing lost, limits back in force', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const k = await keysTool(nodes[0], ['create', '--name', 'fleet-load', '--tokens', '1000000']);
    const key = k.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(k.stderr)[1];
    await everywhere(key, 200);
    mock.reset();
    // one client per node, each asking in turn until told to stop
    const served = [];
    let stop = false;
    const client = async (n) => {
      for (let i = 0; i < 60 && !stop; i++) {
        const r = await request('POST', `${n.url}/v1/chat/completions`, {
          headers: { ...bearer(key), 'cache-control': 'no-store' }, body: chatBody('openai/gpt-4o-mini') });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        served.push(r.json.usage.total_tokens);
      }
    };
    const load = Promise.all(nodes.map(client));
    const atLeast = (n) => waitFor(() => served.length >= n, { timeoutMs: 10000, intervalMs: 10 });
    assert.ok(await atLeast(6));
    await redis.stop();
    const down = served.length;
    assert.ok(await atLeast(down + 6), 'answered while Redis is away');
    await redis.start();
    const back = served.length;
    assert.ok(await atLeast(back + 6), 'answered once Redis is back');
    stop = true;
    await load;
    const spent = served.reduce((a, b) => a + b, 0);
    // every answer's usage counted once in the fleet's counters ...
    const counted = () => Number(redis.cli('HGET', `llmgate:q:${id}:all`, 't')[0] || 0);
    const ok = await waitFor(() => counted() === spent, { timeoutMs: 5000 });
    if (!ok) for (const n of nodes) console.log('router log:', n.errorLog().split('\n').filter((l) => /Redis|usage|shared/.test(l)).join('\n'));
    assert.ok(ok, `counted ${counted()} of ${spent}`);
    // ... and once in the usage spools of the three nodes
    const recs = nodes.flatMap((n) => usageRecords(n)).filter((r) => r.key_id === id);
    assert.equal(recs.length, served.length);
    // the budget, set to what was spent on node A, stops the key on every node
    const set = await keysTool(nodes[0], ['set', id, '--tokens', String(spent)]);
    assert.equal(set.code, 0, set.stderr);
    for (const n of nodes) {
      assert.ok(await waitFor(async () => (await request('POST', `${n.url}/v1/chat/completions`, {
        headers: bearer(key), body: chatBody('openai/gpt-4o-mini') })).status === 429, { timeoutMs: 2000 }), 'the budget holds');
    }
  });

  it('a Redis that lost its data is filled again from the nodes\' state.db', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const k = await keysTool(nodes[0], ['create', '--name', 'fleet-refill']);
    const id = /created key (k_[0-9a-f]+)/.exec(k.stderr)[1];
    await everywhere(k.stdout.trim(), 200);
    redis.cli('FLUSHALL');
    assert.ok(await waitFor(() => redis.cli('HEXISTS', 'llmgate:rec', `gwkey:${id}`)[0] === '1', { timeoutMs: FLEET_MS }));
  });

  it('a setting and a key changed on the admin page of one node reach the others', async (t) => {
    if (redis.skip) return t.skip(redis.skip);
    const admin = new AdminClient(site.url);
    assert.equal((await admin.setup('fleet-admin-pw-123456')).status, 201);
    assert.equal((await admin.login('fleet-admin-pw-123456')).status, 200);
    const made = await admin.call('POST', 'keys', { name: 'from-the-page' });
    assert.equal(made.status, 201, made.text);
    const key = made.json.key;
    await everywhere(key, 200);
    const chat = (n) => request('POST', `${n.url}/v1/chat/completions`, { headers: bearer(key), body: chatBody('team-fleet') });
    assert.equal((await chat(nodes[1])).status, 404);
    const put = await admin.call('PUT', 'settings', { aliases: { 'team-fleet': 'openai/gpt-4o-mini' } });
    assert.equal(put.status, 200, put.text);
    for (const n of nodes) {
      assert.ok(await waitFor(async () => (await chat(n)).status === 200, { timeoutMs: FLEET_MS, intervalMs: 20 }),
        'the alias set on the page is routed by every node');
    }
    // a later change on the page wins on every node, and the admin's own records stay its own
    assert.equal((await admin.call('PUT', 'settings', {})).status, 200);
    for (const n of nodes) assert.ok(await waitFor(async () => (await chat(n)).status === 404, { timeoutMs: FLEET_MS, intervalMs: 20 }));
    assert.ok(!redis.cli('HKEYS', 'llmgate:rec').some((f) => f.startsWith('admin')), 'no admin record in Redis');
  });
});
