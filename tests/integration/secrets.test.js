// Secrets: a broad mix of traffic (chat, streams, /v1/messages, native
// passthrough, embeddings, the cache, upstream errors that echo the key,
// bad gateway keys, the key tool, settlement over the CLI and as CGI to a
// billing backend), then every place a secret could end up is searched for
// each configured secret: every answer (headers and body) the test got,
// the lighttpd/router error log, the spool files and everything else under
// the state directory but state.db (which has to hold runtime upstream
// keys), the ledger dump, llmgate-keys' and llmgate-settle's output, the
// pools files under state/run/, and what the billing backend received.
// Also: the state directory and every file in it are private (no group or
// other bits), state.db, ledger.db, cache.db and spool files 0600.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const crypto = require('node:crypto');
const { execFile } = require('node:child_process');
const { startMock, startGateway, mockEnv, keysTool, baseEnv, sleep, KEYS_TOOL } = require('../lib/harness.js');
const { request, stream, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { createBackend } = require('../mock/backend.js');
const S = require('../lib/settle.js');

// Long random secrets, so that a partial leak (a 16-character window) is
// caught too.
const rnd = (prefix) => prefix + crypto.randomBytes(20).toString('hex');
const UP = {
  DEEPSEEK_API_KEY: [rnd('sk-ds-'), rnd('sk-ds-')],
  OPENAI_API_KEY: [rnd('sk-oa-')],
  MOONSHOT_API_KEY: [rnd('sk-ms-')],
  ANTHROPIC_API_KEY: [rnd('sk-ant-'), rnd('sk-ant-')],
  GEMINI_API_KEY: [rnd('AIza'), rnd('AIza')],
  SILICONFLOW_API_KEY: [rnd('sk-sf-')],
};
const ECHO_KEY = rnd('zk.');                      // not shaped like sk-...: only the registered-secret scrub applies
const RUNTIME_UPSTREAM = rnd('sk-oa-rt-');      // added with llmgate-keys upstream add
const ENV_GW_KEY = rnd('sk-lg-env-');           // AUTH_KEY
const INTERNAL_SECRET = rnd('isec-');
let createdKey = '';                            // made with llmgate-keys create
let revokedKey = '';

const texts = [];          // [what, text] of everything to search
const keep = (what, text) => texts.push([what, String(text)]);

let mock;
let backend;
let gw;
let echo;

// An upstream that answers 400 with the key it got written with JSON
// escapes (a JSON encoder may escape any character this way).
function startEcho() {
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length:\s*(\d+)/i.exec(buf.slice(0, end));
      if (buf.length < end + 4 + (m ? Number(m[1]) : 0)) return;
      const a = /\r\nauthorization: bearer ([^\r]+)/i.exec(buf.slice(0, end));
      const key = a ? a[1] : '';
      const esc = [...key].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      const body = `{"error":{"message":"Bad request made with key ${esc}.","type":"invalid_request_error","param":null,"code":"bad_key"}}`;
      c.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
    c.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => new Promise((r) => server.close(() => r())) })));
}

function allSecrets() {
  return [...Object.values(UP).flat(), ECHO_KEY, RUNTIME_UPSTREAM, ENV_GW_KEY, INTERNAL_SECRET, createdKey, revokedKey].filter(Boolean);
}

// Where does any secret, or any 16-character window of one, appear in text?
function findLeak(text, secrets) {
  for (const s of secrets) {
    if (text.includes(s)) return `${s} (whole)`;
    if (s.length >= 24) {
      for (let i = 0; i + 16 <= s.length; i += 4) {
        const w = s.slice(i, i + 16);
        if (text.includes(w)) return `${s} (the part ${w})`;
      }
    }
  }
  return null;
}

function run(bin, args, { env = {}, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { env: { ...baseEnv(), ...env }, timeout: 30000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input === undefined ? '' : input);
  });
}

// Raw request: the answer as bytes, so the status line and headers are searched as sent.
function rawRequest(text) {
  return new Promise((resolve) => {
    const s = net.connect(gw.port, '127.0.0.1', () => s.write(text));
    const chunks = [];
    const t = setTimeout(() => s.destroy(), 8000);
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => { clearTimeout(t); resolve(Buffer.concat(chunks).toString('latin1')); });
    s.on('error', () => {});
  });
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

const gwAuth = () => bearer(ENV_GW_KEY);
const mine = () => bearer(createdKey);

before(async () => {
  mock = await startMock();
  backend = await createBackend({ port: 0, secret: INTERNAL_SECRET });
  echo = await startEcho();
  const env = { ...mockEnv(mock), AUTH_KEY: ENV_GW_KEY, INTERNAL_SECRET, BACKEND_URL: backend.url, ECHO_API_KEY: ECHO_KEY };
  for (const [k, v] of Object.entries(UP)) env[k] = v.join(',');
  gw = await startGateway({
    env,
    conf: buildConf({
      server: { log_level: 'debug' }, upstream: { max_attempts: 3, cooldown_s: 1 },
      providers: { echo: { base_url: `http://127.0.0.1:${echo.port}/v1`, models: 'echo-model' } },
    }) + '[cache]\nenabled = true\n',
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
  if (backend) await backend.close();
  if (echo) await echo.close();
});

describe('traffic', () => {
  it('the key tool: a gateway key and a runtime upstream key', async () => {
    const c = await keysTool(gw, ['create', '--name', 'secrets-test']);
    assert.equal(c.code, 0, c.stderr);
    createdKey = (/sk-lg-[0-9a-f]{48}/.exec(c.stdout) || [''])[0];
    assert.ok(createdKey, `a key was printed: ${c.stdout}`);
    const r = await keysTool(gw, ['create', '--name', 'to-revoke']);
    revokedKey = (/sk-lg-[0-9a-f]{48}/.exec(r.stdout) || [''])[0];
    const rid = (/k_[0-9a-f]{8}/.exec(r.stdout + r.stderr) || [''])[0];
    assert.ok(revokedKey && rid);
    const u = await keysTool(gw, ['upstream', 'add', 'openai', '--label', 'spare'], { input: RUNTIME_UPSTREAM + '\n' });
    assert.equal(u.code, 0, u.stderr);
    keep('llmgate-keys create/upstream add (stderr)', c.stderr + r.stderr + u.stdout + u.stderr);
    // the printed key is meant to be shown once: not searched in that output
    keep('llmgate-keys create (stdout, minus the key itself)', c.stdout.split(createdKey).join('') + r.stdout.split(revokedKey).join(''));
    // both work once the router reloaded state.db
    assert.ok(await waitFor(async () => (await request('GET', `${gw.url}/v1/models`, { headers: mine() })).status === 200, { timeoutMs: 5000 }));
    assert.ok(await waitFor(async () => (await request('GET', `${gw.url}/v1/models`, { headers: bearer(revokedKey) })).status === 200, { timeoutMs: 5000 }));
    const rv = await keysTool(gw, ['revoke', rid]);
    assert.equal(rv.code, 0, rv.stderr);
    keep('llmgate-keys revoke', rv.stdout + rv.stderr);
    assert.ok(await waitFor(async () => (await request('GET', `${gw.url}/v1/models`, { headers: bearer(revokedKey) })).status === 401, { timeoutMs: 5000 }));
  });

  it('chat, streams, /v1/messages, translated dialects, the cache', async () => {
    const ok = (r, what) => assert.equal(r.status, 200, `${what}: ${String(r.text).slice(0, 200)}`);
    for (const h of [gwAuth(), mine()]) {
      ok(await request('POST', `${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('deepseek-chat') }), 'deepseek');
      ok(await request('POST', `${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('deepseek-chat') }), 'deepseek again (cache)');
      const s = await stream(`${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('deepseek-reasoner', { stream: true, stream_options: { include_usage: true } }) });
      assert.ok(s.done);
      const k = await stream(`${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('kimi-k2.5', { stream: true }) });
      assert.ok(k.done);
      ok(await request('POST', `${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('gpt-4o') }), 'openai');
      ok(await request('POST', `${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('claude-sonnet-4') }), 'claude');
      const cs = await stream(`${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('claude-sonnet-4', { stream: true }) });
      assert.ok(cs.done);
      ok(await request('POST', `${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('gemini-2.5-flash') }), 'gemini');
      const gs = await stream(`${gw.url}/v1/chat/completions`, { headers: h, body: chatBody('gemini-2.5-pro', { stream: true }) });
      assert.ok(gs.done);
      const amsg = { model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] };
      ok(await request('POST', `${gw.url}/v1/messages`, { headers: { 'x-api-key': h.Authorization.slice(7), 'anthropic-version': '2023-06-01' }, body: amsg }), 'messages');
      const ms = await stream(`${gw.url}/v1/messages`, { headers: h, body: { ...amsg, model: 'deepseek-chat', stream: true } });
      assert.equal(ms.status, 200);
      ok(await request('POST', `${gw.url}/v1/embeddings`, { headers: h, body: { model: 'BAAI/bge-large-zh-v1.5', input: ['a', 'b'] } }), 'embeddings');
    }
  });

  it('native passthrough with the gateway key in each provider header and in ?key=', async () => {
    const ok = (r, what) => assert.ok(r.status === 200, `${what}: ${r.status} ${String(r.text).slice(0, 200)}`);
    ok(await request('POST', `${gw.url}/api/openai/v1/chat/completions`, { headers: gwAuth(), body: chatBody('gpt-4o') }), 'openai');
    ok(await request('POST', `${gw.url}/api/anthropic/v1/messages`, {
      headers: { 'x-api-key': ENV_GW_KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-sonnet-4', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
    }), 'anthropic');
    const gbody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    ok(await request('POST', `${gw.url}/api/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent?key=${ENV_GW_KEY}`, { body: gbody }), 'gemini ?key=');
    ok(await request('POST', `${gw.url}/api/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { headers: { 'x-goog-api-key': createdKey }, body: gbody }), 'gemini stream');
    // the runtime upstream key is in use
    assert.ok(mock.requests().some((x) => x.headers.authorization === `Bearer ${RUNTIME_UPSTREAM}`), 'the key added with llmgate-keys was used');
    // what the upstream got: its own key, never the client's
    for (const r of mock.requests()) {
      const seen = JSON.stringify(r.headers) + r.path;
      assert.ok(!seen.includes(ENV_GW_KEY) && !seen.includes(createdKey), `a gateway key reached the upstream: ${r.path}`);
    }
  });

  it('upstream errors that echo the key, rate limits, refused keys', async () => {
    // every dialect echoes the key it was sent in its error message
    mock.configure({
      keys: {
        [UP.MOONSHOT_API_KEY[0]]: { status: 400, message: 'Bad request made with key {key}; the key {key} is fine.' },
        [UP.SILICONFLOW_API_KEY[0]]: { status: 500, message: 'upstream broke while using {key}' },
        [UP.ANTHROPIC_API_KEY[0]]: { status: 401, message: 'invalid x-api-key {key}' },
        [UP.GEMINI_API_KEY[0]]: { status: 429, message: 'quota exceeded for key {key}' },
        [UP.GEMINI_API_KEY[1]]: { status: 400, message: 'API key not valid: {key}' },
        [UP.DEEPSEEK_API_KEY[0]]: { status: 429, retryAfter: 1, message: 'slow down, {key}' },
      },
    });
    const r1 = await request('POST', `${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody('kimi-k2.5') });
    assert.equal(r1.status, 400);
    const r2 = await request('POST', `${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody('siliconflow/Qwen/QwQ-32B') });
    assert.ok(r2.status >= 500);
    for (let i = 0; i < 3; i++) {
      await request('POST', `${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody('claude-sonnet-4') });
      await request('POST', `${gw.url}/v1/messages`, { headers: gwAuth(), body: { model: 'claude-sonnet-4', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] } });
      await request('POST', `${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody('gemini-2.5-flash') });
      await request('POST', `${gw.url}/api/gemini/v1beta/models/gemini-2.5-flash:generateContent`, { headers: { 'x-goog-api-key': ENV_GW_KEY }, body: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] } });
      await request('POST', `${gw.url}/api/anthropic/v1/messages`, { headers: { 'x-api-key': ENV_GW_KEY, 'anthropic-version': '2023-06-01' }, body: { model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] } });
      await stream(`${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody('deepseek-chat', { stream: true }) });
      await request('POST', `${gw.url}/api/moonshot/v1/chat/completions`, { headers: gwAuth(), body: chatBody('kimi-k2.5') });
    }
    // the upstream did echo keys: what the router got held them
    const echoed = mock.requests().filter((x) => x.status >= 400);
    assert.ok(echoed.length >= 6, `upstream errors: ${echoed.length}`);
    assert.ok(mock.requests().some((x) => x.status === 400 && String(x.headers.authorization).includes(UP.MOONSHOT_API_KEY[0])));
    const h = await request('GET', `${gw.url}/health`);
    assert.equal(h.status, 200);
    keep('/health', JSON.stringify(h.headers) + h.text);
    mock.reset();
  });

  it('bad gateway keys are refused without echoing them', async () => {
    const bad = [rnd('sk-lg-'), `${ENV_GW_KEY}x`, ENV_GW_KEY.slice(0, -1), revokedKey];
    for (const k of bad) {
      const r = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(k), body: chatBody('deepseek-chat') });
      assert.equal(r.status, 401);
      const x = await request('POST', `${gw.url}/v1/messages`, { headers: { 'x-api-key': k }, body: { model: 'deepseek-chat', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] } });
      assert.equal(x.status, 401);
      const q = await request('GET', `${gw.url}/api/gemini/v1beta/models?key=${k}`);
      assert.equal(q.status, 401);
    }
    // the key where it does not belong: in a URL the router echoes, as a model name
    const u = await rawRequest(`GET /v1/nothing/${ENV_GW_KEY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(u, /^HTTP\/1\.1 404/);
    keep('404 echoing a path that holds the gateway key', u);
    const m = await request('POST', `${gw.url}/v1/chat/completions`, { headers: gwAuth(), body: chatBody(`no-such-${UP.OPENAI_API_KEY[0]}`) });
    assert.equal(m.status, 404);
    keep('404 for a model name that holds an upstream key', JSON.stringify(m.headers) + m.text);
  });

  // Separate answers (not in transcript(), which is searched raw above):
  // here the JSON is decoded, as the client's SDK would.
  const decoded = (text) => { try { return JSON.stringify(JSON.parse(text)); } catch { return text; } };
  it('a key the upstream echoes with JSON escapes is scrubbed from a relayed 4xx (chat and passthrough)', async () => {
    const a = await rawRequest(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ENV_GW_KEY}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${JSON.stringify(chatBody('echo-model')).length}\r\nConnection: close\r\n\r\n${JSON.stringify(chatBody('echo-model'))}`);
    const b = await rawRequest(`GET /api/echo/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ENV_GW_KEY}\r\nConnection: close\r\n\r\n`);
    for (const r of [a, b]) {
      assert.match(r, /^HTTP\/1\.1 400/, r.slice(0, 200));
      const body = r.slice(r.indexOf('\r\n\r\n') + 4);
      assert.equal(findLeak(decoded(body), [ECHO_KEY]), null, `the decoded answer holds the key: ${body.slice(0, 200)}`);
    }
  });

  it('the pools files under state/run/', async () => {
    const runDir = path.join(gw.stateDir, 'run');
    assert.ok(await waitFor(() => fs.existsSync(runDir) && fs.readdirSync(runDir).some((n) => n.startsWith('pools-')), { timeoutMs: 4000 }));
    // every file, in subfolders too (run/mcp/: the MCP sessions)
    const walk = (rel) => {
      for (const e of fs.readdirSync(path.join(runDir, rel), { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        if (e.isDirectory()) walk(r);
        else keep(`state/run/${r}`, fs.readFileSync(path.join(runDir, r), 'latin1'));
      }
    };
    walk('');
  });
});

describe('settlement', () => {
  it('the router is stopped (its spool segment closed), then settled over CLI and CGI', async () => {
    keep('lighttpd/router error log', gw.errorLog());
    const pids = gw.routerPids();
    await gw.halt();
    // a router killed at the end of halt() may still hold its segment's
    // lock for a moment: settle only takes an orphan once it is gone
    const gone = (pid) => { try { return /^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return true; } };
    assert.ok(await waitFor(() => pids.every(gone), { timeoutMs: 5000 }), 'the router exited');
    await sleep(100);
    keep('lighttpd/router error log (after stop)', gw.errorLog());
    const st = { stateDir: gw.stateDir, confPath: gw.confPath, spoolDir: path.join(gw.stateDir, 'spool') };
    const spoolFiles = fs.readdirSync(st.spoolDir);
    assert.ok(spoolFiles.some((n) => /\.(ready|open)$/.test(n)), `segments: ${spoolFiles}`);
    for (const n of spoolFiles) keep(`spool/${n}`, fs.readFileSync(path.join(st.spoolDir, n), 'latin1'));

    const senv = { INTERNAL_SECRET, BACKEND_URL: backend.url };
    const dry = await S.runSettle(st, ['--dry-run', '-v'], { env: senv });
    keep('llmgate-settle --dry-run', dry.stdout + dry.stderr);
    // a refused CGI call, then the CLI run, then an accepted CGI call
    const cgi = (auth) => S.runSettle(st, [], { env: { ...senv, REQUEST_METHOD: 'POST', GATEWAY_INTERFACE: 'CGI/1.1', HTTP_AUTHORIZATION: auth } });
    const refused = await cgi(`Bearer ${INTERNAL_SECRET.slice(0, -2)}`);
    assert.match(refused.stdout, /^Status: 401/);
    keep('llmgate-settle CGI, wrong secret', refused.stdout + refused.stderr);
    const r = await S.runSettle(st, ['-v'], { env: senv });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    keep('llmgate-settle', r.stdout + r.stderr);
    const ok = await cgi(`Bearer ${INTERNAL_SECRET}`);
    assert.match(ok.stdout, /^Status: 200/);
    keep('llmgate-settle CGI', ok.stdout + ok.stderr);
    const status = await S.runSettle(st, ['--status', '--json'], { env: senv });
    keep('llmgate-settle --status --json', status.stdout + status.stderr);
    const dump = await S.runSettle(st, ['--dump-ledger'], { env: senv });
    assert.equal(dump.code, 0);
    assert.ok(dump.stdout.includes('"key":"key:'), 'the ledger has totals');
    keep('llmgate-settle --dump-ledger', dump.stdout + dump.stderr);
    assert.ok(backend.recordBodies().length > 0, 'the backend got records');
    keep('records the billing backend received', JSON.stringify(backend.recordBodies()));
    keep('batches the billing backend received', JSON.stringify(backend.batches()));
  });

  it('llmgate-keys list / upstream list', async () => {
    for (const args of [['list'], ['list', '--json'], ['upstream', 'list'], ['upstream', 'list', '--json']]) {
      const r = await keysTool(gw, args);
      assert.equal(r.code, 0, r.stderr);
      keep(`llmgate-keys ${args.join(' ')}`, r.stdout + r.stderr);
    }
  });
});

describe('no secret anywhere', () => {
  it('(the search finds a whole secret and a part of one)', () => {
    const s = rnd('sk-test-');
    assert.ok(findLeak(`x${s}y`, [s]) && findLeak(`...${s.slice(10, 30)}...`, [s]) && !findLeak(s.slice(0, 12), [s]));
  });

  it('every answer the test received (headers and body)', () => {
    const secrets = allSecrets();
    const seen = transcript();
    assert.ok(seen.length > 50, `answers scanned: ${seen.length}`);
    for (const t of seen) {
      const leak = findLeak(t, secrets);
      assert.equal(leak, null, `an answer leaks ${leak}: ${t.slice(0, 400)}`);
    }
  });

  it('logs, spool, ledger, tool output, pools files, backend', () => {
    const secrets = allSecrets();
    assert.ok(texts.length >= 10);
    for (const [what, t] of texts) {
      const leak = findLeak(t, secrets);
      assert.equal(leak, null, `${what} leaks ${leak}: ${t.slice(0, 300)}`);
    }
  });

  it('every file under the state directory but state.db (GDBM files read raw)', () => {
    const secrets = allSecrets();
    const files = walk(gw.stateDir).filter((p) => fs.statSync(p).isFile() && path.basename(p) !== 'state.db');
    assert.ok(files.some((p) => p.endsWith('ledger.db')) && files.some((p) => p.endsWith('cache.db')), files.join(' '));
    for (const p of files) {
      const leak = findLeak(fs.readFileSync(p, 'latin1'), secrets);
      assert.equal(leak, null, `${path.relative(gw.stateDir, p)} leaks ${leak}`);
    }
    // state.db holds runtime upstream keys (it must), but never a gateway key
    const db = fs.readFileSync(path.join(gw.stateDir, 'state.db'), 'latin1');
    assert.equal(findLeak(db, [ENV_GW_KEY, createdKey, revokedKey, INTERNAL_SECRET]), null, 'state.db holds a gateway key or the internal secret');
  });
});

describe('file modes', () => {
  it('the state directory and everything in it are private', () => {
    const mode = (p) => fs.statSync(p).mode & 0o777;
    assert.equal(mode(gw.stateDir), 0o700, 'state dir');
    for (const f of ['state.db', 'ledger.db', 'cache.db']) assert.equal(mode(path.join(gw.stateDir, f)), 0o600, f);
    const spool = path.join(gw.stateDir, 'spool');
    assert.equal(mode(spool), 0o700, 'spool/');
    for (const p of walk(gw.stateDir)) {
      const m = mode(p);
      assert.equal(m & 0o077, 0, `${path.relative(gw.stateDir, p)} is ${m.toString(8)}`);
      if (fs.statSync(p).isFile() && /^seg-/.test(path.basename(p))) assert.equal(m, 0o600, p);
    }
  });

  it('a state directory the tools create themselves is 0700, its files 0600', async () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-secrets-'));
    try {
      fs.chmodSync(top, 0o755);
      const fresh = path.join(top, 'state');
      const r = await run(KEYS_TOOL, ['--state-dir', fresh, 'create', '--name', 'fresh']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.statSync(fresh).mode & 0o777, 0o700, 'state dir made by llmgate-keys');
      assert.equal(fs.statSync(path.join(fresh, 'state.db')).mode & 0o777, 0o600);
      const st = { stateDir: fresh, confPath: gw.confPath, spoolDir: path.join(fresh, 'spool') };
      fs.mkdirSync(st.spoolDir, { mode: 0o700 });
      S.writeSegment(st, { records: [S.record(1)] });
      const s = await S.runSettle(st, [], { env: {} });
      assert.equal(s.code, 0, s.stdout + s.stderr);
      assert.equal(fs.statSync(path.join(fresh, 'ledger.db')).mode & 0o777, 0o600, 'ledger.db made by llmgate-settle');
      for (const p of walk(fresh)) assert.equal(fs.statSync(p).mode & 0o077, 0, `${p} is ${(fs.statSync(p).mode & 0o777).toString(8)}`);
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
});

