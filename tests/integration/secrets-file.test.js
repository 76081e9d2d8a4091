// A secrets file (.dev.vars format) and LLMGATE_ENV through the router run
// as CGI: the gateway key and the provider key come from the file the
// selected environment names; a file others may read, or an environment
// the config does not have, stops the router with a clear error and
// nothing goes upstream.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, baseEnv, ROUTER } = require('../lib/harness.js');
const { chatBody } = require('../lib/client.js');

const GW_KEY = 'gk-secretsfile-0123456789';
const DS_KEY = 'sk-ds-SECRET-from-file-01';

let mock;
let dir;
let vars;

before(async () => {
  mock = await startMock();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-vars-'));
  fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
  vars = path.join(dir, 'development.vars');
  fs.writeFileSync(vars, `# development\nAUTH_KEY="${GW_KEY}"\nexport DEEPSEEK_API_KEY = '${DS_KEY}'  # the dev key\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'llmgate.conf'), [
    '[provider.deepseek]', 'base_url = http://127.0.0.1:9/nowhere',
    '[env.development]', `server.secrets_file = ${vars}`, `provider.deepseek.base_url = ${mock.url}/deepseek`, '',
  ].join('\n'));
});

after(async () => {
  if (mock) await mock.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => mock.reset());

// One chat request through the router as CGI -> { status, body, stderr }
// (spawned, not spawnSync: the mock upstream answers from this process).
function chat(env) {
  const body = JSON.stringify(chatBody('deepseek-chat'));
  const child = spawn(ROUTER, [], {
    env: {
      ...baseEnv(), ...env, LLMGATE_CONFIG: path.join(dir, 'llmgate.conf'), LLMGATE_STATE_DIR: path.join(dir, 'state'),
      GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'POST', REQUEST_URI: '/v1/chat/completions', REMOTE_ADDR: '127.0.0.1',
      CONTENT_LENGTH: String(Buffer.byteLength(body)), CONTENT_TYPE: 'application/json', HTTP_AUTHORIZATION: `Bearer ${GW_KEY}`,
    },
  });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdin.on('error', () => {});
  child.stdin.end(body);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  return new Promise((resolve) => child.on('close', () => {
    clearTimeout(timer);
    const m = /^Status: (\d+)/m.exec(out);
    resolve({ status: m ? Number(m[1]) : 0, body: out.slice(out.indexOf('\r\n\r\n') + 4), stderr });
  }));
}

describe('secrets file and environments', () => {
  it('LLMGATE_ENV=development: its section and its secrets file are used', async () => {
    const r = await chat({ LLMGATE_ENV: 'development' });
    assert.equal(r.status, 200, r.body + r.stderr);
    const up = mock.requests();
    assert.equal(up.length, 1);
    assert.equal(up[0].headers.authorization, `Bearer ${DS_KEY}`, 'the provider key from the file');
    assert.ok(!r.stderr.includes(DS_KEY) && !r.stderr.includes(GW_KEY), 'no secret in the log');
  });

  it('without LLMGATE_ENV neither applies: the gateway key is unknown', async () => {
    const r = await chat({});
    assert.equal(r.status, 401, r.body);
    assert.equal(mock.requests().length, 0);
  });

  it('a secrets file others may read stops the router, saying why; nothing goes upstream', async () => {
    fs.chmodSync(vars, 0o644);
    try {
      const r = await chat({ LLMGATE_ENV: 'development' });
      assert.equal(r.status, 500);
      assert.match(r.stderr, /secrets file .*development\.vars refused: readable or writable by others: chmod 600 it/);
      assert.ok(!r.stderr.includes(DS_KEY));
      assert.equal(mock.requests().length, 0);
    } finally {
      fs.chmodSync(vars, 0o600);
    }
  });

  it('an environment the config does not have stops the router', async () => {
    const r = await chat({ LLMGATE_ENV: 'developmnet' });
    assert.equal(r.status, 500);
    assert.match(r.stderr, /LLMGATE_ENV is developmnet but the config has no \[env\.developmnet\] section/);
    assert.equal(mock.requests().length, 0);
  });
});
