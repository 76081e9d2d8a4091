// Coding agents end to end: the real CLIs pinned in tests/package.json,
// run headless against the gateway and the mock upstreams, each with a tool
// round trip that writes a file in a temporary folder (the mock answers the
// first call with a call of the CLI's own write or shell tool, then, seeing
// the tool's result, a final text). Claude Code (`claude -p`) on a Claude
// model (passed through: thinking blocks and their signatures, the
// anthropic-beta header) and on deepseek-chat (translated to chat
// completions); Codex CLI (`codex exec`, wire_api = "responses") on an
// OpenAI model (the Responses API passed through natively) and on
// deepseek-chat (translated, its custom and namespaced tools mapped). Every
// upstream call's usage record equals what the mock reported, and nothing
// a CLI sent was refused; the start-up probes they make are answered. HOME and
// CODEX_HOME are temporary, telemetry and update checks off, every run
// bounded by a timeout (its process group killed on expiry). Skipped only
// when a CLI's binary is missing.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');

const BIN = path.join(__dirname, '..', 'node_modules', '.bin');
const CLAUDE = path.join(BIN, 'claude');
const CODEX = path.join(BIN, 'codex');
const GW_KEY = 'gk-agents-0123456789abcdef';
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-agents-SECRET-1', DEEPSEEK_API_KEY: 'sk-ds-agents-SECRET-1',
  OPENAI_API_KEY: 'sk-oa-agents-SECRET-1',
};
const RUN_MS = 90000;

let mock;
let gw;
let tmp;
const outputs = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-agents-'));
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
});

after(async () => {
  try {
    if (gw) assertNoSecrets([gw.errorLog(), ...outputs], [...Object.values(KEYS), GW_KEY], 'log or CLI output');
  } finally {
    if (gw) await gw.stop();
    if (mock) await mock.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// No request the gateway logged from `from` (an offset into its log) on
// was refused: whatever a CLI called, it was served.
function assertNothingRefused(from) {
  const refused = gw.errorLog().slice(from).split('\n').filter((l) => / refused /.test(l));
  assert.deepEqual(refused, [], 'every request of the CLI was served');
}

// Run a CLI in its own process group, killed whole when it outlives
// RUN_MS. -> { code, signal, stdout, stderr, timedOut }
function runCli(bin, args, { cwd, env }) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, RUN_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      outputs.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// A fresh HOME and working folder for one run.
function folders(name) {
  const home = fs.mkdtempSync(path.join(tmp, `${name}-home-`));
  const work = fs.mkdtempSync(path.join(tmp, `${name}-work-`));
  return { home, work };
}

// The environment every run starts from: nothing of the test process but
// PATH, telemetry, error reports and update checks off.
function baseEnv(home) {
  return {
    PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', TERM: 'dumb', NO_COLOR: '1',
    DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_BUG_COMMAND: '1',
  };
}

function spoolRecords() {
  const dir = path.join(gw.stateDir, 'spool');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

// The mock's usage in the record's terms, by the upstream's wire format.
function reported(u) {
  if ('input_tokens' in u && 'input_tokens_details' in u) {   // Responses API
    return { prompt: u.input_tokens, completion: u.output_tokens, cached: u.input_tokens_details.cached_tokens,
      reasoning: u.output_tokens_details.reasoning_tokens };
  }
  if ('input_tokens' in u) {   // Anthropic
    return { prompt: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
      completion: u.output_tokens, cached: u.cache_read_input_tokens, reasoning: 0 };
  }
  return { prompt: u.prompt_tokens, completion: u.completion_tokens,
    cached: (u.prompt_tokens_details && u.prompt_tokens_details.cached_tokens) || 0,
    reasoning: (u.completion_tokens_details && u.completion_tokens_details.reasoning_tokens) || 0 };
}

// Every upstream call since `from` (an index into mock.requests()) under
// prefix: answered 200, and recorded by the gateway exactly as reported.
async function assertUsageExact(from, prefix, endpoint) {
  const ups = mock.requests().slice(from).filter((q) => q.path.startsWith(prefix));
  assert.ok(ups.length >= 2, `a tool round trip is two calls upstream, saw ${ups.length}`);
  for (const q of ups) {
    assert.equal(q.status, 200, `${q.path}: ${JSON.stringify(q.body).slice(0, 200)}`);
    assert.ok(q.usageReported, `${q.path} reported usage`);
    const id = q.headers['x-request-id'];
    const rec = await waitFor(() => spoolRecords().find((r) => r.id === id), { timeoutMs: 10000 });
    assert.ok(rec, `no usage record for ${id}`);
    assert.equal(rec.endpoint, endpoint);
    assert.equal(rec.estimated, false);
    assert.deepEqual({ prompt: rec.prompt, completion: rec.completion, cached: rec.cached, reasoning: rec.reasoning },
      reported(q.usageReported), id);
  }
  return ups;
}

function describeIf(bin, name, fn) {
  const there = fs.existsSync(bin);
  describe(name, { skip: there ? false : `${bin} is missing (npm ci in tests/)` }, fn);
}

// ---------------------------------------------------------------- probes

// What the CLIs call besides their main requests, as seen in the gateway's
// log while they ran without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC:
// Claude Code's HEAD /api/hello connectivity check (no key), and its
// models.list / models.retrieve (Anthropic's form: it sends
// anthropic-version); Codex's model list with its client_version query.
describe('start-up probes', () => {
  const ant = { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' };
  it('HEAD and GET /api/hello answer 200 without a key', async () => {
    for (const m of ['HEAD', 'GET']) {
      const r = await request(m, `${gw.url}/api/hello`);
      assert.equal(r.status, 200, `${m} ${r.text}`);
    }
  });
  it('the model list and one model in Anthropic\'s form for an Anthropic client', async () => {
    const list = await request('GET', `${gw.url}/v1/models?beta=true`, { headers: ant });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.has_more, false);
    const one = list.json.data.find((x) => x.id === 'claude-sonnet-4-5');
    assert.deepEqual(Object.keys(one), ['type', 'id', 'display_name', 'created_at']);
    assert.equal(list.json.first_id, list.json.data[0].id);
    const got = await request('GET', `${gw.url}/v1/models/claude-sonnet-4-5?beta=true`, { headers: ant });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.type, 'model');
    const none = await request('GET', `${gw.url}/v1/models/no-such-model?beta=true`, { headers: ant });
    assert.equal(none.status, 404);
    assert.equal(none.json.type, 'error');
    assert.equal(none.json.error.type, 'not_found_error');
    const bad = await request('GET', `${gw.url}/v1/models?beta=true`, { headers: { ...ant, 'x-api-key': 'gk-wrong-0123456789' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.type, 'error', 'a refused key in Anthropic\'s shape too');
  });
  it('the OpenAI model list with Codex\'s query', async () => {
    const r = await request('GET', `${gw.url}/v1/models?client_version=0.171.0`, { headers: { Authorization: `Bearer ${GW_KEY}` } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'list');
    assert.ok(r.json.data.some((x) => x.id === 'gpt-4o'));
  });
});

// ---------------------------------------------------------------- Claude Code

async function claude(model, auth, name) {
  const { home, work } = folders(name);
  const file = path.join(work, 'hello.txt');
  const content = `hi from claude on ${model}\n`;
  mock.configure({ toolCall: { name: 'Write', arguments: { file_path: file, content } } });
  const from = mock.requests().length;
  const logFrom = gw.errorLog().length;
  const env = { ...baseEnv(home), ANTHROPIC_BASE_URL: gw.url, [auth]: GW_KEY,
    ANTHROPIC_SMALL_FAST_MODEL: model, ANTHROPIC_DEFAULT_HAIKU_MODEL: model };
  const r = await runCli(CLAUDE, ['-p', 'Create hello.txt with a greeting.', '--model', model,
    '--permission-mode', 'acceptEdits', '--output-format', 'json'], { cwd: work, env });
  mock.configure({ toolCall: null });
  const diag = `exit ${r.code} ${r.signal || ''}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
  assert.equal(r.code, 0, diag);
  const out = JSON.parse(r.stdout);
  assert.equal(out.is_error, false, diag);
  assert.match(out.result, /^Tool said: /, diag);
  assert.equal(fs.readFileSync(file, 'utf8'), content);
  assertNothingRefused(logFrom);
  return { from, out };
}

describeIf(CLAUDE, 'Claude Code (claude -p)', () => {
  it('on a Claude model: passed through, thinking signed and sent back, the betas forwarded', async () => {
    const { from } = await claude('claude-sonnet-4-5-thinking', 'ANTHROPIC_API_KEY', 'claude-ant');
    const ups = await assertUsageExact(from, '/anthropic/', 'messages');
    assert.ok(ups.every((q) => q.path === '/anthropic/v1/messages' && q.body.stream === true));
    assert.ok(ups.every((q) => /claude-code-20250219/.test(q.headers['anthropic-beta'] || '')), 'anthropic-beta forwarded');
    const back = ups.at(-1).body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
    const thinking = back.find((b) => b.type === 'thinking');
    assert.ok(thinking, 'the thinking block came back in the next turn');
    assert.equal(thinking.signature, 'EqQBmocksig');
    assert.ok(back.some((b) => b.type === 'tool_result'));
  });

  it('on deepseek-chat: translated to chat completions, the tool call and its result', async () => {
    const { from } = await claude('deepseek-chat', 'ANTHROPIC_AUTH_TOKEN', 'claude-ds');
    const ups = await assertUsageExact(from, '/deepseek/', 'messages');
    assert.ok(ups.every((q) => q.path === '/deepseek/chat/completions'));
    assert.ok(ups[0].body.tools.some((t) => t.function.name === 'Write'));
    assert.ok(ups.at(-1).body.messages.some((m) => m.role === 'tool'));
  });
});

// ---------------------------------------------------------------- Codex CLI

// CODEX_HOME's config.toml: the gateway as a model provider speaking the
// Responses API, its key in LLMGATE_API_KEY; analytics, update checks and
// the hosted web search (which no translated route serves) off; no retries.
function codexConfig(model, catalog) {
  return [
    `model = "${model}"`,
    ...(catalog ? [`model_catalog_json = "${catalog}"`] : []),
    'model_provider = "llmgate"',
    'web_search = "disabled"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[model_providers.llmgate]',
    'name = "llmgate"',
    `base_url = "${gw.url}/v1"`,
    'wire_api = "responses"',
    'env_key = "LLMGATE_API_KEY"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n');
}

// A model catalog entry (model_catalog_json) giving a model Codex does not
// know its free-form apply_patch tool: a "custom" tool with a grammar.
function freeformCatalog(model) {
  return { models: [{ slug: model, display_name: model, base_instructions: 'You are a coding agent.',
    apply_patch_tool_type: 'freeform', shell_type: 'shell_command', supported_reasoning_levels: [],
    visibility: 'list', supported_in_api: true, priority: 1, support_verbosity: false,
    truncation_policy: { mode: 'tokens', limit: 10000 }, experimental_supported_tools: [] }] };
}

async function codex(model, toolCall, name, { freeform = false } = {}) {
  const { home, work } = folders(name);
  const codexHome = path.join(home, '.codex');
  fs.mkdirSync(codexHome);
  const catalog = freeform ? path.join(codexHome, 'models.json') : null;
  if (catalog) fs.writeFileSync(catalog, JSON.stringify(freeformCatalog(model)));
  fs.writeFileSync(path.join(codexHome, 'config.toml'), codexConfig(model, catalog));
  mock.configure({ toolCall });
  const from = mock.requests().length;
  const logFrom = gw.errorLog().length;
  const env = { ...baseEnv(home), CODEX_HOME: codexHome, LLMGATE_API_KEY: GW_KEY };
  const r = await runCli(CODEX, ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox',
    '--color', 'never', 'Create hello.txt with a greeting.'], { cwd: work, env });
  mock.configure({ toolCall: null });
  const diag = `exit ${r.code} ${r.signal || ''}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-2500)}`;
  assert.equal(r.code, 0, diag);
  assert.match(r.stdout, /Tool said: /, diag);
  assertNothingRefused(logFrom);
  return { from, work, diag };
}

describeIf(CODEX, 'Codex CLI (codex exec, wire_api = "responses")', () => {
  it('on an OpenAI model: the Responses API passed through natively, its shell tool run', async () => {
    const { from, work } = await codex('gpt-5.1-codex',
      { name: 'exec_command', arguments: { cmd: "printf 'hi from codex\\n' > hello.txt" } }, 'codex-oai');
    assert.equal(fs.readFileSync(path.join(work, 'hello.txt'), 'utf8'), 'hi from codex\n');
    const ups = await assertUsageExact(from, '/openai/', 'responses');
    assert.ok(ups.every((q) => q.path === '/openai/v1/responses' && q.body.stream === true));
    assert.ok(ups.at(-1).body.input.some((i) => i.type === 'function_call_output'));
  });

  it('on deepseek-chat: translated, its free-form apply_patch and namespaced tools mapped both ways', async () => {
    const patch = '*** Begin Patch\n*** Add File: hello.txt\n+hi from codex on deepseek\n*** End Patch\n';
    const { from, work } = await codex('deepseek-chat', { name: 'apply_patch', arguments: { input: patch } }, 'codex-ds',
      { freeform: true });
    assert.equal(fs.readFileSync(path.join(work, 'hello.txt'), 'utf8'), 'hi from codex on deepseek\n');
    const ups = await assertUsageExact(from, '/deepseek/', 'responses');
    assert.ok(ups.every((q) => q.path === '/deepseek/chat/completions' && q.body.stream === true));
    const tools = ups[0].body.tools.map((t) => t.function);
    const ap = tools.find((f) => f.name === 'apply_patch');
    assert.ok(ap && ap.parameters.properties.input.type === 'string', 'apply_patch as a function of one string');
    assert.match(ap.description, /lark grammar/);
    assert.ok(tools.some((f) => /^multi_agent_v1__/.test(f.name)), 'namespaced tools flattened');
    const msgs = ups.at(-1).body.messages;
    const call = msgs.flatMap((m) => m.tool_calls || []).find((c) => c.function.name === 'apply_patch');
    assert.deepEqual(JSON.parse(call.function.arguments), { input: patch }, 'the custom call went back as it came');
    assert.ok(msgs.some((m) => m.role === 'tool' && m.tool_call_id === call.id));
  });
});
