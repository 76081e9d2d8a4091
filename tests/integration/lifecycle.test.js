// Process life of the router under lighttpd, and of the admin program: they
// stop on SIGTERM (what lighttpd, spawn-fcgi and service managers send), so
// that stopping or restarting the web server leaves no process behind.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, groupMembers, sleep, BUILD_DIR, baseEnv } = require('../lib/harness.js');
const { request, bearer, chatBody } = require('../lib/client.js');

const GW_KEY = 'gk-life-0123456789abcdef';

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// What a process that did not stop was doing, for the failure message.
function describeProc(pid) {
  const read = (f) => { try { return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8').trim(); } catch { return '?'; } };
  const state = (read('status').match(/^State:.*$/m) || ['?'])[0];
  const threads = (read('status').match(/^Threads:.*$/m) || ['?'])[0];
  return `pid ${pid}: ${state}, ${threads}, wchan ${read('wchan')}`;
}

async function gone(pred, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred()) return true;
    await sleep(50);
  }
  return pred();
}

let mock;
before(async () => { mock = await startMock(); });
after(async () => { if (mock) await mock.close(); });

describe('router process', { skip: !fs.existsSync('/proc/self/stat') && 'needs /proc' }, () => {
  it('exits within 2 s of SIGTERM; lighttpd starts a new one that serves', async () => {
    const gw = await startGateway({ env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-life' } });
    try {
      const lighttpd = Number(fs.readFileSync(path.join(gw.dir, 'lighttpd.pid'), 'utf8'));
      const [router] = groupMembers(lighttpd);
      assert.ok(router, 'a router process runs');
      process.kill(router, 'SIGTERM');
      assert.ok(await gone(() => !alive(router), 2000),
        `router still running 2 s after SIGTERM: ${describeProc(router)}\n${gw.errorLog().split('\n').slice(-8).join('\n')}`);
      // lighttpd starts the next router on the next request; a slow start
      // (ASan) can lose that first request with a 500, never a later one
      let res;
      for (let i = 0; i < 40; i++) {
        res = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
        if (res.status === 200) break;
        await sleep(250);
      }
      assert.equal(res.status, 200, res.text);
    } finally {
      await gw.stop();
    }
  });

  it('stopping lighttpd leaves no router running', async () => {
    const gw = await startGateway({ env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: 'sk-ds-SECRET-life' }, maxProcs: 2 });
    const lighttpd = Number(fs.readFileSync(path.join(gw.dir, 'lighttpd.pid'), 'utf8'));
    try {
      const routers = groupMembers(lighttpd);
      assert.equal(routers.length, 2);
      process.kill(lighttpd, 'SIGTERM');
      assert.ok(await gone(() => !alive(lighttpd), 3000), 'lighttpd exits');
      assert.ok(await gone(() => routers.every((p) => !alive(p)), 2000),
        `routers still running 2 s after lighttpd stopped: ${routers.filter(alive).map(describeProc).join('; ')}\n`
        + gw.errorLog().split('\n').slice(-8).join('\n'));
    } finally {
      await gw.stop();
    }
  });
});

describe('admin process', { skip: !fs.existsSync('/proc/self/stat') && 'needs /proc' }, () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    it(`a FastCGI llmgate-admin exits with status 0 within 2 s of ${sig}`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-life-admin-'));
      const sock = path.join(dir, 'admin.sock');
      fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'llmgate.conf'), '', { mode: 0o600 });
      const child = spawn(path.join(BUILD_DIR, 'llmgate-admin'), ['--listen', sock], {
        env: { ...baseEnv(), LLMGATE_CONFIG: path.join(dir, 'llmgate.conf'), LLMGATE_STATE_DIR: path.join(dir, 'state') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      try {
        assert.ok(await gone(() => fs.existsSync(sock), 5000), `admin never listened: ${stderr}`);
        await sleep(100);   // its worker threads are in accept
        child.kill(sig);
        const r = await Promise.race([exited, sleep(2000).then(() => null)]);
        assert.ok(r, `admin still running 2 s after ${sig}: ${describeProc(child.pid)}\n${stderr}`);
        assert.deepEqual(r, { code: 0, signal: null });
        assert.match(stderr, /stopped/);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
