// gemini-cli (npm @google/gemini-cli, pinned in tests/package.json) run
// headless against the gateway: `gemini -p` with GOOGLE_GEMINI_BASE_URL at
// the gateway and GEMINI_API_KEY a gateway key, HOME in a temporary folder
// whose settings.json picks the API key and turns telemetry, usage
// statistics and update checks off, each run bounded by a timeout. On a
// Gemini model (the client's requests passed to the mock Gemini upstream as
// they are, its thought signature echoed back) and on DeepSeek (translated
// to OpenAI chat and back): a tool round trip in which the mock asks for
// gemini-cli's write_file / run_shell_command and the file appears in a
// temporary folder, then the final text; usage recorded exactly.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, sleep, usageRecords } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');

const GEMINI = path.join(__dirname, '..', 'node_modules', '.bin', 'gemini');
const GW_KEY = 'gk-gemini-cli-0123456789';
const KEYS = { DEEPSEEK_API_KEY: 'sk-ds-gcli-SECRET-1', GEMINI_API_KEY: 'gem-gcli-SECRET-1' };
const RUN_TIMEOUT_MS = 90000;

let mock;
let gw;
let tmp;
const outputs = [];

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-gcli-'));
  fs.mkdirSync(path.join(tmp, 'home', '.gemini'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'home', '.gemini', 'settings.json'), JSON.stringify({
    security: { auth: { selectedType: 'gemini-api-key' } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { disableAutoUpdate: true, disableUpdateNag: true },
  }));
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// A fresh work folder (gemini-cli's tools write only inside it).
const workDir = () => fs.mkdtempSync(path.join(tmp, 'work-'));

// Run `gemini -p prompt` in cwd; { code, stdout, stderr }.
function runGemini(model, prompt, cwd) {
  const env = {
    PATH: process.env.PATH, HOME: path.join(tmp, 'home'), TERM: 'dumb', NO_COLOR: '1',
    GOOGLE_GEMINI_BASE_URL: gw.url, GEMINI_API_KEY: GW_KEY, GEMINI_CLI_TRUST_WORKSPACE: 'true',
    GEMINI_CLI_NO_RELAUNCH: 'true',   // no second node process for a larger heap: a quicker start
  };
  return new Promise((resolve) => {
    const child = spawn(GEMINI, ['-p', prompt, '-m', model, '--yolo'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      outputs.push(stdout, stderr);
      resolve({ code: signal ? signal : code, stdout, stderr });
    });
  });
}

const records = () => usageRecords(gw);

async function recordsOf(model, n) {
  for (let i = 0; i < 100; i++) {
    const rs = records().filter((r) => r.model === model && r.endpoint === 'generate_content');
    if (rs.length >= n) return rs;
    await sleep(50);
  }
  assert.fail(`fewer than ${n} records of ${model}`);
}

const chatRequests = (prefix) => mock.requests().filter((q) => q.path.startsWith(prefix) && !/countTokens/.test(q.path));

describe('gemini-cli on a Gemini model (passed through)', () => {
  it('writes a file with write_file, the thought signature goes back, usage recorded', async () => {
    const before = chatRequests('/gemini/').length;
    const cwd = workDir();
    const target = path.join(cwd, 'hello.txt');
    mock.configure({ toolCall: { name: 'write_file', arguments: { file_path: target, content: 'hello from llmgate\n' } } });
    const r = await runGemini('gemini-3-pro-preview', 'Write hello to a file', cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(target, 'utf8'), 'hello from llmgate\n');
    assert.match(r.stdout, /Tool said:/);
    const ups = chatRequests('/gemini/').slice(before);
    assert.equal(ups.length, 2);
    // gemini-cli may name a newer preview than asked (3.1 for 3)
    const model = ups[0].path.match(/^\/gemini\/v1beta\/models\/(gemini-3[.0-9]*-pro-preview):streamGenerateContent\?alt=sse$/)[1];
    for (const up of ups) {
      assert.equal(up.path, `/gemini/v1beta/models/${model}:streamGenerateContent?alt=sse`);
      assert.equal(up.headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
      assert.equal(up.status, 200);
    }
    const turns = ups[1].body.contents;
    const call = turns.at(-2).parts.find((p) => p.functionCall);
    assert.equal(call.functionCall.name, 'write_file');
    assert.ok(call.thoughtSignature && call.thoughtSignature !== 'skip_thought_signature_validator',
      'the signature Gemini gave came back');
    assert.ok(turns.at(-1).parts.some((p) => p.functionResponse && p.functionResponse.name === 'write_file'));
    const recs = await recordsOf(model, 2);
    for (const rec of recs) {
      assert.equal(rec.stream, true);
      assert.equal(rec.estimated, false);
      assert.ok(rec.prompt > 0 && rec.completion > 0);
    }
  });
});

describe('gemini-cli on DeepSeek (translated)', () => {
  it('runs a shell command with run_shell_command, then answers', async () => {
    const before = chatRequests('/deepseek/').length;
    const cwd = workDir();
    const target = path.join(cwd, 'shell.txt');
    mock.configure({ toolCall: { name: 'run_shell_command',
      arguments: { command: `printf 'from the shell' > ${target}`, description: 'write a file' } } });
    const r = await runGemini('deepseek-chat', 'Write a file with the shell', cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(target, 'utf8'), 'from the shell');
    assert.match(r.stdout, /Tool said:/);
    const ups = chatRequests('/deepseek/').slice(before);
    assert.equal(ups.length, 2);
    assert.equal(ups[0].path, '/deepseek/chat/completions');
    assert.equal(ups[0].headers.authorization, `Bearer ${KEYS.DEEPSEEK_API_KEY}`);
    assert.ok(ups[0].body.tools.some((t) => t.function.name === 'run_shell_command'));
    assert.equal(ups[0].body.messages[0].role, 'system');
    assert.equal(ups[0].body.stream, true);
    assert.equal(ups[0].body.llmgate_reasoning, undefined);
    const msgs = ups[1].body.messages;
    assert.deepEqual(msgs.slice(-2).map((m) => m.role), ['assistant', 'tool']);
    assert.equal(msgs.at(-1).tool_call_id, msgs.at(-2).tool_calls[0].id);
    const recs = await recordsOf('deepseek-chat', 2);
    for (const rec of recs) {
      assert.equal(rec.stream, true);
      assert.equal(rec.estimated, false);
      assert.equal(rec.provider, 'deepseek');
    }
  });

  it('no key in its output or the logs', () => {
    const text = outputs.join('\n') + gw.errorLog();
    for (const k of Object.values(KEYS)) assert.ok(!text.includes(k));
  });
});
