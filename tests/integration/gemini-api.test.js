// Gemini's API as a client dialect (/v1beta/models/{model}:generateContent,
// :streamGenerateContent, :countTokens, GET /v1beta/models): the official
// @google/genai SDK, streamed and not, against a DeepSeek model
// (translated to OpenAI chat and back) and a Claude model (to Anthropic),
// and against a Gemini model (the client's body passed as it is); the
// JSON-array stream; tools; keys by x-goog-api-key, ?key= and Bearer;
// errors in Gemini's shape with nothing recorded; usage records exact with
// the right stream flag. Reasoning across dialects: what each upstream
// received for OpenAI's reasoning_effort, Anthropic's thinking and Gemini's
// thinkingConfig, and thoughts carried back.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const Anthropic = require('@anthropic-ai/sdk');
const { GoogleGenAI } = require('@google/genai');
const { startMock, startGateway, mockEnv, sleep, usageRecords } = require('../lib/harness.js');
const { request } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-gemini-api-0123456789';
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-gapi-SECRET-1', GEMINI_API_KEY: 'gem-gapi-SECRET-1',
  DEEPSEEK_API_KEY: 'sk-ds-gapi-SECRET-1', OPENAI_API_KEY: 'sk-oa-gapi-SECRET-1',
};
const WEATHER = { functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] };

let mock;
let gw;
let ai;
const answers = [];

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
  ai = new GoogleGenAI({ apiKey: GW_KEY, httpOptions: { baseUrl: gw.url } });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const lastUpstream = (prefix) => mock.requests().filter((q) => q.path.startsWith(prefix)).at(-1);

const records = () => usageRecords(gw);

// The newest record of endpoint (bounded wait: written as the answer ends).
async function newestRecord(count) {
  for (let i = 0; i < 100; i++) {
    const all = records();
    if (all.length >= count) return all.at(-1);
    await sleep(50);
  }
  assert.fail('no new usage record');
}

function post(model, verb, body, headers = { 'x-goog-api-key': GW_KEY }, query = '') {
  return request('POST', `${gw.url}/v1beta/models/${model}:${verb}${query}`, { headers, body }).then((r) => {
    answers.push(r.text);
    return r;
  });
}

const hello = (text = 'Hello there') => ({ contents: [{ role: 'user', parts: [{ text }] }] });

describe('the @google/genai SDK against other providers', () => {
  for (const [model, prefix, upPath] of [['deepseek-chat', '/deepseek/', '/deepseek/chat/completions'],
    ['claude-sonnet-4-5', '/anthropic/', '/anthropic/v1/messages']]) {
    it(`${model}: generateContent, translated, usage recorded exactly`, async () => {
      const before = records().length;
      const r = await ai.models.generateContent({ model, contents: 'Hello there',
        config: { systemInstruction: 'Be brief.', maxOutputTokens: 200, temperature: 0.5 } });
      assert.match(r.text, /^Hello from/);
      assert.equal(r.candidates[0].finishReason, 'STOP');
      const up = lastUpstream(prefix);
      assert.equal(up.path, upPath);
      const rec = await newestRecord(before + 1);
      assert.equal(rec.endpoint, 'generate_content');
      assert.equal(rec.stream, false);
      assert.equal(rec.estimated, false);
      assert.equal(rec.prompt, r.usageMetadata.promptTokenCount);
      assert.equal(rec.completion, r.usageMetadata.candidatesTokenCount + (r.usageMetadata.thoughtsTokenCount || 0));
    });

    it(`${model}: generateContentStream, text as it comes, usage on the last chunk`, async () => {
      const before = records().length;
      const s = await ai.models.generateContentStream({ model, contents: 'Hello there' });
      let text = '';
      let last;
      let chunks = 0;
      for await (const c of s) {
        chunks++;
        text += c.text || '';
        last = c;
      }
      assert.ok(chunks > 2, `${chunks} chunks`);
      assert.match(text, /^Hello from/);
      assert.equal(last.candidates[0].finishReason, 'STOP');
      const rec = await newestRecord(before + 1);
      assert.equal(rec.stream, true);
      assert.equal(rec.estimated, false);
      assert.equal(rec.prompt, last.usageMetadata.promptTokenCount);
      assert.equal(rec.completion, last.usageMetadata.candidatesTokenCount);
    });
  }

  it('a function call round trip to DeepSeek (Gemini Schema to JSON Schema, ids kept)', async () => {
    const first = await ai.models.generateContent({ model: 'deepseek-chat', contents: 'Weather in Paris?',
      config: { tools: [WEATHER] } });
    const call = first.functionCalls[0];
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(call.args, { city: 'Paris' });
    let up = lastUpstream('/deepseek/');
    assert.deepEqual(up.body.tools[0].function.parameters,
      { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
    const second = await ai.models.generateContent({ model: 'deepseek-chat', config: { tools: [WEATHER] },
      contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }, first.candidates[0].content,
        { role: 'user', parts: [{ functionResponse: { id: call.id, name: 'get_weather', response: { output: 'Sunny' } } }] }] });
    assert.equal(second.candidates[0].content.parts[0].functionCall.name, 'get_weather');
    up = lastUpstream('/deepseek/');
    assert.deepEqual(up.body.messages.slice(1).map((m) => m.role), ['assistant', 'tool']);
    assert.equal(up.body.messages[2].tool_call_id, up.body.messages[1].tool_calls[0].id);
    assert.equal(up.body.messages[2].content, 'Sunny');
  });

  it('countTokens: an estimate for DeepSeek, sent nowhere and not recorded', async () => {
    const before = records().length;
    const n = mock.requests().length;
    const r = await ai.models.countTokens({ model: 'deepseek-chat', contents: 'abcdefgh' });
    assert.equal(r.totalTokens, 3, 'the bytes of every string ("abcdefgh", "user") / 4');
    assert.equal(mock.requests().length, n);
    await sleep(100);
    assert.equal(records().length, before);
  });
});

describe('a Gemini model: the client body passed as it is', () => {
  it('streamed with thoughts and a thought signature, every field kept, recorded exactly', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'Weather?' }] }], tools: [WEATHER],
      generationConfig: { thinkingConfig: { thinkingLevel: 'HIGH', includeThoughts: true }, topK: 7 } };
    const before = records().length;
    const r = await post('gemini-3-pro-preview', 'streamGenerateContent', body, { 'x-goog-api-key': GW_KEY }, '?alt=sse');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    const up = lastUpstream('/gemini/');
    assert.equal(up.path, '/gemini/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse');
    assert.deepEqual(up.body, body);
    assert.equal(up.headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
    const events = r.text.split('\r\n\r\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')));
    const parts = events.flatMap((e) => e.candidates[0].content.parts);
    const fc = parts.find((p) => p.functionCall);
    assert.ok(fc.thoughtSignature, 'the signature reaches the client');
    assert.ok(parts.some((p) => p.thought));
    const rec = await newestRecord(before + 1);
    assert.equal(rec.stream, true);
    const um = events.at(-1).usageMetadata;
    assert.equal(rec.prompt, um.promptTokenCount);
    assert.equal(rec.reasoning, um.thoughtsTokenCount);
    // the next turn with the signature echoed: Gemini 3 takes it
    const next = await post('gemini-3-pro-preview', 'generateContent', { ...body, contents: [...body.contents,
      { role: 'model', parts: [fc] }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { t: 20 } } }] }] });
    assert.equal(next.status, 200, next.text);
    assert.equal(lastUpstream('/gemini/').body.contents[1].parts[0].thoughtSignature, fc.thoughtSignature);
  });

  it('countTokens goes to Gemini and is recorded with no tokens', async () => {
    const before = records().length;
    const r = await post('gemini-2.5-flash', 'countTokens', hello());
    assert.equal(r.status, 200);
    assert.ok(r.json.totalTokens > 0);
    assert.equal(lastUpstream('/gemini/').path, '/gemini/v1beta/models/gemini-2.5-flash:countTokens');
    const rec = await newestRecord(before + 1);
    assert.equal(rec.endpoint, 'count_tokens');
    assert.equal(rec.prompt + rec.completion, 0);
    assert.equal(rec.cost, 0);
  });
});

describe('the JSON-array stream, keys and errors', () => {
  it('streamGenerateContent without alt=sse is one JSON array', async () => {
    for (const model of ['deepseek-reasoner', 'gemini-2.5-flash']) {
      const r = await post(model, 'streamGenerateContent', { ...hello(), generationConfig: { thinkingConfig: { includeThoughts: true } } });
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'], /^application\/json/);
      assert.ok(Array.isArray(r.json) && r.json.length > 2, r.text);
      assert.equal(r.json.at(-1).candidates[0].finishReason, 'STOP');
      if (model === 'deepseek-reasoner') assert.ok(r.json.some((e) => e.candidates && e.candidates[0].content.parts.some((p) => p.thought)));
    }
  });

  it('the key as ?key= and as a Bearer token; GET models', async () => {
    let r = await post('deepseek-chat', 'generateContent', hello(), {}, `?key=${GW_KEY}`);
    assert.equal(r.status, 200);
    r = await post('gemini-2.5-flash', 'streamGenerateContent', hello(), {}, `?alt=sse&key=${GW_KEY}`);
    assert.equal(r.status, 200);
    const up = lastUpstream('/gemini/');
    assert.equal(up.path, '/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'the gateway key stays here');
    assert.ok(!JSON.stringify(up.headers).includes(GW_KEY));
    r = await post('deepseek-chat', 'generateContent', hello(), { Authorization: `Bearer ${GW_KEY}` });
    assert.equal(r.status, 200);
    r = await request('GET', `${gw.url}/v1beta/models`, { headers: { 'x-goog-api-key': GW_KEY } });
    assert.ok(r.json.models.some((m) => m.name === 'models/deepseek-chat' && m.supportedGenerationMethods.includes('generateContent')));
    r = await request('GET', `${gw.url}/v1beta/models/deepseek-chat`, { headers: { 'x-goog-api-key': GW_KEY } });
    assert.equal(r.json.name, 'models/deepseek-chat');
    r = await post('deepseek-chat', 'generateContent', hello(), { 'x-goog-api-key': GW_KEY });
    const v1 = await request('POST', `${gw.url}/v1/models/deepseek-chat:generateContent`, { headers: { 'x-goog-api-key': GW_KEY }, body: hello() });
    assert.equal(v1.status, 200);
    assert.match(v1.json.candidates[0].content.parts[0].text, /^Hello from/);
    // ids with colons under /v1/models stay OpenAI's (fine-tuned models): its 404 shape
    r = await request('GET', `${gw.url}/v1/models/ft:gpt-4o:acme::x1`, { headers: { Authorization: `Bearer ${GW_KEY}` } });
    assert.equal(r.json.error.code, 'model_not_found');
    assert.equal(r.json.error.type, 'invalid_request_error');
  });

  it('errors in Gemini\'s shape, nothing sent upstream, nothing recorded', async () => {
    const before = records().length;
    const n = mock.requests().length;
    const cases = [
      [await post('deepseek-chat', 'generateContent', hello(), {}), 401, 'UNAUTHENTICATED'],
      [await post('deepseek-chat', 'generateContent', hello(), { 'x-goog-api-key': 'gk-wrong' }), 401, 'UNAUTHENTICATED'],
      [await post('no-such-model', 'generateContent', hello()), 404, 'NOT_FOUND'],
      [await post('deepseek-chat', 'generateContent', { ...hello(), bogus: 1 }), 400, 'INVALID_ARGUMENT'],
      [await post('deepseek-chat', 'generateContent', '{"contents":[],"contents":[]}'), 400, 'INVALID_ARGUMENT'],
      [await post('deepseek-chat', 'generateContent', { ...hello(), tools: [{ googleSearch: {} }] }), 400, 'INVALID_ARGUMENT'],
      [await post('deepseek-chat', 'embedContent', hello()), 404, 'NOT_FOUND'],
      [await request('GET', `${gw.url}/v1beta/models/deepseek-chat:generateContent`, { headers: { 'x-goog-api-key': GW_KEY } }), 405, 'FAILED_PRECONDITION'],
    ];
    for (const [r, status, name] of cases) {
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, status);
      assert.equal(r.json.error.status, name);
      assert.equal(typeof r.json.error.message, 'string');
    }
    assert.equal(mock.requests().length, n);
    await sleep(100);
    assert.equal(records().length, before);
  });

  it('an upstream error comes back in Gemini\'s shape', async () => {
    const r = await post('deepseek/error-400', 'generateContent', hello());
    assert.equal(r.status, 400);
    assert.equal(r.json.error.status, 'INVALID_ARGUMENT');
  });
});

describe('reasoning across dialects: what the upstream received', () => {
  const oai = () => new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const ant = () => new Anthropic({ apiKey: GW_KEY, baseURL: gw.url, maxRetries: 0 });

  it('Gemini thinkingConfig to DeepSeek (reasoning_effort), Anthropic (thinking) and back as thoughts', async () => {
    const body = { ...hello(), generationConfig: { thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } } };
    await post('deepseek-reasoner', 'generateContent', body);
    let up = lastUpstream('/deepseek/');
    assert.equal(up.body.reasoning_effort, 'medium');
    assert.equal(up.body.llmgate_reasoning, undefined);
    const r = await post('claude-sonnet-4-5', 'generateContent', body);
    assert.equal(r.status, 200, r.text);
    up = lastUpstream('/anthropic/');
    assert.deepEqual(up.body.thinking, { type: 'enabled', budget_tokens: 8192 });
    assert.equal(up.body.max_tokens, 8192 + 4096);
  });

  it('OpenAI reasoning_effort to Gemini (thinkingConfig) and Anthropic (thinking)', async () => {
    const c = oai();
    const r = await c.chat.completions.create({ model: 'gemini-2.5-pro', reasoning_effort: 'high',
      messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(r.choices[0].message.reasoning_content, 'Gemini thoughts come back as reasoning_content');
    assert.deepEqual(lastUpstream('/gemini/').body.generationConfig.thinkingConfig, { thinkingBudget: 24576, includeThoughts: true });
    await c.chat.completions.create({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', max_tokens: 3000,
      messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(lastUpstream('/anthropic/').body.thinking, { type: 'enabled', budget_tokens: 1024 });
  });

  it('Responses reasoning.effort to Anthropic; Anthropic thinking to Gemini and DeepSeek', async () => {
    await oai().responses.create({ model: 'claude-sonnet-4-5', input: 'Hi', reasoning: { effort: 'medium' } });
    assert.deepEqual(lastUpstream('/anthropic/').body.thinking, { type: 'enabled', budget_tokens: 8192 });
    const a = ant();
    const m = await a.messages.create({ model: 'gemini-2.5-pro', max_tokens: 20000,
      thinking: { type: 'enabled', budget_tokens: 10000 }, messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(lastUpstream('/gemini/').body.generationConfig.thinkingConfig, { thinkingBudget: 10000, includeThoughts: true });
    assert.equal(m.content[0].type, 'thinking', 'Gemini thoughts come back as a thinking block');
    await a.messages.create({ model: 'deepseek-chat', max_tokens: 100, thinking: { type: 'adaptive' },
      messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(lastUpstream('/deepseek/').body.reasoning_effort, 'medium');
  });
});

describe('Anthropic thinking signatures across tool turns', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const q = { role: 'user', content: 'Weather in Paris?' };

  it('OpenAI chat, buffered and streamed: thinking_blocks go back and thinking stays on', async () => {
    const c = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const first = await c.chat.completions.create({ model: 'claude-thinking-4', reasoning_effort: 'low', messages: [q], tools });
    const msg = first.choices[0].message;
    assert.deepEqual(msg.thinking_blocks, [{ type: 'thinking', thinking: 'Let me think.', signature: 'EqQBmocksig' }]);
    const tool = { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'Sunny' };
    const r = await c.chat.completions.create({ model: 'claude-thinking-4', reasoning_effort: 'low', messages: [q, msg, tool], tools });
    assert.match(r.choices[0].message.content, /Tool said: Sunny/);
    let up = lastUpstream('/anthropic/');
    assert.equal(up.body.thinking.type, 'enabled');
    assert.deepEqual(up.body.messages[1].content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBmocksig' });
    // streamed: the signature comes as a thinking_blocks delta after the reasoning_content
    const s = await c.chat.completions.create({ model: 'claude-thinking-4', reasoning_effort: 'low', messages: [q], tools, stream: true });
    let reasoning = '';
    let sig;
    let call;
    for await (const ch of s) {
      const d = ch.choices[0] && ch.choices[0].delta;
      if (!d) continue;
      reasoning += d.reasoning_content || '';
      if (d.thinking_blocks) sig = d.thinking_blocks[0].signature;
      if (d.tool_calls && d.tool_calls[0].id) call = d.tool_calls[0];
    }
    assert.equal(reasoning, 'Let me think.');
    assert.equal(sig, 'EqQBmocksig');
    const echoed = { role: 'assistant', content: null, reasoning_content: reasoning, thinking_blocks: [{ type: 'thinking', signature: sig }],
      tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
    const r2 = await c.chat.completions.create({ model: 'claude-thinking-4', reasoning_effort: 'low', tools,
      messages: [q, echoed, { role: 'tool', tool_call_id: call.id, content: 'Rain' }] });
    assert.match(r2.choices[0].message.content, /Tool said: Rain/);
    up = lastUpstream('/anthropic/');
    assert.deepEqual(up.body.messages[1].content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBmocksig' });
  });

  it('a Gemini client: the signature rides on the thought part', async () => {
    const decl = { functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } } } }] };
    const gen = { thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } };
    const body = { contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }], tools: [decl], generationConfig: gen };
    const first = await post('claude-thinking-4', 'generateContent', body);
    const parts = first.json.candidates[0].content.parts;
    assert.deepEqual(parts[0], { text: 'Let me think.', thought: true, thoughtSignature: 'EqQBmocksig' });
    const fc = parts.find((p) => p.functionCall).functionCall;
    const r = await post('claude-thinking-4', 'generateContent', { ...body, contents: [...body.contents, { role: 'model', parts },
      { role: 'user', parts: [{ functionResponse: { id: fc.id, name: fc.name, response: { output: 'Sunny' } } }] }] });
    assert.equal(r.status, 200, r.text);
    const up = lastUpstream('/anthropic/');
    assert.deepEqual(up.body.thinking, { type: 'enabled', budget_tokens: 2048 });
    assert.deepEqual(up.body.messages[1].content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBmocksig' });
  });

  it('without the blocks, a tool loop is sent without thinking rather than refused', async () => {
    const c = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const r = await c.chat.completions.create({ model: 'claude-thinking-4', reasoning_effort: 'low', tools, messages: [q,
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny' }] });
    assert.match(r.choices[0].message.content, /Tool said/);
    assert.equal(lastUpstream('/anthropic/').body.thinking, undefined);
  });
});

describe('Gemini 3 thought signatures across tool turns, through every dialect', () => {
  const fn = { name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
  const MODEL = 'gemini-3-pro-preview';   // the mock refuses a call turn without its signature, as Gemini 3 does
  const sentBack = () => lastUpstream('/gemini/').body.contents[1].parts.find((p) => p.functionCall).thoughtSignature;

  it('OpenAI chat: the signature rides in the tool call id', async () => {
    const c = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const tools = [{ type: 'function', function: fn }];
    const q = { role: 'user', content: 'Weather in Paris?' };
    const first = await c.chat.completions.create({ model: MODEL, messages: [q], tools });
    const msg = first.choices[0].message;
    const r = await c.chat.completions.create({ model: MODEL, tools,
      messages: [q, msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'Sunny' }] });
    assert.match(r.choices[0].message.content, /Tool said/);
    assert.ok(sentBack() && msg.tool_calls[0].id.endsWith(sentBack()));
  });

  it('Anthropic messages: the signature rides in the tool_use id', async () => {
    const a = new Anthropic({ apiKey: GW_KEY, baseURL: gw.url, maxRetries: 0 });
    const tools = [{ name: fn.name, description: fn.description, input_schema: fn.parameters }];
    const q = { role: 'user', content: 'Weather in Paris?' };
    const first = await a.messages.create({ model: MODEL, max_tokens: 200, messages: [q], tools });
    const use = first.content.find((b) => b.type === 'tool_use');
    const r = await a.messages.create({ model: MODEL, max_tokens: 200, tools, messages: [q,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny' }] }] });
    assert.equal(r.stop_reason, 'end_turn');
    assert.ok(sentBack());
  });

  it('Responses: the signature rides in the call_id', async () => {
    const c = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const tools = [{ type: 'function', ...fn, strict: false }];
    const first = await c.responses.create({ model: MODEL, input: 'Weather in Paris?', tools, store: false });
    const call = first.output.find((o) => o.type === 'function_call');
    const r = await c.responses.create({ model: MODEL, tools, store: false, input: [
      { role: 'user', content: 'Weather in Paris?' }, call,
      { type: 'function_call_output', call_id: call.call_id, output: 'Sunny' }] });
    assert.match(r.output_text, /Tool said/);
    assert.ok(sentBack());
  });
});

describe('secrets', () => {
  it('no key in answers or logs', () => {
    const text = answers.join('\n') + gw.errorLog();
    for (const k of Object.values(KEYS)) assert.ok(!text.includes(k), 'no upstream key in answers or logs');
  });
});
