// Every dialect through the router: the official OpenAI SDK against Claude
// and Gemini models (translated to Anthropic's and Gemini's wire formats and
// back), and the official Anthropic SDK against /v1/messages routed both to
// an OpenAI-format provider (translated) and to Anthropic (passed through),
// plain, streaming and with tools; errors in the caller's dialect; usage
// recorded for all of them.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const OpenAI = require('openai');
const Anthropic = require('@anthropic-ai/sdk');
const { startMock, startGateway, mockEnv, sleep } = require('../lib/harness.js');
const { request, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-dialects-0123456789';
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-dialects-SECRET-1', GEMINI_API_KEY: 'gem-dialects-SECRET-1',
  DEEPSEEK_API_KEY: 'sk-ds-dialects-SECRET-1',
};
const TOOLS = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

let mock;
let gw;
let oai;
let ant;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
  oai = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  ant = new Anthropic({ apiKey: GW_KEY, baseURL: gw.url, maxRetries: 0 });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const lastUpstream = (prefix) => mock.requests().filter((q) => q.path.startsWith(prefix)).at(-1);

describe('OpenAI SDK to a Claude model', () => {
  it('plain: translated to the Messages API and back', async () => {
    const r = await oai.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello Claude' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.ok(r.choices[0].message.content.length > 0);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
    const up = lastUpstream('/anthropic/');
    assert.equal(up.path, '/anthropic/v1/messages');
    assert.equal(up.headers['x-api-key'], KEYS.ANTHROPIC_API_KEY);
    assert.equal(up.headers['anthropic-version'], '2023-06-01');
    assert.equal(up.headers.authorization, undefined, 'no Bearer to Anthropic');
    assert.equal(up.body.system, 'Be brief.');
    assert.equal(up.body.model, 'claude-sonnet-4-5');
    assert.ok(up.body.max_tokens > 0, 'max_tokens filled in');
  });

  it('streaming: Anthropic events become chat.completion.chunks', async () => {
    const s = await oai.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    let finish = null;
    for await (const ch of s) {
      if (ch.usage) usage = ch.usage;
      const c = ch.choices[0];
      if (c && c.delta.content) text += c.delta.content;
      if (c && c.finish_reason) finish = c.finish_reason;
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0);
    assert.equal(lastUpstream('/anthropic/').body.stream, true);
  });

  it('tools: tool_use comes back as tool_calls', async () => {
    const r = await oai.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: TOOLS });
    const tc = r.choices[0].message.tool_calls;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(tc[0].function.name, 'get_weather');
    assert.doesNotThrow(() => JSON.parse(tc[0].function.arguments));
    assert.equal(lastUpstream('/anthropic/').body.tools[0].name, 'get_weather');
  });

  it('an upstream error comes back in OpenAI shape', async () => {
    await assert.rejects(oai.chat.completions.create({ model: 'anthropic/error-400', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.BadRequestError && typeof e.message === 'string');
  });
});

describe('OpenAI SDK to a Gemini model', () => {
  it('plain: generateContent with the key in x-goog-api-key', async () => {
    const r = await oai.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello Gemini' }] });
    assert.ok(r.choices[0].message.content.length > 0);
    assert.ok(r.usage.total_tokens > 0);
    const up = lastUpstream('/gemini/');
    assert.equal(up.path, '/gemini/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(up.headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
    assert.ok(up.body.systemInstruction, 'system prompt as systemInstruction');
    assert.equal(up.body.contents[0].role, 'user');
  });

  it('streaming via streamGenerateContent?alt=sse', async () => {
    const s = await oai.chat.completions.create({ model: 'google-ai-studio/gemini-2.0-flash', messages: [{ role: 'user', content: 'Stream please' }], stream: true });
    let text = '';
    let finish = null;
    for await (const ch of s) {
      const c = ch.choices[0];
      if (c && c.delta.content) text += c.delta.content;
      if (c && c.finish_reason) finish = c.finish_reason;
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'stop');
    assert.match(lastUpstream('/gemini/').path, /:streamGenerateContent\?alt=sse$/);
  });

  it('a safety block is a clear finish reason, not an error', async () => {
    const r = await oai.chat.completions.create({ model: 'gemini/blocked', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.choices[0].finish_reason, 'content_filter');
  });

  it('function calling', async () => {
    const r = await oai.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Weather in Rome?' }], tools: TOOLS });
    assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
    assert.ok(lastUpstream('/gemini/').body.tools[0].functionDeclarations);
  });
});

describe('Anthropic SDK on /v1/messages', () => {
  it('routed to an OpenAI-format provider: translated both ways', async () => {
    const m = await ant.messages.create({ model: 'deepseek-chat', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello DeepSeek' }] });
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.match(m.content[0].text, /Hello from deepseek mock/);
    assert.equal(m.stop_reason, 'end_turn');
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
    const up = lastUpstream('/deepseek/');
    assert.equal(up.headers.authorization, `Bearer ${KEYS.DEEPSEEK_API_KEY}`);
    assert.equal(up.body.messages[0].role, 'system');
  });

  it('routed to an OpenAI-format provider, streaming', async () => {
    const s = ant.messages.stream({ model: 'deepseek-chat', max_tokens: 200, messages: [{ role: 'user', content: 'Stream it' }] });
    let text = '';
    s.on('text', (t) => { text += t; });
    const final = await s.finalMessage();
    assert.match(text, /Hello from deepseek mock/);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0);
  });

  it('tools through an OpenAI-format provider', async () => {
    const m = await ant.messages.create({ model: 'deepseek-chat', max_tokens: 200, messages: [{ role: 'user', content: 'Weather?' }],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: TOOLS[0].function.parameters }] });
    assert.equal(m.stop_reason, 'tool_use');
    const tu = m.content.find((b) => b.type === 'tool_use');
    assert.equal(tu.name, 'get_weather');
    assert.equal(typeof tu.input, 'object');
  });

  it('routed to Anthropic: passed through, the gateway key swapped for a pool key', async () => {
    const m = await ant.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(m.type, 'message');
    const up = lastUpstream('/anthropic/');
    assert.equal(up.headers['x-api-key'], KEYS.ANTHROPIC_API_KEY);
    assert.equal(up.body.max_tokens, 100);
    assert.deepEqual(up.body.messages, [{ role: 'user', content: 'Hi' }], 'the body went through untouched');
    const s = ant.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
    const final = await s.finalMessage();
    assert.ok(final.content[0].text.length > 0);
  });

  it('errors in Anthropic shape: bad key, unknown model, bad body', async () => {
    const bad = new Anthropic({ apiKey: 'gk-wrong', baseURL: gw.url, maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: 'deepseek-chat', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.AuthenticationError);
    await assert.rejects(ant.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.NotFoundError);
    const raw = await request('POST', `${gw.url}/v1/messages`, { headers: { 'x-api-key': GW_KEY }, body: '{"model":' });
    assert.equal(raw.status, 400);
    assert.equal(raw.json.type, 'error');
    assert.equal(raw.json.error.type, 'invalid_request_error');
  });
});

describe('usage for every dialect', () => {
  it('records name the endpoint and carry the upstream usage', async () => {
    await sleep(5500);   // the spool segment closes
    const dir = path.join(gw.stateDir, 'spool');
    const recs = fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
      .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    const claude = recs.filter((r) => r.provider === 'anthropic' && r.status === 200);
    const gem = recs.filter((r) => r.provider === 'gemini' && r.status === 200);
    const msgs = recs.filter((r) => r.endpoint === 'messages' && r.status === 200);
    assert.ok(claude.length >= 3 && claude.every((r) => r.prompt > 0 && r.completion > 0 && !r.estimated), JSON.stringify(claude));
    assert.ok(gem.length >= 3 && gem.every((r) => r.prompt > 0 && !r.estimated), JSON.stringify(gem));
    assert.ok(msgs.length >= 5 && msgs.every((r) => r.prompt > 0 && r.completion > 0), JSON.stringify(msgs));
    const text = recs.map((r) => JSON.stringify(r)).join('\n') + gw.errorLog();
    for (const k of [...Object.values(KEYS), GW_KEY]) assert.ok(!text.includes(k), 'no key in records or logs');
  });
});
