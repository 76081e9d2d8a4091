// The OpenWrt package (openwrt/llmgate) checked without the OpenWrt SDK:
// the shell syntax of its scripts, and its UCI mapping run against a sample
// /etc/config/llmgate, with the real router loading what it wrote.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { ROUTER, REPO_ROOT } = require('../lib/harness.js');

const FILES = path.join(REPO_ROOT, 'openwrt', 'llmgate', 'files');
const MAPPER = path.join(FILES, 'llmgate-uci');

const SAMPLE = `
config llmgate 'main'
	option enabled '1'
	option mode 'cgi'
	option state_dir '@STATE@'
	option threads '2'
	option log_level "warn"
	option cache '1'
	option cache_max_bytes '1048576'
	option spool_max_bytes 4194304
	option settle_every '30'
	option auth_keys 'gk-openwrt-0123456789abcdef'

config provider 'deepseek'
	option keys 'sk-ds-SECRET-openwrt'
	option base_url 'http://127.0.0.1:9/deepseek'
	list models 'deepseek-chat'
	list models 'deepseek-reasoner'

config provider 'local-vllm'
	option base_url 'http://127.0.0.1:8000/v1'
	option keys 'none'
	list models 'qwen2.5-7b-instruct'
`;

let dir;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-openwrt-')); });
after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

describe('openwrt/llmgate', () => {
  it('its shell scripts parse (sh -n)', () => {
    for (const f of ['llmgate.init', 'llmgate-uci', 'llmgate.uci-defaults']) {
      const r = spawnSync('sh', ['-n', path.join(FILES, f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    }
  });

  it('the UCI file becomes llmgate.conf, and the router loads it', () => {
    const state = path.join(dir, 'state');
    fs.mkdirSync(state, { mode: 0o700 });
    const uci = path.join(dir, 'llmgate');
    fs.writeFileSync(uci, SAMPLE.replace('@STATE@', state));
    const out = path.join(dir, 'etc', 'llmgate.conf');
    execFileSync('sh', [MAPPER, uci, out]);
    const conf = fs.readFileSync(out, 'utf8');
    assert.equal(fs.statSync(out).mode & 0o077, 0, 'private: it holds keys');
    for (const line of ['threads = 2', 'log_level = warn', `state_dir = ${state}`, 'max_bytes = 1048576',
      'spool_max_bytes = 4194304', 'keys = gk-openwrt-0123456789abcdef', '[provider.deepseek]',
      'models = deepseek-chat, deepseek-reasoner', '[provider.local-vllm]', 'keys = none']) {
      assert.ok(conf.split('\n').includes(line), `"${line}" in\n${conf}`);
    }
    const mtime = fs.statSync(out).mtimeMs;
    execFileSync('sh', [MAPPER, uci, out]);
    assert.equal(fs.statSync(out).mtimeMs, mtime, 'unchanged text: the file is not written again');

    // the router as CGI (as uhttpd runs it) with nothing but that file
    const r = spawnSync(ROUTER, [], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LLMGATE_CONFIG: out, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET',
        REQUEST_URI: '/cgi-bin/llmgate-router/v1/models', SCRIPT_NAME: '/cgi-bin/llmgate-router', PATH_INFO: '/v1/models',
        SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1', HTTP_AUTHORIZATION: 'Bearer gk-openwrt-0123456789abcdef' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Status: 200/m, r.stdout.slice(0, 400) + r.stderr);
    const ids = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{') + 1)).data.map((m) => m.id);
    assert.ok(ids.includes('qwen2.5-7b-instruct') && ids.includes('deepseek-reasoner'), ids.join());
  });

  it('a malformed line is refused and the old file kept', () => {
    const uci = path.join(dir, 'bad');
    const out = path.join(dir, 'etc', 'llmgate.conf');
    const before = fs.readFileSync(out, 'utf8');
    fs.writeFileSync(uci, "config llmgate 'main'\n\tthreads 2\n");
    const r = spawnSync('sh', [MAPPER, uci, out], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /line 2/);
    assert.equal(fs.readFileSync(out, 'utf8'), before);
  });
});
