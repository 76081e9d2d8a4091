// Starts the real stack for the integration tests: the mock upstream (in
// process) and lighttpd with llmgate-router as its FastCGI backend, each
// gateway in a fresh temporary directory on an ephemeral 127.0.0.1 port.
//
//   const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
//   const mock = await startMock();
//   const gw = await startGateway({ env: { ...mockEnv(mock), DEEPSEEK_API_KEY: 'sk-a' }, conf: '...' });
//   ... gw.url, gw.errorLog(), await gw.stop(); await mock.close();
//
// LLMGATE_BUILDDIR names the directory holding llmgate-router and
// llmgate-keys (default: the repository root). LIGHTTPD names the lighttpd
// binary (default: /usr/sbin/lighttpd, else lighttpd on PATH).

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const { spawn, execFile } = require('node:child_process');
const { createMock } = require('../mock/upstream.js');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BUILD_DIR = process.env.LLMGATE_BUILDDIR || REPO_ROOT;
const ROUTER = path.join(BUILD_DIR, 'llmgate-router');
const KEYS_TOOL = path.join(BUILD_DIR, 'llmgate-keys');
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;

// Variables of the test process that are passed on to the programs under
// test besides the ones a test names (sanitizer settings and the like).
const PASS_ENV = ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS', 'MSAN_OPTIONS'];

function findLighttpd() {
  if (process.env.LIGHTTPD) return process.env.LIGHTTPD;
  for (const p of ['/usr/sbin/lighttpd', '/usr/local/sbin/lighttpd', '/usr/bin/lighttpd']) {
    if (fs.existsSync(p)) return p;
  }
  return 'lighttpd';
}

// Everything started here, killed on stop() and at process exit.
const live = new Set();

function killGroup(child, signal) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, signal); } catch {
    try { child.kill(signal); } catch { /* gone */ }
  }
}

// Processes of process group `pgid` other than its leader, from /proc
// (Linux; [] where /proc cannot be read). Zombies only with `zombies`.
function groupMembers(pgid, zombies = false) {
  const out = [];
  let names;
  try { names = fs.readdirSync('/proc'); } catch { return out; }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === pgid) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] state, f[1] ppid, f[2] pgrp
    if (Number(f[2]) === pgid && (zombies || (f[0] !== 'Z' && f[0] !== 'X'))) out.push(pid);
  }
  return out;
}

process.on('exit', () => {
  for (const entry of live) {
    killGroup(entry.child, 'SIGKILL');
    try { fs.rmSync(entry.dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const entry of live) killGroup(entry.child, 'SIGKILL');
    process.exit(130);
  });
}

function baseEnv() {
  const env = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' };
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('LLMGATE_') && k !== 'LLMGATE_BUILDDIR') env[k] = v;
  }
  return env;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A lighttpd config string literal. lighttpd has no escape for '"' inside a
// string, so values holding one (or a newline) are refused outright.
function lstr(value) {
  const s = String(value);
  if (/["\n\r\0]/.test(s)) throw new Error(`value not representable in lighttpd config: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

// The program lighttpd starts: the router itself, or, with
// LLMGATE_ROUTER_WRAPPER (e.g. "valgrind --error-exitcode=1"), a script in
// the gateway's folder that runs it under that command. Each process's
// valgrind log goes to LLMGATE_VALGRIND_DIR when set.
function routerCommand(dir) {
  const wrapper = process.env.LLMGATE_ROUTER_WRAPPER;
  if (!wrapper) return ROUTER;
  const script = path.join(dir, 'router-wrapped.sh');
  const logDir = process.env.LLMGATE_VALGRIND_DIR || dir;
  const logOpt = /valgrind/.test(wrapper) ? ` --log-file=${logDir}/valgrind-%p.log` : '';
  fs.writeFileSync(script, `#!/bin/sh\nexec ${wrapper}${logOpt} ${ROUTER} "$@"\n`, { mode: 0o700 });
  return script;
}

// streams: how many streams the test opens at once; lighttpd then gets the
// descriptors, connections and FastCGI listen backlog they need
// (docs/performance.md, "Many open streams")
function manyStreamsConf(streams) {
  if (!streams) return { server: '', backend: '' };
  return {
    server: `server.max-fds = ${4 * streams + 256}\nserver.max-connections = ${2 * streams + 64}\n`,
    backend: `    "listen-backlog" => ${streams + 64},\n`,
  };
}

function lighttpdConf({ dir, port, mount, maxProcs, binEnv, streamRequestBody = 0, streams = 0 }) {
  const many = manyStreamsConf(streams);
  const envLines = Object.entries(binEnv)
    .map(([k, v]) => `        ${lstr(k)} => ${lstr(v)},`)
    .join('\n');
  return `# generated by tests/lib/harness.js
server.modules = ( "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = ${port}
server.document-root = ${lstr(dir)}
server.errorlog = ${lstr(dir + '/error.log')}
server.pid-file = ${lstr(dir + '/lighttpd.pid')}
server.stream-response-body = 2
server.stream-request-body = ${streamRequestBody}
server.max-request-size = 65536
${many.server}fastcgi.server = (
  ${lstr(mount)} => ((
    "socket" => ${lstr(dir + '/router.sock')},
    "bin-path" => ${lstr(routerCommand(dir))},
    "max-procs" => ${maxProcs},
${many.backend}    "check-local" => "disable",
    "bin-copy-environment" => ( "PATH" ),
    "bin-environment" => (
${envLines}
    ),
  )),
)
`;
}

// Small HTTP GET used while waiting for the gateway to come up.
function probe(url, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startMock(opts = {}) {
  return createMock({ port: 0, ...opts });
}

function mockEnv(mock) {
  return {
    DEEPSEEK_BASE_URL: mock.url + '/deepseek',
    MOONSHOT_BASE_URL: mock.url + '/moonshot/v1',
    ZAI_BASE_URL: mock.url + '/zai/api/paas/v4',
    OPENAI_BASE_URL: mock.url + '/openai/v1',
    SILICONFLOW_BASE_URL: mock.url + '/siliconflow/v1',
    OPENROUTER_BASE_URL: mock.url + '/openrouter/api/v1',
    ANTHROPIC_BASE_URL: mock.url + '/anthropic/v1',
    GEMINI_BASE_URL: mock.url + '/gemini/v1beta',
  };
}

// streamRequestBody: lighttpd's server.stream-request-body (0, as shipped:
// bodies buffered before the router sees the request; 2: passed on as they
// arrive, as some front ends do)
// stateDir: an existing folder to use as the state folder (one on a file
// system of the test's own, say) instead of a fresh one inside the temp dir
// streams: streams opened at once (lighttpd's limits raised for them)
async function startGateway({ env = {}, conf = '', mount = '/', maxProcs = 1, streamRequestBody = 0, stateDir: ownState, streams = 0 } = {}) {
  if (!fs.existsSync(ROUTER)) {
    throw new Error(`router binary not found: ${ROUTER} (build it, or set LLMGATE_BUILDDIR)`);
  }
  if (!mount.startsWith('/')) throw new Error('mount must start with "/"');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-it-'));
  const stateDir = ownState || path.join(dir, 'state');
  if (!ownState) fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.chmodSync(stateDir, 0o700);
  const confPath = path.join(dir, 'llmgate.conf');
  fs.writeFileSync(confPath, conf, { mode: 0o600 });

  const binEnv = { ...baseEnv(), ...env, LLMGATE_CONFIG: confPath, LLMGATE_STATE_DIR: stateDir };
  delete binEnv.PATH; // copied from lighttpd's own environment

  // The port is picked free and then bound by lighttpd; another process may
  // take it in between, so a bind failure is retried on a new port.
  let lastError = null;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const r = await launch({ dir, stateDir, confPath, binEnv, port, mount, maxProcs, streamRequestBody, streams });
    if (r.gw) return r.gw;
    lastError = r.error;
    if (!r.portTaken) break;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

// One try at starting lighttpd on `port` -> { gw } or { error, portTaken }.
async function launch({ dir, stateDir, confPath, binEnv, port, mount, maxProcs, streamRequestBody, streams }) {
  const lconfPath = path.join(dir, 'lighttpd.conf');
  fs.writeFileSync(lconfPath, lighttpdConf({ dir, port, mount, maxProcs, binEnv, streamRequestBody, streams }));
  const errorLogPath = path.join(dir, 'error.log');
  fs.writeFileSync(errorLogPath, '', { mode: 0o600 });

  // lighttpd itself gets a minimal environment, so nothing of the test
  // process (provider keys in particular) leaks to the router.
  // Its stderr, which the FastCGI backends inherit, is appended to the
  // error log too, so errorLog() holds the router's stderr.
  const errFd = fs.openSync(errorLogPath, 'a', 0o600);
  let child;
  try {
    child = spawn(findLighttpd(), ['-D', '-f', lconfPath], {
      cwd: dir,
      env: { PATH: baseEnv().PATH },
      stdio: ['ignore', 'pipe', errFd],
      detached: true, // own process group: stop() kills lighttpd and its backends
    });
  } finally {
    fs.closeSync(errFd);
  }
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, sig }));
    child.once('error', (err) => resolve({ code: null, sig: null, err }));
  });
  const entry = { child, dir };
  live.add(entry);

  const base = `http://127.0.0.1:${port}`;
  const prefix = mount.endsWith('/') ? mount.slice(0, -1) : mount;
  const url = base + prefix;

  const errorLog = () => {
    try { return fs.readFileSync(errorLogPath, 'utf8'); } catch { return ''; }
  };

  let stopped = false;
  const halt = async () => {
    if (stopped) return;
    stopped = true;
    if (child.pid && child.exitCode === null && child.signalCode === null && process.env.LLMGATE_ROUTER_WRAPPER) {
      // under valgrind: the routers stop first and write their reports
      // (lighttpd's own shutdown kills them hard); lighttpd is paused
      // meanwhile, then killed outright: woken, it would start a new router
      // for the one that ended, killed before it could write a report
      try { process.kill(child.pid, 'SIGSTOP'); } catch { /* gone */ }
      for (const pid of groupMembers(child.pid)) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
      for (let i = 0; i < 400 && groupMembers(child.pid).length; i++) await sleep(50);
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
      await exited;
    }
    // the routers, by pid: whatever group they end up in, they are gone
    // (or zombies, their locks released) when halt() returns
    const routers = child.pid ? groupMembers(child.pid).filter((pid) => {
      try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'llmgate-router'; } catch { return false; }
    }) : [];
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      // lighttpd passes SIGTERM on to its backends; a backend that ignores
      // it is killed below. (Backends orphaned by lighttpd's exit may stay
      // zombies on hosts whose init does not reap; they hold no resources.)
      try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
      let timer;
      const t = new Promise((r) => { timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS); });
      const how = await Promise.race([exited, t]);
      clearTimeout(timer);
      if (how === 'timeout') {
        killGroup(child, 'SIGKILL');
        await exited;
      }
    }
    // Backends that outlived lighttpd in the group: killed, and waited for
    // (a killed process takes a moment to be gone).
    if (child.pid) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
      for (let i = 0; i < 100 && groupMembers(child.pid).length; i++) await sleep(20);
    }
    const alive = (pid) => { try { return !/^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; } };
    // (a killed process holds its files, and so its spool lock, until its
    // memory is torn down: seconds for an ASan build on a loaded machine)
    for (let i = 0; i < 1500 && routers.some(alive); i++) {
      if (i === 100) for (const pid of routers.filter(alive)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await sleep(20);
    }
    live.delete(entry);
  };
  const stop = async () => {
    await halt();
    if (!process.env.LLMGATE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let status = 0;
  let early = null;
  exited.then((r) => { early = r; });
  while (Date.now() < deadline) {
    if (early) break;
    status = await probe(url + '/health', 1000);
    if (status === 200) break;
    await sleep(50);
  }
  if (status !== 200) {
    const log = errorLog();
    let why;
    if (early && early.err) why = `lighttpd could not be run: ${early.err.message}`;
    else if (early) why = `lighttpd exited (${early.code ?? early.sig})`;
    else why = `GET ${url}/health answered ${status || 'nothing'}`;
    await halt();
    const portTaken = !!early && /Address already in use|can't bind/i.test(log);
    return { portTaken, error: new Error(`gateway did not start: ${why}\n--- lighttpd output ---\n${output}\n--- error.log ---\n${log}`) };
  }

  return {
    gw: {
      url,
      base,
      port,
      dir,
      stateDir,
      confPath,
      env: binEnv,
      stop,
      // stop lighttpd and the router but keep the folder (state, spool)
      halt,
      // pids of the live router processes (for kill -9 tests)
      routerPids: () => groupMembers(child.pid).filter((pid) => {
        try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'llmgate-router'; } catch { return false; }
      }),
      errorLog,
      output: () => output,
    },
  };
}

// Runs llmgate-keys with the config and state dir of gateway `gw`.
function keysTool(gw, args, { env = {}, timeoutMs = 10000, input } = {}) {
  return new Promise((resolve) => {
    const e = { ...baseEnv(), ...env, LLMGATE_CONFIG: gw.confPath, LLMGATE_STATE_DIR: gw.stateDir };
    const child = execFile(KEYS_TOOL, args, { env: e, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof err.code === 'number' ? err.code : (err.signal ? 128 : 127);
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && typeof err.code !== 'number' ? `\n${err.message}` : '') });
    });
    // input (the secret for 'upstream add') goes on stdin, never argv
    child.stdin.on('error', () => {}); // the tool may exit without reading it
    child.stdin.end(input === undefined ? '' : input);
  });
}

// Every usage record a gateway wrote so far (its spool's open and closed
// segments), parsed.
function usageRecords(gw) {
  const dir = path.join(gw.stateDir, 'spool');
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

module.exports = {
  usageRecords,
  startMock,
  startGateway,
  mockEnv,
  keysTool,
  freePort,
  sleep,
  ROUTER,
  routerCommand,
  KEYS_TOOL,
  BUILD_DIR,
  REPO_ROOT,
  baseEnv,
  groupMembers,
};
