// [server] log = syslog: the router (FastCGI under lighttpd) and
// llmgate-settle send their log lines to the syslog socket as RFC 3164
// messages with the configured facility, nothing of them on stderr, no
// secret in them. A small datagram listener (python3) stands in for
// /dev/log at a path of the test's own.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { startMock, startGateway, mockEnv, baseEnv, BUILD_DIR } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const PYTHON = '/usr/bin/python3';
const GW_KEY = 'gk-syslog-0123456789abcdef';
const DS_KEY = 'sk-ds-SECRET-syslog-0123';
const LISTENER = [
  'import socket, sys',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  's.bind(sys.argv[1])',
  'print("READY", flush=True)',
  'while True:',
  '    sys.stdout.write(s.recv(65536).decode("utf-8", "replace") + "\\n"); sys.stdout.flush()',
].join('\n');

describe('syslog', { skip: fs.existsSync(PYTHON) ? false : `${PYTHON} not installed` }, () => {
  let mock;
  let gw;
  let dir;
  let listener;
  let received = '';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-syslog-'));
    const sock = path.join(dir, 'log.sock');
    listener = spawn(PYTHON, ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout.on('data', (d) => { received += d; });
    assert.ok(await waitFor(() => received.includes('READY'), { timeoutMs: 10000 }), 'the listener is up');
    mock = await startMock();
    gw = await startGateway({
      env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: DS_KEY },
      conf: buildConf({ server: { log: 'syslog', log_facility: 'local4', syslog_socket: sock, log_level: 'info' } }),
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
    if (listener) listener.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the router's lines go to syslog with the facility, none to stderr", async () => {
    const r = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
    assert.equal(r.status, 200, r.text);
    const line = await waitFor(() => received.split('\n').find((l) => / llmgate-router\[\d+\]: .*model=deepseek-chat provider=deepseek .*status=200/.test(l)),
      { timeoutMs: 10000 });
    assert.ok(line, `the usage line reached syslog:\n${received}`);
    assert.match(line, /^<166>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d llmgate-router\[\d+\]: /, 'local4.info, RFC 3164');
    assert.doesNotMatch(gw.errorLog(), /llmgate-router\[info\]/, 'no log line on stderr');
  });

  it("llmgate-settle's lines go there too", async () => {
    // a state folder that does not exist: settle says so at level info
    const r = spawnSync(path.join(BUILD_DIR, 'llmgate-settle'), ['--verbose', '--state-dir', path.join(dir, 'none')], {
      env: { ...baseEnv(), LLMGATE_CONFIG: gw.confPath, LLMGATE_STATE_DIR: gw.stateDir }, encoding: 'utf8', timeout: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(await waitFor(() => / llmgate-settle\[\d+\]: no state directory .*nothing to settle/.test(received), { timeoutMs: 10000 }),
      `settle logged to syslog:\n${received}`);
    assert.doesNotMatch(r.stderr, /llmgate-settle\[(info|warn)\]/);
  });

  it('holds no secret', () => {
    for (const s of [GW_KEY, DS_KEY]) assert.ok(!received.includes(s), 'a secret reached syslog');
  });
});
