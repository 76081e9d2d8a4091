// Upstream key pools: round-robin, cool-down on 429 (Retry-After or
// cooldown_s), blocking on 401/403, retry on 5xx, fallback chains.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, sleep, freePort } = require('../lib/harness.js');
const { request, chatBody, bearer, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-pool-0123456789abcdef';
const DS = ['sk-ds-SECRET-p1', 'sk-ds-SECRET-p2', 'sk-ds-SECRET-p3'];
const MS = ['sk-ms-SECRET-pA', 'sk-ms-SECRET-pB', 'sk-ms-SECRET-pC'];
const ZAI = ['zai-SECRET-only'];
const OA = ['sk-oa-SECRET-bad', 'sk-oa-SECRET-good'];
const SF = ['sk-sf-SECRET-500', 'sk-sf-SECRET-ok'];
const OR = ['sk-or-SECRET-x', 'sk-or-SECRET-y'];
const EX = ['ex-SECRET-long', 'ex-SECRET-fine'];
const EX2 = ['ex2-SECRET-403', 'ex2-SECRET-ok'];
const ALL = [...DS, ...MS, ...ZAI, ...OA, ...SF, ...OR, ...EX, ...EX2];

let mock;
let gw;
const post = (model) => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody(model) });
const keyOf = (r) => String(r.headers.authorization).replace(/^Bearer /, '');
const health = async () => (await request('GET', `${gw.url}/health`)).json;
const provider = (h, name) => h.providers.find((p) => p.name === name);

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: {
      ...mockEnv(mock),
      AUTH_KEY: GW_KEY,
      DEEPSEEK_API_KEY: DS.join(','),
      MOONSHOT_API_KEY: MS.join(','),
      ZAI_API_KEY: ZAI.join(','),
      OPENAI_API_KEY: OA.join(','),
      SILICONFLOW_API_KEY: SF.join(','),
      OPENROUTER_API_KEY: OR.join(','),
    },
    conf: buildConf({
      upstream: { cooldown_s: 1, max_attempts: 3, cooldown_long_after: 2, cooldown_long_s: 60 },
      providers: {
        extra: { base_url: `${mock.url}/extra/v1`, keys: EX.join(', '), models: 'extra-model' },
        extra2: { base_url: `${mock.url}/extra2/v1`, keys: EX2.join(', '), models: 'extra2-model' },
      },
    }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('key pool', () => {
  it('round-robins over the keys', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await post('deepseek-chat');
      assert.equal(res.status, 200, res.text);
    }
    const used = mock.requests().map(keyOf);
    assert.equal(used.length, 6);
    for (const k of DS) assert.equal(used.filter((u) => u === k).length, 2, `key ${k} used twice in 6 requests`);
    for (let i = 0; i + 1 < used.length; i++) assert.notEqual(used[i], used[i + 1], 'no key twice in a row');
  });

  it('a 429 cools the key down for Retry-After; the request is retried on another key', async () => {
    const B = MS[1];
    mock.configure({ keys: { [B]: { status: 429, retryAfter: 2, times: 1 } } });
    // Round-robin reaches B within three requests.
    for (let i = 0; i < 3; i++) {
      const res = await post('kimi-k2.5');
      assert.equal(res.status, 200, `every request succeeds: ${res.text}`);
      assert.equal(res.headers['x-llmgate-provider'], 'moonshot');
    }
    let reqs = mock.requests();
    const hit = reqs.find((r) => keyOf(r) === B);
    assert.ok(hit, 'key B was tried');
    assert.equal(hit.status, 429);
    const t429 = hit.t;
    const retry = reqs[reqs.indexOf(hit) + 1];
    assert.ok(retry, 'the 429 was retried');
    assert.notEqual(keyOf(retry), B);
    assert.deepEqual(retry.body, hit.body, 'the retry sends the same body');

    // While cooling, B is skipped and reported as cooling.
    const h = await health();
    const ms = provider(h, 'moonshot');
    const states = ms.keys.map((k) => k.state).sort();
    assert.deepEqual(states, ['active', 'active', 'cooling']);
    const cooling = ms.keys.find((k) => k.state === 'cooling');
    assert.ok(cooling.recent_429 >= 1, 'recent_429 counts the 429');
    assert.ok(cooling.cooldown_until !== undefined, 'cooldown_until is given for a cooling key');
    assert.equal(ms.available, 2);

    // cooldown_s is 1 here, so this also tells Retry-After from cooldown_s.
    while (Date.now() < t429 + 1500) {
      const res = await post('kimi-k2.5');
      assert.equal(res.status, 200, res.text);
      await sleep(40);
    }
    reqs = mock.requests();
    const early = reqs.filter((r) => keyOf(r) === B && r.t > t429);
    assert.equal(early.length, 0, 'B is not used during its cool-down');

    // After about Retry-After seconds B is used again.
    let back = null;
    const deadline = t429 + 4500;
    while (!back && Date.now() < deadline) {
      const res = await post('kimi-k2.5');
      assert.equal(res.status, 200, res.text);
      back = mock.requests().find((r) => keyOf(r) === B && r.t > t429);
      if (!back) await sleep(100);
    }
    assert.ok(back, 'B is used again after its cool-down');
    assert.ok(back.t - t429 >= 1500, `B came back after ${back.t - t429} ms, Retry-After was 2 s`);
    assert.equal(back.status, 200);
  });

  it('a 429 without Retry-After cools down for cooldown_s', async () => {
    const X = OR[0];
    mock.configure({ keys: { [X]: { status: 429, times: 1 } } });
    for (let i = 0; i < 2; i++) assert.equal((await post('openrouter/meta/llama-3-8b')).status, 200);
    const hit = mock.requests().find((r) => keyOf(r) === X && r.status === 429);
    assert.ok(hit, 'X answered 429');
    let back = null;
    const deadline = hit.t + 3500;
    while (!back && Date.now() < deadline) {
      assert.equal((await post('openrouter/meta/llama-3-8b')).status, 200);
      back = mock.requests().find((r) => keyOf(r) === X && r.t > hit.t);
      if (!back) await sleep(100);
    }
    assert.ok(back, 'X is used again after cooldown_s = 1');
  });

  it('when every key cools down the answer is 429 with Retry-After, without calling the upstream', async () => {
    mock.configure({ keys: { [ZAI[0]]: { status: 429, retryAfter: 30 } } });
    const first = await post('glm-5');
    assertError(first, 429);
    assert.match(String(first.headers['retry-after']), /^\d+$/);
    assert.equal(mock.requests().length, 1);
    const second = await post('glm-5');
    assertError(second, 429);
    const ra = Number(second.headers['retry-after']);
    assert.ok(ra >= 1 && ra <= 30, `Retry-After ${second.headers['retry-after']}`);
    assert.equal(mock.requests().length, 1, 'a cooling key is not tried');
    const zai = provider(await health(), 'zai');
    assert.equal(zai.available, 0);
    assert.equal(zai.keys[0].state, 'cooling');
    assert.ok(zai.keys[0].cooldown_until !== undefined);
  });

  it('a 401 blocks the key and the next key answers', async () => {
    const [bad, good] = OA;
    mock.configure({ keys: { [bad]: { status: 401 } } });
    for (let i = 0; i < 4; i++) {
      const res = await post('gpt-4o-mini');
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.text.includes(bad));
    }
    const used = mock.requests().map(keyOf);
    assert.equal(used.filter((k) => k === bad).length, 1, 'the bad key is tried once, then blocked');
    assert.equal(used.filter((k) => k === good).length, 4);
    const oa = provider(await health(), 'openai');
    const badState = oa.keys.map((k) => k.state).sort();
    assert.deepEqual(badState, ['active', 'blocked']);
    assert.equal(oa.available, 1);
  });

  it('a 403 blocks the key too', async () => {
    const [bad, good] = EX2;
    mock.configure({ keys: { [bad]: { status: 403 } } });
    for (let i = 0; i < 3; i++) {
      const res = await post('extra2-model');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-llmgate-provider'], 'extra2');
    }
    const used = mock.requests().map(keyOf);
    assert.equal(used.filter((k) => k === bad).length, 1);
    assert.equal(used.filter((k) => k === good).length, 3);
    const p = provider(await health(), 'extra2');
    assert.deepEqual(p.keys.map((k) => k.state).sort(), ['active', 'blocked']);
  });

  it('after cooldown_long_after 429s in a row a key cools down for cooldown_long_s', async () => {
    const [flaky] = EX;
    mock.configure({ keys: { [flaky]: { status: 429 } } }); // no Retry-After: cooldown_s = 1
    const send = async () => {
      const res = await post('extra-model');
      assert.equal(res.status, 200, res.text);
    };
    await send();
    await send();
    const first = mock.requests().find((r) => keyOf(r) === flaky);
    assert.ok(first && first.status === 429, 'first 429');
    // Wait out the short cool-down until the key is tried (and refused) again.
    let second = null;
    const deadline = first.t + 3500;
    while (!second && Date.now() < deadline) {
      await send();
      second = mock.requests().find((r) => keyOf(r) === flaky && r.t > first.t);
      if (!second) await sleep(100);
    }
    assert.ok(second, 'the key is tried again after cooldown_s');
    assert.equal(second.status, 429);
    // Second 429 in a row: now the long cool-down (60 s), far past cooldown_s.
    while (Date.now() < second.t + 2000) {
      await send();
      await sleep(100);
    }
    const later = mock.requests().filter((r) => keyOf(r) === flaky && r.t > second.t);
    assert.equal(later.length, 0, 'the key stays out for cooldown_long_s');
    const ex = provider(await health(), 'extra');
    const k = ex.keys.find((x) => x.state === 'cooling');
    assert.ok(k, 'the key is reported cooling');
    assert.ok(k.recent_429 >= 2, `recent_429 = ${k.recent_429}`);
  });

  it('a 5xx moves on to the next key', async () => {
    const [broken, ok] = SF;
    mock.configure({ keys: { [broken]: { status: 500 } } });
    for (let i = 0; i < 3; i++) {
      const res = await post('siliconflow/Qwen/QwQ-32B');
      assert.equal(res.status, 200, res.text);
    }
    const reqs = mock.requests();
    assert.ok(reqs.some((r) => keyOf(r) === broken && r.status === 500), 'the broken key was tried');
    assert.equal(reqs.filter((r) => keyOf(r) === ok && r.status === 200).length, 3);
  });
});

describe('fallback chains', () => {
  it('falls back to the next provider when every try on the first fails', async () => {
    const m2 = await startMock();
    const dead = await freePort(); // nothing listens there
    const g2 = await startGateway({
      env: { ...mockEnv(m2), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-f1', MOONSHOT_API_KEY: 'sk-ms-SECRET-f2' },
      conf: buildConf({
        upstream: { max_attempts: 3 },
        providers: {
          dead: { base_url: `http://127.0.0.1:${dead}/v1`, keys: 'dead-SECRET-1, dead-SECRET-2', models: 'dead-model, dead-alone' },
        },
        fallback: { 'deepseek-chat': 'moonshot/kimi-k2.5, zai/glm-5', 'dead-model': 'deepseek/deepseek-chat' },
      }),
    });
    try {
      m2.configure({ flavours: { deepseek: { status: 500 } } });
      const res = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-llmgate-provider'], 'moonshot');
      assert.equal(res.json.choices[0].message.content, 'Hello from moonshot mock model kimi-k2.5');
      const reqs = m2.requests();
      assert.ok(reqs.length >= 2 && reqs.length <= 3, `attempts ${reqs.length} within max_attempts`);
      assert.ok(reqs[0].path.startsWith('/deepseek/'));
      const last = reqs[reqs.length - 1];
      assert.equal(last.path, '/moonshot/v1/chat/completions');
      assert.equal(last.body.model, 'kimi-k2.5');
      assert.equal(last.headers.authorization, 'Bearer sk-ms-SECRET-f2');

      // A 4xx is the client's fault: no fallback.
      m2.reset();
      const bad = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek/error-400') });
      assertError(bad, 400);
      assert.ok(m2.requests().every((r) => r.path.startsWith('/deepseek/')), 'no fallback on a 400');

      // Connection refused: next key, then the fallback chain.
      m2.reset();
      const viaDead = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('dead-model') });
      assert.equal(viaDead.status, 200, viaDead.text);
      assert.equal(viaDead.headers['x-llmgate-provider'], 'deepseek');
      assert.equal(m2.requests().length, 1);
      assert.equal(m2.requests()[0].body.model, 'deepseek-chat');

      // Connection refused without a fallback: 502.
      const alone = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('dead-alone') });
      assertError(alone, 502);
      assert.ok(!alone.text.includes('dead-SECRET'), alone.text);

      // Every key of the primary rate-limited: the fallback answers, and
      // while the key cools down the primary is not even tried.
      m2.reset();
      m2.configure({ flavours: { deepseek: { status: 429, retryAfter: 30 } } });
      for (let i = 0; i < 2; i++) {
        const r = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers['x-llmgate-provider'], 'moonshot');
      }
      assert.equal(m2.requests().filter((r) => r.path.startsWith('/deepseek/')).length, 1, 'the cooling key is skipped');
    } finally {
      await g2.stop();
      await m2.close();
    }
  });
});

describe('secrets', () => {
  it('no provider key in any answer or in the error log', () => {
    assertNoSecrets(transcript(), [...ALL, 'sk-ds-SECRET-f1', 'sk-ms-SECRET-f2', 'dead-SECRET-1', 'dead-SECRET-2'], 'an answer');
    assertNoSecrets([gw.errorLog()], [...ALL, GW_KEY], 'the error log');
  });
});
