// Settings that change while the router runs: upstream keys added, disabled
// and removed with llmgate-keys (state.db), and a changed config file, are
// picked up within a second without a restart; pool state is published
// for the admin without any key in it.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError } = require('../lib/checks.js');

const GW_KEY = 'gk-state-test-0123456789';
const STATE_KEY = 'sk-state-added-SECRET-0001';

let mock;
let gw;
const chat = (model) => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody(model) });

before(async () => {
  mock = await startMock();
  // no DEEPSEEK_API_KEY: deepseek starts without keys
  gw = await startGateway({ env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, MOONSHOT_API_KEY: 'sk-moon-conf-0001' }, conf: buildConf() });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('upstream keys in state.db', () => {
  let id;

  it('a provider without keys is not routable', async () => {
    assertError(await chat('deepseek-chat'), 404, { code: 'model_not_found' });
  });

  it('a key added with llmgate-keys is used within a second', async () => {
    const add = await keysTool(gw, ['upstream', 'add', 'deepseek', '--label', 'team'], { input: STATE_KEY + '\n' });
    assert.equal(add.code, 0, add.stderr);
    id = add.stdout.trim();
    assert.match(id, /^u_[0-9a-f]{8}$/);
    const res = await waitFor(async () => { const r = await chat('deepseek-chat'); return r.status === 200 ? r : null; });
    assert.ok(res, 'the router picked the key up');
    const sent = mock.requests().filter((q) => q.path.startsWith('/deepseek/'));
    assert.equal(sent.at(-1).headers.authorization, `Bearer ${STATE_KEY}`);
  });

  it('the listing never shows the key', async () => {
    const list = await keysTool(gw, ['upstream', 'list']);
    assert.equal(list.code, 0);
    assert.ok(list.stdout.includes(id));
    assert.ok(!list.stdout.includes(STATE_KEY));
    assert.ok(list.stdout.includes('sk-…0001'), list.stdout);
  });

  it('pool state is published per process, without the key', async () => {
    const dir = path.join(gw.stateDir, 'run');
    const file = await waitFor(() => {
      const f = fs.existsSync(dir) && fs.readdirSync(dir).find((n) => /^pools-\d+\.json$/.test(n));
      if (!f) return null;
      const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const ds = j.providers.find((p) => p.name === 'deepseek');
      return ds && ds.keys.some((k) => k.id === id && k.uses >= 1) ? j : null;
    });
    assert.ok(file, 'pools file lists the state key');
    const ds = file.providers.find((p) => p.name === 'deepseek');
    const k = ds.keys.find((x) => x.id === id);
    assert.equal(k.source, 'state');
    assert.equal(k.state, 'active');
    assert.ok(k.uses >= 1);
    const text = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(dir, e.name), 'utf8')).join('\n');
    assert.ok(!text.includes(STATE_KEY) && !text.includes('sk-moon-conf-0001'), 'no key in the published state');
  });

  it('a disabled key is no longer used; enabled again it is', async () => {
    assert.equal((await keysTool(gw, ['upstream', 'disable', id])).code, 0);
    assert.ok(await waitFor(async () => (await chat('deepseek-chat')).status === 404), 'disabled: no key left');
    assert.equal((await keysTool(gw, ['upstream', 'enable', id])).code, 0);
    assert.ok(await waitFor(async () => (await chat('deepseek-chat')).status === 200), 'enabled again');
  });

  it('a removed key is gone; unknown ids are refused', async () => {
    assert.equal((await keysTool(gw, ['upstream', 'remove', id])).code, 0);
    assert.ok(await waitFor(async () => (await chat('deepseek-chat')).status === 404));
    const again = await keysTool(gw, ['upstream', 'remove', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no upstream key with id/);
  });

  it('bad input changes nothing', async () => {
    const before = (await keysTool(gw, ['upstream', 'list', '--json'])).stdout;
    assert.notEqual((await keysTool(gw, ['upstream', 'add', 'Bad Name'], { input: 'sk-x-000000000000\n' })).code, 0);
    assert.notEqual((await keysTool(gw, ['upstream', 'add', 'deepseek'], { input: 'has space inside\n' })).code, 0);
    assert.notEqual((await keysTool(gw, ['upstream', 'add', 'deepseek'], { input: '' })).code, 0);
    assert.equal((await keysTool(gw, ['upstream', 'list', '--json'])).stdout, before);
  });
});

describe('config file changes', () => {
  it('an alias added to the file is routable without a restart', async () => {
    assertError(await chat('team-fast'), 404, { code: 'model_not_found' });
    fs.appendFileSync(gw.confPath, '\n[aliases]\nteam-fast = moonshot/kimi-k2.5\n');
    const res = await waitFor(async () => { const r = await chat('team-fast'); return r.status === 200 ? r : null; });
    assert.ok(res, 'alias picked up');
    assert.equal(mock.requests().at(-1).body.model, 'kimi-k2.5');
  });

  it('a broken file is refused and the router keeps serving', async () => {
    fs.appendFileSync(gw.confPath, '\n[server]\nthreads = many\n');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await chat('team-fast')).status, 200);
    assert.ok(await waitFor(() => /config not reloaded: .*threads/.test(gw.errorLog())), 'the error is logged');
  });
});
