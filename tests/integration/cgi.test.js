// The router run as plain CGI (as uhttpd or busybox httpd would): CGI
// variables in the environment, the body on stdin, a CGI answer on stdout.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, mockEnv, baseEnv, routerCommand } = require('../lib/harness.js');
const { parseSse, joinContent, chatBody } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-cgi-0123456789abcdef';
const PROVIDER_KEY = 'sk-ds-SECRET-cgi';

let mock;
let dir;
let stateDir;
let confPath;
let router;   // the router, or a script running it under LLMGATE_ROUTER_WRAPPER (qemu for a cross build)

before(async () => {
  mock = await startMock();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-cgi-'));
  stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  confPath = path.join(dir, 'llmgate.conf');
  fs.writeFileSync(confPath, buildConf());
  router = routerCommand(dir);
});

after(async () => {
  if (mock) await mock.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => mock.reset());

// Runs one CGI request; -> { code, status, headers (lowercased), body, stderr }.
function cgi({ method = 'GET', uri, body = '', headers = {}, scriptName = '', timeoutMs = 10000 }) {
  return new Promise((resolve, reject) => {
    const [pathPart, query = ''] = uri.split('?');
    const env = {
      ...baseEnv(),
      ...mockEnv(mock),
      AUTH_KEY: GW_KEY,
      DEEPSEEK_API_KEY: PROVIDER_KEY,
      LLMGATE_CONFIG: confPath,
      LLMGATE_STATE_DIR: stateDir,
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE: 'llmgate-tests',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: '80',
      REMOTE_ADDR: '127.0.0.1',
      REQUEST_METHOD: method,
      REQUEST_URI: uri,
      SCRIPT_NAME: scriptName,
      PATH_INFO: pathPart.startsWith(scriptName) ? pathPart.slice(scriptName.length) : pathPart,
      QUERY_STRING: query,
    };
    if (body) {
      env.CONTENT_LENGTH = String(Buffer.byteLength(body));
      env.CONTENT_TYPE = 'application/json';
    }
    for (const [k, v] of Object.entries(headers)) env['HTTP_' + k.toUpperCase().replace(/-/g, '_')] = v;
    const child = spawn(router, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let stderr = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out).toString('utf8');
      const m = /\r?\n\r?\n/.exec(raw);
      const head = m ? raw.slice(0, m.index) : raw;
      const rest = m ? raw.slice(m.index + m[0].length) : '';
      const hdrs = {};
      for (const line of head.split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i > 0) hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const sm = /^(\d{3})/.exec(hdrs.status || '');
      resolve({ code: signal ? 128 : code, signal, status: sm ? Number(sm[1]) : 0, headers: hdrs, body: rest, raw, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(body);
  });
}

describe('CGI mode', () => {
  it('GET /health', async () => {
    const r = await cgi({ uri: '/health' });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.headers.status, `a Status: header is written:\n${r.raw.slice(0, 300)}`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.equal(JSON.parse(r.body).status, 'ok');
  });

  it('POST /v1/chat/completions', async () => {
    const body = JSON.stringify(chatBody('deepseek-chat', { temperature: 0.2 }));
    const r = await cgi({ method: 'POST', uri: '/v1/chat/completions', body, headers: { Authorization: `Bearer ${GW_KEY}` } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, 200, r.raw.slice(0, 500));
    assert.equal(r.headers['x-llmgate-provider'], 'deepseek');
    const j = JSON.parse(r.body);
    assert.equal(j.choices[0].message.content, 'Hello from deepseek mock model deepseek-chat');
    const up = mock.requests();
    assert.equal(up.length, 1);
    assert.deepEqual(up[0].body, JSON.parse(body));
    assert.equal(up[0].headers.authorization, `Bearer ${PROVIDER_KEY}`);
    assert.ok(!r.raw.includes(PROVIDER_KEY));
  });

  it('a streamed chat completion', async () => {
    const body = JSON.stringify(chatBody('deepseek-chat', { stream: true }));
    const r = await cgi({ method: 'POST', uri: '/v1/chat/completions', body, headers: { 'X-Api-Key': GW_KEY } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, 200, r.raw.slice(0, 500));
    assert.match(r.headers['content-type'] || '', /^text\/event-stream/);
    const events = parseSse(r.body).map((e) => ({ data: e.data, json: e.data === '[DONE]' ? undefined : JSON.parse(e.data) }));
    assert.equal(joinContent(events), 'Hello from deepseek mock model deepseek-chat');
    assert.equal(events[events.length - 1].data, '[DONE]');
    assert.equal(mock.requests()[0].body.stream_options.include_usage, true);
  });

  it('a bad key is Status: 401 with an OpenAI error body', async () => {
    const body = JSON.stringify(chatBody('deepseek-chat'));
    const r = await cgi({ method: 'POST', uri: '/v1/chat/completions', body, headers: { Authorization: 'Bearer gk-nope' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key');
    assert.equal(mock.requests().length, 0);
  });

  it('GET /v1/models under a mount prefix', async () => {
    const r = await cgi({ uri: '/cgi-bin/llmgate-router/v1/models', scriptName: '/cgi-bin/llmgate-router', headers: { Authorization: `Bearer ${GW_KEY}` } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, 200, r.raw.slice(0, 300));
    const ids = JSON.parse(r.body).data.map((m) => m.id);
    assert.ok(ids.includes('deepseek-chat'));
  });

  it('MCP over /mcp: a session made by one CGI process is known to the next; /sse is 501', async () => {
    const h = { Authorization: `Bearer ${GW_KEY}`, Accept: 'application/json, text/event-stream' };
    const init = await cgi({ method: 'POST', uri: '/mcp', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 1,
      method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cgi', version: '1' } } }) });
    assert.equal(init.status, 200, init.raw.slice(0, 300));
    const sid = init.headers['mcp-session-id'];
    assert.match(sid, /^[0-9a-f]{32}$/);
    const list = await cgi({ method: 'POST', uri: '/mcp', headers: { ...h, 'Mcp-Session-Id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    assert.equal(list.status, 200, list.raw.slice(0, 300));
    assert.ok(JSON.parse(list.body).result.tools.some((t) => t.name === 'ask_model'));
    const sse = await cgi({ uri: '/sse', headers: h });
    assert.equal(sse.status, 501);
  });
});
