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
const { startMock, startGateway, mockEnv, sleep } = require('../lib/harness.js');
const { request } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-claude-0123456789';
const KEYS = { ANTHROPIC_API_KEY: 'sk-ant-claude-SECRET-1', DEEPSEEK_API_KEY: 'sk-ds-claude-SECRET-1' };
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
