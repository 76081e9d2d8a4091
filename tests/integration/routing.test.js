// Routing, request rewriting and pass-through of non-streaming chat
// completions, /v1/models and /health, through lighttpd + llmgate-router.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, chatBody, expectedPromptTokens, bearer, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-routing-0123456789abcdef';
const KEYS = {
  deepseek: 'sk-ds-env-SECRET-0001',
  deepseekFile: 'sk-ds-file-SECRET-0002',
  moonshot: 'sk-ms-SECRET-0003',
  zaiFile: 'zai-file-SECRET-0004',
  openai: 'sk-oa-SECRET-0005',
  siliconflow: 'sk-sf-SECRET-0006',
  openrouter: 'sk-or-SECRET-0007',
  myhost: 'mh-SECRET-0008',
};

// model asked by the client -> [provider, path the mock sees, upstream model]
const ROUTES = [
  ['kimi-k2.5', 'moonshot', '/moonshot/v1/chat/completions', 'kimi-k2.5'],
  ['kimi-k2-0905-preview', 'moonshot', '/moonshot/v1/chat/completions', 'kimi-k2-0905-preview'],
  ['kimi-k2-thinking', 'moonshot', '/moonshot/v1/chat/completions', 'kimi-k2-thinking'],
  ['deepseek-chat', 'deepseek', '/deepseek/chat/completions', 'deepseek-chat'],
  ['deepseek-reasoner', 'deepseek', '/deepseek/chat/completions', 'deepseek-reasoner'],
  ['glm-5', 'zai', '/zai/api/paas/v4/chat/completions', 'glm-5'],
  // prefixes
  ['deepseek-v9-preview', 'deepseek', '/deepseek/chat/completions', 'deepseek-v9-preview'],
  ['kimi-latest', 'moonshot', '/moonshot/v1/chat/completions', 'kimi-latest'],
  ['moonshot-v1-8k', 'moonshot', '/moonshot/v1/chat/completions', 'moonshot-v1-8k'],
  ['glm-4.5-air', 'zai', '/zai/api/paas/v4/chat/completions', 'glm-4.5-air'],
  ['gpt-4o-mini', 'openai', '/openai/v1/chat/completions', 'gpt-4o-mini'],
  ['o1-mini', 'openai', '/openai/v1/chat/completions', 'o1-mini'],
  ['o3-mini', 'openai', '/openai/v1/chat/completions', 'o3-mini'],
  ['o4-mini', 'openai', '/openai/v1/chat/completions', 'o4-mini'],
  // explicit provider/model
  ['siliconflow/Qwen/QwQ-32B', 'siliconflow', '/siliconflow/v1/chat/completions', 'Qwen/QwQ-32B'],
  ['openrouter/anthropic/claude-3.5-sonnet', 'openrouter', '/openrouter/api/v1/chat/completions', 'anthropic/claude-3.5-sonnet'],
  ['deepseek/deepseek-chat', 'deepseek', '/deepseek/chat/completions', 'deepseek-chat'],
  ['moonshot/some-new-model', 'moonshot', '/moonshot/v1/chat/completions', 'some-new-model'],
  // aliases
  ['fast', 'zai', '/zai/api/paas/v4/chat/completions', 'glm-5'],
  ['team-default', 'deepseek', '/deepseek/chat/completions', 'deepseek-chat'],
  // a provider defined in the config file
  ['my-model-1', 'my-host', '/myhost/v1/chat/completions', 'my-model-1'],
  ['myh-other', 'my-host', '/myhost/v1/chat/completions', 'myh-other'],
];

const PROVIDER_KEY = {
  deepseek: KEYS.deepseek,
  moonshot: KEYS.moonshot,
  zai: KEYS.zaiFile,
  openai: KEYS.openai,
  siliconflow: KEYS.siliconflow,
  openrouter: KEYS.openrouter,
  'my-host': KEYS.myhost,
};

let mock;
let gw;
const chat = (body, headers = bearer(GW_KEY)) => request('POST', `${gw.url}/v1/chat/completions`, { headers, body });

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: {
      ...mockEnv(mock),
      AUTH_KEY: GW_KEY,
      DEEPSEEK_API_KEY: KEYS.deepseek,
      MOONSHOT_API_KEY: KEYS.moonshot,
      OPENAI_API_KEY: KEYS.openai,
      SILICONFLOW_API_KEY: KEYS.siliconflow,
      OPENROUTER_API_KEY: KEYS.openrouter,
      MY_HOST_API_KEY: KEYS.myhost,
    },
    conf: buildConf({
      providers: {
        // the environment wins over the file
        deepseek: { keys: KEYS.deepseekFile },
        // keys from the file only
        zai: { keys: KEYS.zaiFile },
        'my-host': { base_url: `${mock.url}/myhost/v1`, models: 'my-model-1', prefixes: 'myh-' },
      },
      aliases: { fast: 'zai/glm-5', 'team-default': 'deepseek/deepseek-chat' },
    }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('model routing', () => {
  for (const [model, provider, path, upstreamModel] of ROUTES) {
    it(`${model} -> ${provider} as ${upstreamModel}`, async () => {
      const res = await chat(chatBody(model));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-llmgate-provider'], provider);
      const reqs = mock.requests();
      assert.equal(reqs.length, 1, 'exactly one upstream request');
      const up = reqs[0];
      assert.equal(up.method, 'POST');
      assert.equal(up.path, path);
      assert.equal(up.body.model, upstreamModel);
      assert.equal(up.headers.authorization, `Bearer ${PROVIDER_KEY[provider]}`);
      const flavour = ['deepseek', 'moonshot', 'zai'].includes(provider) ? provider : 'openai';
      assert.equal(res.json.choices[0].message.content, `Hello from ${flavour} mock model ${upstreamModel}`);
    });
  }

  it('an unknown model is 404 model_not_found and reaches no upstream', async () => {
    const res = await chat(chatBody('llama-unknown-42'));
    assertError(res, 404, { code: 'model_not_found' });
    assert.equal(mock.requests().length, 0);
  });

  it('an unknown provider in provider/model is 404 model_not_found', async () => {
    const res = await chat(chatBody('nosuchprovider/some-model'));
    assertError(res, 404, { code: 'model_not_found' });
    assert.equal(mock.requests().length, 0);
  });
});

describe('request rewriting and pass-through', () => {
  it('sends the body unchanged except the model (non-stream)', async () => {
    const body = {
      model: 'team-default',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'héllo wörld 世界 🚀 "quoted" \\ back\nslash' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'text', text: 'part two' }] },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 50,
      seed: 7,
      user: 'user-1',
      stop: ['\n\n', 'END'],
      response_format: { type: 'text' },
      x_custom_field: { nested: [1, 'two', null, true, { deep: 1.5 }] },
      metadata: {},
    };
    const res = await chat(body);
    assert.equal(res.status, 200, res.text);
    const up = mock.requests()[0];
    assert.deepEqual(up.body, { ...body, model: 'deepseek-chat' });
    assert.equal(up.body.stream_options, undefined, 'no stream_options added to a non-stream request');
  });

  it('does not forward the gateway key or client auth headers upstream', async () => {
    const res = await chat(chatBody('gpt-4o-mini'), { 'x-api-key': GW_KEY });
    assert.equal(res.status, 200, res.text);
    const up = mock.requests()[0];
    assert.equal(up.headers.authorization, `Bearer ${KEYS.openai}`);
    assert.ok(!JSON.stringify(up.headers).includes(GW_KEY), 'gateway key must not reach the upstream');
    assert.match(String(up.headers['content-type']), /^application\/json/);
  });

  it('returns the upstream JSON with its usage (deepseek cache fields)', async () => {
    const body = chatBody('deepseek-chat');
    const res = await chat(body);
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const p = expectedPromptTokens(body);
    assert.equal(res.json.object, 'chat.completion');
    assert.equal(res.json.choices[0].finish_reason, 'stop');
    assert.deepEqual(res.json.usage, {
      prompt_tokens: p,
      completion_tokens: 6,
      total_tokens: p + 6,
      prompt_tokens_details: { cached_tokens: 0 },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: p,
    });
  });

  it('passes reasoning_content and reasoning token details through', async () => {
    const res = await chat(chatBody('deepseek-reasoner'));
    assert.equal(res.status, 200, res.text);
    const msg = res.json.choices[0].message;
    assert.equal(msg.reasoning_content, 'Let me think.');
    assert.equal(msg.content, 'Hello from deepseek mock model deepseek-reasoner');
    assert.equal(res.json.usage.completion_tokens_details.reasoning_tokens, 3);
  });

  it('passes tools through and returns tool_calls', async () => {
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const body = chatBody('kimi-k2.5', { tools, tool_choice: 'auto' });
    const res = await chat(body);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(mock.requests()[0].body, body);
    const choice = res.json.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
    assert.equal(choice.message.tool_calls[0].function.arguments, '{"city":"Paris"}');
  });

  it('passes logprobs through', async () => {
    const res = await chat(chatBody('gpt-4o-mini', { logprobs: true, top_logprobs: 2 }));
    assert.equal(res.status, 200, res.text);
    assert.equal(mock.requests()[0].body.top_logprobs, 2);
    const lp = res.json.choices[0].logprobs;
    assert.ok(lp && Array.isArray(lp.content), 'logprobs.content present');
    assert.equal(lp.content.length, 6);
    assert.equal(lp.content[0].token, 'Hello');
    assert.equal(lp.content[0].logprob, -0.25);
  });
});

describe('GET /v1/models', () => {
  it('lists the models of providers with keys, and aliases, in OpenAI shape', async () => {
    const res = await request('GET', `${gw.url}/v1/models`, { headers: bearer(GW_KEY) });
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.json.object, 'list');
    assert.ok(Array.isArray(res.json.data));
    const byId = new Map(res.json.data.map((m) => [m.id, m]));
    for (const m of res.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.id, 'string');
      assert.equal(typeof m.created, 'number');
      assert.equal(typeof m.owned_by, 'string');
    }
    const expect = {
      'deepseek-chat': 'deepseek',
      'deepseek-reasoner': 'deepseek',
      'kimi-k2.5': 'moonshot',
      'kimi-k2-0905-preview': 'moonshot',
      'kimi-k2-thinking': 'moonshot',
      'glm-5': 'zai',
      'my-model-1': 'my-host',
    };
    for (const [id, owner] of Object.entries(expect)) {
      assert.ok(byId.has(id), `models lists ${id}`);
      assert.equal(byId.get(id).owned_by, owner, `owned_by of ${id}`);
    }
    assert.ok(byId.has('fast'), 'aliases are listed');
    assert.ok(byId.has('team-default'), 'aliases are listed');
    assert.equal(new Set(res.json.data.map((m) => m.id)).size, res.json.data.length, 'no duplicate ids');
    assert.equal(mock.requests().length, 0, '/v1/models does not call upstreams');
  });

  it('needs a gateway key', async () => {
    const res = await request('GET', `${gw.url}/v1/models`);
    assertError(res, 401, { code: 'invalid_api_key' });
  });
});

describe('GET /health', () => {
  it('answers without auth, lists providers and key states, never a key', async () => {
    const res = await request('GET', `${gw.url}/health`);
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const h = res.json;
    assert.equal(h.status, 'ok');
    assert.equal(typeof h.version, 'string');
    assert.ok(h.version.length > 0);
    assert.ok(Array.isArray(h.providers));
    const byName = new Map(h.providers.map((p) => [p.name, p]));
    for (const name of ['deepseek', 'moonshot', 'zai', 'openai', 'siliconflow', 'openrouter', 'my-host']) {
      const p = byName.get(name);
      assert.ok(p, `health lists provider ${name}`);
      assert.ok(Array.isArray(p.keys), `${name}.keys is an array`);
      assert.equal(p.keys.length, 1, `${name} has one key (env wins over file for deepseek)`);
      for (const k of p.keys) {
        assert.ok(k.id !== undefined && k.id !== null, 'key has an id');
        assert.equal(k.state, 'active');
        assert.equal(typeof k.recent_429, 'number');
      }
      assert.equal(p.available, 1);
    }
    assertNoSecrets([res.text], [...Object.values(KEYS), GW_KEY], '/health');
  });
});

describe('keyless providers', () => {
  it('a provider without keys is neither listed nor routed', async () => {
    const m2 = await startMock();
    const g2 = await startGateway({
      env: { ...mockEnv(m2), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: KEYS.deepseek },
      conf: buildConf({ aliases: { fast: 'deepseek/deepseek-chat' } }),
    });
    try {
      const models = await request('GET', `${g2.url}/v1/models`, { headers: bearer(GW_KEY) });
      assert.equal(models.status, 200, models.text);
      const ids = models.json.data.map((m) => m.id);
      assert.ok(ids.includes('deepseek-chat'));
      assert.ok(ids.includes('fast'));
      for (const id of ['glm-5', 'kimi-k2.5', 'kimi-k2-thinking']) assert.ok(!ids.includes(id), `${id} must not be listed`);
      for (const m of models.json.data) assert.ok(['deepseek'].includes(m.owned_by), `owned_by ${m.owned_by} of ${m.id}`);

      const res = await request('POST', `${g2.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('glm-5') });
      assertError(res, 404, { code: 'model_not_found' });
      assert.equal(m2.requests().length, 0, 'no upstream request for a keyless provider');
    } finally {
      await g2.stop();
      await m2.close();
    }
  });
});

describe('secrets', () => {
  it('no provider key in any answer or in the error log', () => {
    const secrets = Object.values(KEYS);
    assertNoSecrets(transcript(), secrets, 'an answer');
    assertNoSecrets([gw.errorLog()], [...secrets, GW_KEY], 'the error log');
  });
});
