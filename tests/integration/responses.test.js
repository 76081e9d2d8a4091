// The OpenAI Responses API (POST /v1/responses) through the router: the
// official OpenAI SDK's responses.create and responses.stream against an
// OpenAI (passed through natively to its /responses, or translated when
// the provider says responses = translate), DeepSeek, a Claude model and a
// Gemini model (translated through the internal chat form to each wire
// format and back):
// text answers, a function tool round trip, Codex's custom and local_shell
// tools on translated routes (their own items back, streamed and not, and
// a custom tool's output sent back), the streamed event sequence
// checked against the documented order, usage in the answer equal to what
// the mock reported and to the usage record; bad input answered 400 in
// OpenAI's shape with nothing sent upstream and nothing recorded.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const OpenAI = require('openai');
const { startMock, startGateway, mockEnv, sleep } = require('../lib/harness.js');
const { request, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-responses-0123456789';
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-responses-SECRET-1', GEMINI_API_KEY: 'gem-responses-SECRET-1',
  DEEPSEEK_API_KEY: 'sk-ds-responses-SECRET-1', OPENAI_API_KEY: 'sk-oa-responses-SECRET-1',
};
const TOOLS = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
const MODELS = [
  { model: 'deepseek-chat', prefix: '/deepseek/', text: 'Hello from deepseek mock model deepseek-chat' },
  { model: 'gpt-4o', prefix: '/openai/', text: 'Hello from responses mock model gpt-4o' },   // native
  { model: 'claude-sonnet-4-5', prefix: '/anthropic/', text: 'Hello from anthropic mock model claude-sonnet-4-5' },
  { model: 'gemini-2.5-flash', prefix: '/gemini/', text: null },
];

let mock;
let gw;
let oai;
const answers = [];

before(async () => {
  mock = await startMock();
  // gpt-translated: an OpenAI-compatible provider told to translate
  const providers = { 'oai-translated': { base_url: `${mock.url}/openai/v1`, keys: KEYS.OPENAI_API_KEY,
    models: 'gpt-translated', responses: 'translate' } };
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf({ providers }) });
  oai = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 20000 });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const lastUpstream = (prefix) => mock.requests().filter((q) => q.path.startsWith(prefix)).at(-1);

// Every usage record so far (open and closed segments).
function records() {
  const dir = path.join(gw.stateDir, 'spool');
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

// The record of request id (bounded wait: it is written as the answer ends).
async function recordOf(id) {
  for (let i = 0; i < 100; i++) {
    const r = records().find((x) => x.id === id);
    if (r) return r;
    await sleep(50);
  }
  assert.fail(`no usage record for ${id}`);
}

function assertUsage(usage, rec) {
  assert.ok(usage && usage.input_tokens > 0 && usage.output_tokens > 0, JSON.stringify(usage));
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
  assert.equal(rec.endpoint, 'responses');
  assert.equal(rec.estimated, false);
  assert.equal(rec.prompt, usage.input_tokens);
  assert.equal(rec.completion, usage.output_tokens);
  assert.equal(rec.cached, usage.input_tokens_details.cached_tokens);
  assert.equal(rec.reasoning, usage.output_tokens_details.reasoning_tokens);
}

// The documented order of a streamed response's events.
function checkOrder(types) {
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
  assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)), types.join(' '));
  let open = null;
  for (const t of types.slice(2, -1)) {
    if (t === 'response.output_item.added') {
      assert.equal(open, null, `item opened inside another: ${types.join(' ')}`);
      open = 'item';
    } else if (t === 'response.output_item.done') {
      assert.equal(open, 'item', types.join(' '));
      open = null;
    } else {
      assert.equal(open, 'item', `${t} outside an item: ${types.join(' ')}`);
    }
  }
  const text = types.indexOf('response.output_text.delta');
  if (text >= 0) {
    assert.ok(types.indexOf('response.content_part.added') < text);
    assert.ok(types.lastIndexOf('response.output_text.delta') < types.indexOf('response.output_text.done'));
    assert.ok(types.indexOf('response.output_text.done') < types.indexOf('response.content_part.done'));
  }
  const args = types.indexOf('response.function_call_arguments.delta');
  if (args >= 0)
    assert.ok(types.lastIndexOf('response.function_call_arguments.delta') < types.indexOf('response.function_call_arguments.done'));
}

for (const m of MODELS) {
  describe(`Responses API to ${m.model}`, () => {
    it('responses.create: text, usage equal to the record', async () => {
      const { data: r, request_id: rid } = await oai.responses.create({
        model: m.model, instructions: 'Be brief.', input: 'Hello there', max_output_tokens: 200,
      }).withResponse();
      answers.push(JSON.stringify(r));
      assert.equal(r.object, 'response');
      assert.equal(r.status, 'completed');
      assert.match(r.id, /^resp_/);
      assert.equal(r.model, m.model);
      const msg = r.output.find((o) => o.type === 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.content[0].type, 'output_text');
      if (m.text) assert.equal(r.output_text, m.text);
      else assert.ok(r.output_text.length > 0);
      const up = lastUpstream(m.prefix);
      assert.ok(JSON.stringify(up.body).includes('Be brief.'), 'instructions sent as the system prompt');
      assert.ok(JSON.stringify(up.body).includes('Hello there'));
      assertUsage(r.usage, await recordOf(rid));
    });

    it('function tool round trip', async () => {
      const first = await oai.responses.create({ model: m.model, input: 'Weather in Paris?', tools: TOOLS });
      answers.push(JSON.stringify(first));
      const call = first.output.find((o) => o.type === 'function_call');
      assert.ok(call, JSON.stringify(first.output));
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
      assert.match(call.id, /^fc_/);
      const second = await oai.responses.create({
        model: m.model, tools: TOOLS,
        input: [
          { role: 'user', content: 'Weather in Paris?' },
          { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' },
        ],
      });
      answers.push(JSON.stringify(second));
      assert.equal(second.status, 'completed');
      const up = lastUpstream(m.prefix);
      assert.ok(JSON.stringify(up.body).includes('18C and sunny'), 'the tool output went upstream');
      if (m.model.startsWith('claude') || m.model.startsWith('gpt')) assert.equal(second.output_text, 'Tool said: 18C and sunny');
    });

    it('responses.stream: the documented event sequence, usage equal to the record', async () => {
      const stream = oai.responses.stream({ model: m.model, input: 'Stream please' });
      const types = [];
      let text = '';
      let seq = -1;
      for await (const ev of stream) {
        types.push(ev.type);
        assert.equal(ev.sequence_number, seq + 1);
        seq = ev.sequence_number;
        if (ev.type === 'response.output_text.delta') text += ev.delta;
      }
      const final = await stream.finalResponse();
      answers.push(JSON.stringify(final));
      checkOrder(types);
      assert.ok(types.includes('response.output_text.delta'));
      assert.equal(final.output_text, text);
      if (m.text) assert.equal(text, m.text);
      const rid = records().filter((x) => x.endpoint === 'responses' && x.stream).map((x) => x.id);
      assert.ok(rid.length > 0);
      const rec = await recordOf(rid.at(-1));
      assert.equal(rec.model, m.model);
      assertUsage(final.usage, rec);
    });

    it('streamed function call: output item with argument deltas', async () => {
      const stream = oai.responses.stream({ model: m.model, input: 'Weather in Paris?', tools: TOOLS });
      const types = [];
      for await (const ev of stream) types.push(ev.type);
      const final = await stream.finalResponse();
      answers.push(JSON.stringify(final));
      checkOrder(types);
      assert.ok(types.includes('response.function_call_arguments.done'), types.join(' '));
      const call = final.output.find((o) => o.type === 'function_call');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
      assert.equal(call.name, 'get_weather');
    });
  });
}

describe('Responses API: native to OpenAI, translated when configured', () => {
  const post = (body) => request('POST', `${gw.url}/v1/responses`, {
    headers: { ...bearer(GW_KEY), 'Content-Type': 'application/json' }, body });

  it('to the openai provider: the bytes as sent, the upstream\'s answer, store and previous_response_id its own', async () => {
    const body = '{"model":"gpt-4o",  "input":"Keep it","store":true,"previous_response_id":"resp_upstream1","metadata":{"k":"v"}}';
    const res = await post(body);
    answers.push(res.text);
    assert.equal(res.status, 200, res.text);
    const up = lastUpstream('/openai/');
    assert.equal(up.path, '/openai/v1/responses');
    assert.equal(up.raw, body);
    assert.equal(res.json.id, `resp_mock${up.id}`, 'the upstream\'s own response id');
    assert.deepEqual(res.json.usage, up.usageReported);
    const rec = await recordOf(res.headers['x-request-id']);
    assert.equal(rec.endpoint, 'responses');
    assert.equal(rec.provider, 'openai');
    assert.equal(rec.stream, false);
    assertUsage(res.json.usage, rec);
    const kept = await request('GET', `${gw.url}/v1/responses/${res.json.id}`, { headers: bearer(GW_KEY) });
    assert.equal(kept.status, 404, 'nothing stored at the gateway');
  });

  it('streamed natively: the upstream\'s events as sent, usage from response.completed', async () => {
    const res = await post(JSON.stringify({ model: 'gpt-4o', input: 'Stream it', stream: true }));
    answers.push(res.text);
    assert.equal(res.status, 200);
    const up = lastUpstream('/openai/');
    assert.equal(up.path, '/openai/v1/responses');
    assert.match(res.text, new RegExp(`"id":"resp_mock${up.id}"`));
    const rec = await recordOf(res.headers['x-request-id']);
    assert.equal(rec.stream, true);
    assertUsage(up.usageReported, rec);
  });

  it('responses = translate: the same provider kind through chat completions', async () => {
    const res = await post(JSON.stringify({ model: 'gpt-translated', input: 'Translate me' }));
    answers.push(res.text);
    assert.equal(res.status, 200, res.text);
    const up = lastUpstream('/openai/');
    assert.equal(up.path, '/openai/v1/chat/completions');
    assert.match(res.json.id, /^resp_[0-9a-f]{16}$/);
    assertUsage(res.json.usage, await recordOf(res.headers['x-request-id']));
  });
});

// Codex's tool kinds on translated routes: custom (free-form) and
// local_shell tools as chat functions, their calls back as their own items.
for (const m of MODELS.filter((x) => x.model !== 'gpt-4o' && x.model !== 'gemini-2.5-flash')) {
  describe(`Responses API custom and local_shell tools to ${m.model}`, () => {
    const TOOLS2 = [{ type: 'custom', name: 'apply_patch', description: 'Edit files.',
      format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } }, { type: 'local_shell' }];
    after(() => mock.configure({ toolCall: null }));

    it('a local_shell call, not streamed', async () => {
      mock.configure({ toolCall: { name: 'local_shell', arguments: { action: { type: 'exec', command: ['ls', '-l'] } } } });
      const r = await oai.responses.create({ model: m.model, input: 'List files', tools: TOOLS2 });
      answers.push(JSON.stringify(r));
      const call = r.output.find((o) => o.type === 'local_shell_call');
      assert.ok(call, JSON.stringify(r.output));
      assert.deepEqual(call.action, { type: 'exec', command: ['ls', '-l'] });
      assert.equal(call.status, 'completed');
      const up = lastUpstream(m.prefix);
      assert.ok(JSON.stringify(up.body.tools).includes('local_shell'));
    });

    it('a custom tool call streamed, then its output sent back', async () => {
      mock.configure({ toolCall: { name: 'apply_patch', arguments: { input: '*** Begin Patch\n' } } });
      const stream = oai.responses.stream({ model: m.model, input: 'Patch it', tools: TOOLS2 });
      const types = [];
      for await (const ev of stream) types.push(ev.type);
      const final = await stream.finalResponse();
      answers.push(JSON.stringify(final));
      checkOrder(types);
      assert.ok(types.includes('response.custom_tool_call_input.delta') && types.includes('response.custom_tool_call_input.done'),
        types.join(' '));
      assert.ok(!types.includes('response.function_call_arguments.delta'));
      const call = final.output.find((o) => o.type === 'custom_tool_call');
      assert.equal(call.name, 'apply_patch');
      assert.equal(call.input, '*** Begin Patch\n');
      const second = await oai.responses.create({
        model: m.model, tools: TOOLS2,
        input: [{ role: 'user', content: 'Patch it' },
          { type: 'custom_tool_call', call_id: call.call_id, name: 'apply_patch', input: call.input },
          { type: 'custom_tool_call_output', call_id: call.call_id, output: 'Done!' }],
      });
      answers.push(JSON.stringify(second));
      assert.equal(second.output_text, 'Tool said: Done!');
      const up = JSON.stringify(lastUpstream(m.prefix).body);
      assert.ok(up.includes('Done!') && up.includes('*** Begin Patch'), up.slice(0, 400));
    });
  });
}

describe('Responses API: upstream failures and limits', () => {
  const post = (body) => request('POST', `${gw.url}/v1/responses`, {
    headers: { ...bearer(GW_KEY), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const events = (text) => text.split('\n\n').filter((b) => b.includes('data: '))
    .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)));

  it('a stream cut short after the start ends with response.failed', async () => {
    const res = await post({ model: 'deepseek/cut-stream', input: 'hi', stream: true });
    answers.push(res.text);
    assert.equal(res.status, 200);
    const evs = events(res.text);
    assert.equal(evs[0].type, 'response.created');
    const last = evs.at(-1);
    assert.equal(last.type, 'response.failed', res.text.slice(-500));
    assert.equal(last.response.status, 'failed');
    assert.equal(last.response.error.code, 'server_error');
    assert.ok(!evs.some((e) => e.type === 'response.completed'));
  });

  it('an upstream error event mid-stream ends with response.failed', async () => {
    const res = await post({ model: 'anthropic/stream-error', input: 'hi', stream: true });
    answers.push(res.text);
    assert.equal(res.status, 200);
    const evs = events(res.text);
    assert.ok(evs.some((e) => e.type === 'response.output_text.delta'), res.text.slice(0, 500));
    assert.equal(evs.at(-1).type, 'response.failed', res.text.slice(-500));
    assert.equal(evs.filter((e) => e.type === 'response.failed').length, 1);
  });

  it('an upstream error before the start: the error in OpenAI shape', async () => {
    const res = await post({ model: 'deepseek/error-400', input: 'hi', stream: true });
    answers.push(res.text);
    assert.equal(res.status, 400);
    assert.ok(JSON.parse(res.text).error.message);
  });

  it('max_tokens from the upstream: status incomplete, reason max_output_tokens', async () => {
    const r = await oai.responses.create({ model: 'anthropic/max-tokens', input: 'hi', max_output_tokens: 2 });
    answers.push(JSON.stringify(r));
    assert.equal(r.status, 'incomplete');
    assert.equal(r.incomplete_details.reason, 'max_output_tokens');
    assert.equal(lastUpstream('/anthropic/').body.max_tokens, 2);
    const res = await post({ model: 'anthropic/max-tokens', input: 'hi', stream: true });
    const evs = events(res.text);
    assert.equal(evs.at(-1).type, 'response.incomplete');
    assert.equal(evs.at(-1).response.incomplete_details.reason, 'max_output_tokens');
  });

  it('text.format json_schema and reasoning.effort reach the upstream', async () => {
    await oai.responses.create({ model: 'deepseek-chat', input: 'hi', reasoning: { effort: 'low' },
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object', properties: {} }, strict: true } } });
    const b = lastUpstream('/deepseek/').body;
    assert.equal(b.reasoning_effort, 'low');
    assert.deepEqual(b.response_format, { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object', properties: {} }, strict: true } });
  });
});

describe('Responses API: Anthropic thinking kept through a tool loop (reasoning.encrypted_content)', () => {
  const MODEL = 'claude-thinking-4-5';
  // turn 2 as Codex sends it: the whole output of turn 1 back, then the tool's output
  const loop = async (first) => {
    const reasoning = first.output.find((o) => o.type === 'reasoning');
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(reasoning && call, JSON.stringify(first.output));
    assert.equal(reasoning.encrypted_content, 'EqQBmocksig', 'the thinking\'s signature as encrypted_content');
    assert.equal(reasoning.summary[0].text, 'Let me think.');
    mock.reset();
    const second = await oai.responses.create({
      model: MODEL, tools: TOOLS, store: false, reasoning: { effort: 'medium' }, include: ['reasoning.encrypted_content'],
      input: [{ role: 'user', content: 'Weather in Paris?' }, ...first.output,
        { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' }],
    });
    assert.equal(second.status, 'completed');
    assert.equal(second.output_text, 'Tool said: 18C and sunny');
    const up = lastUpstream('/anthropic/').body;
    assert.equal(up.thinking.type, 'enabled', 'thinking stays on in the tool loop');
    const turn = up.messages.find((x) => x.role === 'assistant');
    assert.deepEqual(turn.content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBmocksig' });
    assert.deepEqual(turn.content.map((b) => b.type), ['thinking', 'text', 'tool_use'], 'one turn: thinking, text, call');
    return second;
  };

  it('responses.create, then the output sent back: the signed thinking block again', async () => {
    const first = await oai.responses.create({ model: MODEL, input: 'Weather in Paris?', tools: TOOLS, store: false,
      reasoning: { effort: 'medium' }, include: ['reasoning.encrypted_content'] });
    await loop(first);
  });

  it('responses.stream, then the output sent back', async () => {
    const st = oai.responses.stream({ model: MODEL, input: 'Weather in Paris?', tools: TOOLS, store: false,
      reasoning: { effort: 'medium' }, include: ['reasoning.encrypted_content'] });
    for await (const ev of st) assert.notEqual(ev.type, 'response.failed');
    await loop(await st.finalResponse());
  });

  it('without include: no encrypted_content, and a loop without it turns thinking off rather than fail', async () => {
    const first = await oai.responses.create({ model: MODEL, input: 'Weather in Paris?', tools: TOOLS, reasoning: { effort: 'medium' } });
    const reasoning = first.output.find((o) => o.type === 'reasoning');
    assert.ok(reasoning && !('encrypted_content' in reasoning));
    const call = first.output.find((o) => o.type === 'function_call');
    const second = await oai.responses.create({ model: MODEL, tools: TOOLS, reasoning: { effort: 'medium' },
      input: [{ role: 'user', content: 'Weather in Paris?' }, ...first.output,
        { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' }] });
    assert.equal(second.status, 'completed');
    assert.equal(lastUpstream('/anthropic/').body.thinking, undefined);
  });
});

describe('bad input on /v1/responses', () => {
  const cases = [
    ['unknown item type', { model: 'deepseek-chat', input: [{ type: 'item_reference', id: 'x' }] }, /item_reference/],
    ['function_call_output without its call', { model: 'deepseek-chat',
      input: [{ role: 'user', content: 'hi' }, { type: 'function_call_output', call_id: 'call_nope', output: 'x' }] }, /call_nope/],
    ['built-in tool', { model: 'deepseek-chat', input: 'hi', tools: [{ type: 'web_search' }] }, /web_search/],
    ['unknown previous_response_id', { model: 'deepseek-chat', input: 'hi', previous_response_id: 'resp_1' }, /Response with id 'resp_1' not found/],
    ['no input', { model: 'deepseek-chat' }, /input/],
    ['unknown model', { model: 'no-such-model-x', input: 'hi' }, /no-such-model-x/],
  ];
  for (const [name, body, re] of cases) {
    it(`${name}: 400/404 in OpenAI's shape, nothing upstream or recorded`, async () => {
      const before = mock.requests().length;
      const res = await request('POST', `${gw.url}/v1/responses`, {
        headers: { ...bearer(GW_KEY), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      answers.push(res.text);
      assert.ok(res.status === 400 || res.status === 404, `${res.status} ${res.text}`);
      const e = JSON.parse(res.text).error;
      assert.equal(e.type, 'invalid_request_error');
      assert.match(e.message, re);
      assert.equal(mock.requests().length, before);
      const rid = res.headers['x-request-id'];
      assert.ok(rid);
      assert.equal(records().filter((x) => x.id === rid && x.status === 200).length, 0);
    });
  }

  it('a member twice is refused (strict bodies)', async () => {
    const before = mock.requests().length;
    const res = await request('POST', `${gw.url}/v1/responses`, {
      headers: { ...bearer(GW_KEY), 'Content-Type': 'application/json' },
      body: '{"model":"deepseek-chat","input":"a","input":"b"}' });
    answers.push(res.text);
    assert.equal(res.status, 400);
    assert.ok(JSON.parse(res.text).error.message);
    assert.equal(mock.requests().length, before);
  });

  it('the SDK raises BadRequestError', async () => {
    await assert.rejects(oai.responses.create({ model: 'deepseek-chat', input: 'hi', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /code_interpreter/.test(e.message));
  });

  it('no key in answers, records or logs', () => {
    const text = answers.join('\n') + records().map((r) => JSON.stringify(r)).join('\n') + gw.errorLog();
    for (const k of [...Object.values(KEYS), GW_KEY]) assert.ok(!text.includes(k), 'no key in answers, records or logs');
  });
});
