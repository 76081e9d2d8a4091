// Claude Code through /v1/messages: its request shape (the environment
// block as a role "system" message inside messages, anthropic-beta and
// anthropic-version headers, beta-only fields, tools, streaming) to a
// Claude model (the client's request and headers passed on, the system
// messages moved into the top-level system Anthropic requires) and to
// deepseek-chat (translated: the system text arrives as a system message,
// beta-only fields dropped); /v1/messages/count_tokens on both routes and
// through the passthrough, never spending a budget nor billed as a chat.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Anthropic = require('@anthropic-ai/sdk');
const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
const { request, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-claude-0123456789';
const KEYS = { ANTHROPIC_API_KEY: 'sk-ant-claude-SECRET-1', DEEPSEEK_API_KEY: 'sk-ds-claude-SECRET-1', GEMINI_API_KEY: 'gm-claude-SECRET-1' };
const BETAS = 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27';
const VERSION = '2023-06-01';
const ENV_BLOCK = '<env>\nWorking directory: /tmp/project\nPlatform: linux\n</env>';
const TOOLS = [{ name: 'Write', description: 'Write a file',
  input_schema: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } }, required: ['file_path'] } }];

let mock;
let gw;
let ant;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
  ant = new Anthropic({ apiKey: GW_KEY, baseURL: gw.url, maxRetries: 0,
    defaultHeaders: { 'anthropic-beta': BETAS, 'anthropic-version': VERSION } });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const lastUpstream = (prefix) => mock.requests().filter((q) => q.path.startsWith(prefix)).at(-1);

// What Claude Code 2.1 sends: a system prompt in blocks, then its
// environment block as a system message between the turns.
function claudeCodeBody(model, extra = {}) {
  return {
    model, max_tokens: 512,
    system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Write hello.txt' }] },
      { role: 'system', content: ENV_BLOCK },
    ],
    tools: TOOLS,
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    metadata: { user_id: 'user_abc' },
    ...extra,
  };
}

async function streamText(body) {
  const s = ant.messages.stream(body);
  const events = [];
  for await (const ev of s) events.push(ev.type);
  return { msg: await s.finalMessage(), events };
}

describe('Claude Code on a Claude model (passed through)', () => {
  it('headers and system go to Anthropic as it expects, streamed with a tool call', async () => {
    const { msg, events } = await streamText(claudeCodeBody('claude-haiku-4-5', { stream: true }));
    assert.equal(events[0], 'message_start');
    assert.equal(msg.stop_reason, 'tool_use');
    assert.ok(msg.content.some((b) => b.type === 'tool_use' && b.name === 'Write'));
    const up = lastUpstream('/anthropic/');
    assert.equal(up.status, 200);
    assert.equal(up.path, '/anthropic/v1/messages');
    assert.equal(up.headers['anthropic-beta'], BETAS);
    assert.equal(up.headers['anthropic-version'], VERSION);
    assert.equal(up.headers['x-api-key'], KEYS.ANTHROPIC_API_KEY);
    assert.deepEqual(up.body.messages.map((m) => m.role), ['user']);
    assert.deepEqual(up.body.system, [
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: ENV_BLOCK },
    ]);
    assert.deepEqual(up.body.context_management, claudeCodeBody('x').context_management);
  });

  it('the client\'s anthropic-version wins over the gateway\'s', async () => {
    const r = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2099-01-01' },
      body: { model: 'claude-haiku-4-5', max_tokens: 50, system: 'Be brief.',
        messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'Reply in French.' }] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const up = lastUpstream('/anthropic/');
    assert.equal(up.headers['anthropic-version'], '2099-01-01');
    assert.equal(up.headers['anthropic-beta'], undefined);
    assert.equal(up.body.system, 'Be brief.\n\nReply in French.', 'strings stay a string');
  });

  it('without the client\'s headers the gateway\'s version goes, and no beta field passes unannounced', async () => {
    const r = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': GW_KEY },
      body: claudeCodeBody('claude-haiku-4-5'),
    });
    assert.equal(r.status, 400, 'the upstream refuses context_management without its beta');
    assert.equal(r.json.type, 'error');
    assert.equal(lastUpstream('/anthropic/').headers['anthropic-version'], '2023-06-01');
  });

  it('a header value that is not printable ASCII is not forwarded', async () => {
    const r = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-beta': 'b\u00e9ta' },
      body: { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(r.status, 200);
    assert.equal(lastUpstream('/anthropic/').headers['anthropic-beta'], undefined);
  });
});

describe('tool round trips', () => {
  // turn 1: the model calls Write; turn 2: its result goes back
  async function roundTrip(model) {
    const first = await ant.messages.create(claudeCodeBody(model));
    assert.equal(first.stop_reason, 'tool_use', JSON.stringify(first));
    const use = first.content.find((b) => b.type === 'tool_use');
    const body = claudeCodeBody(model);
    body.messages.push({ role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'wrote hello.txt' }] });
    const s = ant.messages.stream({ ...body, stream: true });
    const second = await s.finalMessage();
    return { first, second };
  }

  it('on a thinking Claude model: thinking blocks and their signatures go back as they came', async () => {
    const { first, second } = await roundTrip('claude-haiku-4-5-thinking');
    const think = first.content.find((b) => b.type === 'thinking');
    assert.ok(think && think.signature, JSON.stringify(first.content));
    assert.equal(second.content.find((b) => b.type === 'text').text, 'Tool said: wrote hello.txt');
    const up = lastUpstream('/anthropic/');
    assert.deepEqual(up.body.messages[1].content, JSON.parse(JSON.stringify(first.content)), 'the assistant turn, signature and all');
    assert.equal(up.headers['anthropic-beta'], BETAS);
  });

  it('on deepseek-chat: the tool result reaches the upstream as a tool message', async () => {
    const { first, second } = await roundTrip('deepseek-chat');
    assert.ok(second.content.length > 0, 'answered (the OpenAI mock calls a tool whenever tools are offered)');
    const up = lastUpstream('/deepseek/');
    assert.equal(up.status, 200);
    const call = up.body.messages.find((m) => m.role === 'assistant' && m.tool_calls);
    const tool = up.body.messages.find((m) => m.role === 'tool');
    assert.equal(call.tool_calls[0].id, first.content.find((b) => b.type === 'tool_use').id);
    assert.ok(tool && tool.tool_call_id === call.tool_calls[0].id && JSON.stringify(tool.content).includes('wrote hello.txt'),
      JSON.stringify(up.body.messages));
    assert.equal(up.body.messages[0].role, 'system');
  });
});

describe('Claude Code on deepseek-chat (translated)', () => {
  it('the system message reaches the upstream as a system message, beta fields dropped', async () => {
    const { msg } = await streamText(claudeCodeBody('deepseek-chat', { stream: true,
      thinking: { type: 'adaptive' }, betas: ['context-management-2025-06-27'] }));
    assert.ok(msg.content.length > 0);
    const up = lastUpstream('/deepseek/');
    assert.equal(up.status, 200);
    const sys = up.body.messages.filter((m) => m.role === 'system');
    assert.equal(sys.length, 1);
    assert.ok(sys[0].content.includes('You are Claude Code.') && sys[0].content.includes(ENV_BLOCK), sys[0].content);
    assert.ok(sys[0].content.indexOf('You are Claude Code.') < sys[0].content.indexOf(ENV_BLOCK), 'in order');
    for (const f of ['context_management', 'thinking', 'betas']) assert.equal(up.body[f], undefined, f);
    assert.equal(up.headers['anthropic-beta'], undefined);
  });

  it('a system message with something other than text is refused in Anthropic\'s shape', async () => {
    const n = mock.requests().length;
    const r = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': GW_KEY },
      body: { model: 'deepseek-chat', max_tokens: 50, messages: [{ role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] },
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, /messages\[1\]/);
    assert.equal(mock.requests().length, n, 'nothing sent upstream');
  });
});

// The usage records the router wrote so far (open and closed segments).
function records() {
  const dir = path.join(gw.stateDir, 'spool');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

// The estimate README documents: bytes of the strings of system, messages
// and tools, / 4, rounded up.
function estimate(body) {
  const bytes = (j) => (typeof j === 'string' ? Buffer.byteLength(j)
    : j && typeof j === 'object' ? Object.values(j).reduce((n, v) => n + bytes(v), 0) : 0);
  return Math.ceil((bytes(body.system) + bytes(body.messages) + bytes(body.tools)) / 4);
}

describe('count_tokens', () => {
  const countBody = (model) => ({ model, system: 'Be brief.',
    messages: [{ role: 'user', content: 'Count these words, \u4f60\u597d' }, { role: 'system', content: ENV_BLOCK }], tools: TOOLS });
  let budgetKey;

  before(async () => {
    const r = await keysTool(gw, ['create', '--name', 'counting', '--tokens', '1']);
    assert.equal(r.code, 0, r.stderr);
    budgetKey = r.stdout.trim();
    await waitFor(async () => (await request('GET', `${gw.url}/v1/models`, { headers: bearer(budgetKey) })).status === 200, { timeoutMs: 5000 });
  });

  it('on a Claude model: forwarded to Anthropic, its answer as it came', async () => {
    const r = await ant.messages.countTokens(countBody('claude-haiku-4-5'));
    const up = lastUpstream('/anthropic/');
    assert.equal(up.path, '/anthropic/v1/messages/count_tokens');
    assert.equal(up.status, 200);
    assert.deepEqual(r, { input_tokens: 10 + Math.floor((up.body.system.length + up.body.messages[0].content.length) / 4) }, 'the mock\'s count');
    assert.ok(r.input_tokens > 10);
    assert.equal(up.headers['anthropic-beta'], BETAS);
    assert.equal(up.body.system, `Be brief.\n\n${ENV_BLOCK}`);
    assert.deepEqual(up.body.messages.map((m) => m.role), ['user']);
  });

  it('on deepseek-chat: the documented estimate, nothing sent upstream', async () => {
    const n = mock.requests().length;
    const body = countBody('deepseek-chat');
    const r = await ant.messages.countTokens(body);
    assert.deepEqual(r, { input_tokens: estimate(body) });
    assert.equal(mock.requests().length, n);
  });

  it('a key whose budget no chat fits still counts, on both routes', async () => {
    const chat = await request('POST', `${gw.url}/v1/messages`, { headers: { 'x-api-key': budgetKey },
      body: { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(chat.status, 429, `the budget is too small for a chat: ${JSON.stringify(chat.json)}`);
    for (const model of ['claude-haiku-4-5', 'deepseek-chat']) {
      for (let i = 0; i < 3; i++) {
        const r = await request('POST', `${gw.url}/v1/messages/count_tokens`, { headers: { 'x-api-key': budgetKey }, body: countBody(model) });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.ok(r.json.input_tokens > 0);
      }
    }
  });

  it('unknown models and bad bodies are refused in Anthropic\'s shape', async () => {
    const r = await request('POST', `${gw.url}/v1/messages/count_tokens`, { headers: { 'x-api-key': GW_KEY }, body: { model: 'no-such-model', messages: [] } });
    assert.equal(r.status, 404);
    assert.equal(r.json.type, 'error');
    const b = await request('POST', `${gw.url}/v1/messages/count_tokens`, { headers: { 'x-api-key': GW_KEY }, body: { model: 'deepseek-chat' } });
    assert.equal(b.status, 400);
    assert.equal(b.json.type, 'error');
  });

  it('through the passthrough: answered, not billed', async () => {
    const r = await request('POST', `${gw.url}/api/anthropic/v1/messages/count_tokens`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': VERSION },
      body: { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello there' }] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.input_tokens > 0);
  });

  it('Gemini\'s countTokens through the passthrough: answered, recorded without tokens', async () => {
    const r = await request('POST', `${gw.url}/api/gemini/v1beta/models/gemini-2.5-flash:countTokens`, {
      headers: { 'x-goog-api-key': GW_KEY },
      body: { contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.totalTokens > 0);
    let rec;
    await waitFor(() => (rec = records().find((x) => x.model === 'gemini-2.5-flash' && x.endpoint === 'passthrough')), { timeoutMs: 10000 });
    assert.ok(rec, 'recorded');
    assert.equal(rec.prompt, 0, JSON.stringify(rec));
    assert.equal(rec.completion, 0, JSON.stringify(rec));
    assert.ok(!rec.estimated && !rec.cost, JSON.stringify(rec));
  });

  it('no count is recorded with tokens or cost, and no key shows in records or logs', async () => {
    let recs = [];
    // the forwarded counts: 1 + 3 on /v1, 1 through the passthrough
    await waitFor(() => (recs = records()).filter((x) => x.model === 'claude-haiku-4-5' && x.status === 200 &&
      (x.endpoint === 'count_tokens' || (x.endpoint === 'passthrough' && x.prompt === 0))).length >= 5, { timeoutMs: 10000 });
    const counts = recs.filter((x) => x.endpoint === 'count_tokens' || (x.endpoint === 'passthrough' && x.status === 200));
    assert.ok(counts.length >= 5, JSON.stringify(recs));
    for (const x of counts) {
      assert.equal(x.prompt, 0, JSON.stringify(x));
      assert.equal(x.completion, 0, JSON.stringify(x));
      assert.ok(!x.estimated && !x.cost, JSON.stringify(x));
    }
    assert.ok(!recs.some((x) => x.model === 'deepseek-chat' && x.endpoint === 'count_tokens'), 'estimates are not recorded');
    assert.match(gw.errorLog(), /count_tokens model=deepseek-chat estimated input_tokens=\d+/, 'but logged');
    const text = recs.map((x) => JSON.stringify(x)).join('\n') + gw.errorLog();
    for (const k of [...Object.values(KEYS), GW_KEY, budgetKey]) assert.ok(!text.includes(k), 'no key in records or logs');
  });
});
