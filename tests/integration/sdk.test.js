// The official OpenAI SDK (npm "openai", installed by `npm ci` in tests/)
// against the gateway: chat, streaming, models, and its error classes.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { expectedPromptTokens } = require('../lib/client.js');

let OpenAI;
try {
  OpenAI = require('openai');
} catch (e) {
  throw new Error(`npm package "openai" missing: run "npm ci" in tests/ (${e.message})`);
}

const GW_KEY = 'gk-sdk-0123456789abcdef';

let mock;
let gw;
let client;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-sdk', MOONSHOT_API_KEY: 'sk-ms-SECRET-sdk' },
    conf: buildConf(),
  });
  client = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 10000 });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

const messages = [{ role: 'user', content: 'Hello from the SDK test.' }];

describe('OpenAI SDK', () => {
  it('chat.completions.create', async () => {
    const r = await client.chat.completions.create({ model: 'deepseek-chat', messages, temperature: 0 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
    const p = expectedPromptTokens({ messages });
    assert.equal(r.usage.prompt_tokens, p);
    assert.equal(r.usage.total_tokens, p + 6);
    const up = mock.requests()[0];
    assert.equal(up.headers.authorization, 'Bearer sk-ds-SECRET-sdk');
    assert.equal(up.body.temperature, 0);
  });

  it('streaming chat: deltas and usage', async () => {
    const s = await client.chat.completions.create({
      model: 'kimi-k2.5', messages, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let finish = null;
    for await (const chunk of s) {
      chunks += 1;
      const c = chunk.choices[0];
      if (c && c.delta && c.delta.content) text += c.delta.content;
      if (c && c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(text, 'Hello from moonshot mock model kimi-k2.5');
    assert.equal(finish, 'stop');
    assert.ok(chunks >= 7, `chunks: ${chunks}`);
    assert.equal(mock.requests()[0].body.stream_options.include_usage, true);
  });

  it('streaming helper (chat.completions.stream) assembles the message', async () => {
    const runner = client.chat.completions.stream({ model: 'deepseek-chat', messages });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
  });

  it('models.list()', async () => {
    const ids = [];
    for await (const m of await client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('deepseek-chat'));
    assert.ok(ids.includes('kimi-k2.5'));
    assert.ok(!ids.includes('glm-5'), 'zai has no key here');
  });

  it('a bad key raises AuthenticationError', async () => {
    const bad = new OpenAI({ apiKey: 'gk-not-a-key', baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 10000 });
    await assert.rejects(bad.chat.completions.create({ model: 'deepseek-chat', messages }), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
    assert.equal(mock.requests().length, 0);
  });

  it('an unknown model raises NotFoundError', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model-9', messages }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      return true;
    });
  });

  it('an upstream 400 raises BadRequestError with the upstream message', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'deepseek/error-400', messages }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `got ${e && e.constructor && e.constructor.name}`);
      assert.match(e.message, /mock error-400/);
      return true;
    });
  });
});
