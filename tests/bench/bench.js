#!/usr/bin/env node
// The llmgate benchmark (run it through tests/bench/run.sh, or `make bench`).
//
// Starts, on 127.0.0.1 ephemeral ports: nginx serving a fixed chat.completion
// and a fixed SSE stream, a trickling SSE upstream (trickle-upstream.js), one
// lighttpd with mod_proxy (the floor) and mod_fastcgi to llmgate-router
// processes, and, when it installs, the Portkey gateway. Then measures every
// path on every workload, the paths of one workload back to back and the
// whole round repeated, and prints one table (also written to
// results/latest.txt and results/latest.json). Everything it started is
// stopped on exit, error or signal.
//
// Paths:  a  the mock directly
//         b  lighttpd mod_proxy -> mock                  (the floor)
//         c  lighttpd -> llmgate-router (FastCGI) -> mock  (auth, routing, usage spool)
//         d  the same router with [cache] on, every request a cache hit
//         w  (trickle only) the router with [server] threads = 256
//         v  (trickle only) the router with [server] streams = events
//         e  Portkey gateway (Node) -> mock
//
// Options (see run.sh --help): --quick  --duration S  --reps N  --threads N
//          --portkey  --no-portkey  --no-callgrind  --only LIST  --streams N
//          --out DIR  --baseline  --keep

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { spawn, execFileSync } = require('node:child_process');
const fx = require('./fixtures.js');

const HERE = __dirname;
// this process's descriptor limit (what run.sh raised it to), which the
// processes it starts inherit; lighttpd may not ask for more
const FD_LIMIT = (() => {
  try {
    const m = fs.readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m);
    return m ? Math.min(65536, Number(m[1])) : 16384;
  } catch { return 16384; }
})();
const REPO = path.resolve(HERE, '..', '..');
const BUILD_DIR = path.resolve(process.env.LLMGATE_BUILDDIR || REPO);
const ROUTER = path.join(BUILD_DIR, 'llmgate-router');
const KEYS = path.join(BUILD_DIR, 'llmgate-keys');
const LIGHTTPD = process.env.LIGHTTPD || firstExisting(['/usr/sbin/lighttpd', '/usr/local/sbin/lighttpd']) || 'lighttpd';
const NGINX = process.env.NGINX || firstExisting(['/usr/sbin/nginx', '/usr/local/sbin/nginx']) || 'nginx';
const WRK = process.env.WRK || 'wrk';
const NODE = process.execPath;
const PORTKEY_VERSION = process.env.PORTKEY_VERSION || '1.15.2';
const HONO_NODE_SERVER = '1.13.5';
const GATEWAY_KEY = 'sk-bench-gateway-key-0123456789abcdef';
const UPSTREAM_KEY = 'bench-key';
const CLK_TCK = 100;

function firstExisting(list) {
  for (const p of list) if (fs.existsSync(p)) return p;
  return null;
}

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = {
    quick: false, duration: null, reps: null, threads: 16, wideThreads: 256,
    portkey: null, callgrind: true, out: path.join(HERE, 'results'), baseline: false, keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const num = (lo, hi) => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${a}: an integer from ${lo} to ${hi}`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--duration') o.duration = num(1, 120);
    else if (a === '--reps') o.reps = num(1, 9);
    else if (a === '--threads') o.threads = num(1, 1024);
    else if (a === '--portkey') o.portkey = true;
    else if (a === '--no-portkey') o.portkey = false;
    else if (a === '--no-callgrind') o.callgrind = false;
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--baseline') o.baseline = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--only') {
      o.only = new Set(val().split(',').map((x) => x.trim()).filter(Boolean));
      for (const g of o.only) if (!['chat', 'stream', 'trickle', 'profile'].includes(g)) throw new Error(`--only: chat, stream, trickle, profile (not ${g})`);
    } else if (a === '--streams') o.streams = num(1, 20000);
    else if (a === '--trickle-paths') {
      o.trickleIds = val().split(',').map((x) => x.trim()).filter(Boolean);
      for (const id of o.trickleIds) if (!['a', 'b', 'c', 'w', 'v', 'e'].includes(id)) throw new Error(`--trickle-paths: some of a,b,c,w,v,e (not ${id})`);
    } else if (a === '--pin-cpu') o.pinCpu = num(0, 1023);
    else if (a === '--hold') o.hold = true;
    else if (a === '--threads-mode') o.threadsCd = true;
    else if (a === '--help' || a === '-h') {
      const lines = fs.readFileSync(path.join(HERE, 'run.sh'), 'utf8').split('\n');
      process.stdout.write(lines.slice(1, lines.findIndex((l) => l.startsWith('set -eu'))).map((l) => l.replace(/^# ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (o.quick) {
    o.duration ??= 1;
    o.reps ??= 1;
    o.portkey ??= false;
    o.nonstream = [1, 16, 64, 256];
    o.stream = [16, 256];
    o.trickle = { streams: 64, events: 10, interval: 20 };
    o.cgJson = 200;
    o.cgSse = 50;
  } else {
    o.duration ??= 3;
    o.reps ??= 3;
    o.portkey ??= true;
    o.nonstream = [1, 16, 64, 256];
    o.stream = [16, 256];
    o.trickle = { streams: 256, events: 20, interval: 50 };
    o.cgJson = 1000;
    o.cgSse = 250;
  }
  if (o.streams) o.trickle.streams = o.streams;
  o.trickleIds ??= ['a', 'b', 'c', 'w', 'v', 'e'];
  o.only ??= new Set(['chat', 'stream', 'trickle', 'profile']);
  if (!o.only.has('profile')) o.callgrind = false;
  if (!o.only.has('chat')) o.nonstream = [];
  if (!o.only.has('stream')) o.stream = [];
  return o;
}

let OPT;
try {
  OPT = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(2);
}

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const T0 = Date.now();
const log = (msg) => process.stderr.write(`bench: [${Math.round((Date.now() - T0) / 1000)}s] ${msg}\n`);

function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
function sh(cmd, args, { timeout = 15000, stderr = false } = {}) {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim();
  } catch (e) {
    const s = `${e.stdout || ''}${stderr ? e.stderr || '' : ''}`.trim();
    return s || null;
  }
}
function shBoth(cmd, args) {
  // Some programs (nginx -v) print their version on stderr.
  try {
    const r = require('node:child_process').spawnSync(cmd, args, { encoding: 'utf8', timeout: 15000 });
    return `${r.stdout || ''}${r.stderr || ''}`.trim() || null;
  } catch {
    return null;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ processes

const WORK = process.env.LLMGATE_BENCH_WORKDIR || fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-bench-'));
fs.mkdirSync(WORK, { recursive: true });
const PIDFILE = process.env.LLMGATE_BENCH_PIDFILE || path.join(WORK, 'pids');
const procs = new Set();

function recordPids() {
  const lines = [...procs].map((p) => String(p.child.pid)).join('\n');
  try { fs.writeFileSync(PIDFILE, lines ? lines + '\n' : ''); } catch { /* ignore */ }
}

// Starts a program in its own process group; stdout/stderr go to files in
// WORK unless `pipeStdout`.
function start(name, cmd, args, { env, cwd = WORK, pipeStdout = false } = {}) {
  const outPath = path.join(WORK, `${name}.log`);
  const fd = fs.openSync(outPath, 'a');
  let child;
  try {
    child = spawn(cmd, args, {
      cwd,
      env: env || { PATH: process.env.PATH },
      stdio: ['ignore', pipeStdout ? 'pipe' : fd, fd],
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  const p = { name, child, logPath: outPath, exited: null };
  p.exited = new Promise((resolve) => {
    child.once('exit', (code, sig) => { procs.delete(p); recordPids(); resolve({ code, sig }); });
    child.once('error', (err) => { procs.delete(p); recordPids(); resolve({ code: null, sig: null, err }); });
  });
  procs.add(p);
  recordPids();
  return p;
}

async function stop(p, { signal = 'SIGTERM', timeoutMs = 8000 } = {}) {
  if (!p || !procs.has(p)) return;
  try { process.kill(-p.child.pid, signal); } catch { /* gone */ }
  const t = sleep(timeoutMs).then(() => 'timeout');
  if ((await Promise.race([p.exited, t])) === 'timeout') {
    try { process.kill(-p.child.pid, 'SIGKILL'); } catch { /* gone */ }
    await p.exited;
  }
  // Anything left in its group.
  try { process.kill(-p.child.pid, 'SIGKILL'); } catch { /* none */ }
}

let cleaned = false;
function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  for (const p of procs) {
    try { process.kill(-p.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  procs.clear();
  try { fs.writeFileSync(PIDFILE, ''); } catch { /* ignore */ }
  if (!OPT.keep) fs.rmSync(WORK, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    log(`${sig}: stopping everything`);
    cleanupSync();
    process.exit(130);
  });
}

function logTail(p, n = 20) {
  try {
    return fs.readFileSync(p.logPath, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

async function waitFor(what, fn, timeoutMs, p) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p && !procs.has(p)) throw new Error(`${what}: the process exited\n${logTail(p)}`);
    try {
      if (await fn()) return;
    } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${p ? `\n${logTail(p)}` : ''}`);
}

function waitLine(p, re, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${p.name}: no "${re}" within ${timeoutMs} ms\n${buf}`)), timeoutMs);
    p.child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    p.exited.then(() => { clearTimeout(timer); reject(new Error(`${p.name} exited\n${buf}\n${logTail(p)}`)); });
  });
}

// ------------------------------------------------------------------ /proc

function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => {
      const m = s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) : null;
    };
    const th = s.match(/^Threads:\s+(\d+)/m);
    return { rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), hwmKb: kb('VmHWM'), threads: th ? Number(th[1]) : null };
  } catch {
    return null;
  }
}
function fdCount(pid) {
  try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return null; }
}
function cpuTicks(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]); // utime stime
    } catch { /* gone */ }
  }
  return t;
}
function childPids(ppid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === ppid) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

// CPU of this process and everything below it (reaped children included),
// and of the whole machine, in clock ticks: to tell how much of the machine
// other processes took while the benchmark ran.
function descendants(root) {
  const kids = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const pp = Number(f[1]);
      if (!kids.has(pp)) kids.set(pp, []);
      kids.get(pp).push(Number(name));
    } catch { /* gone */ }
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const k of kids.get(p) || []) stack.push(k);
  }
  return out;
}
function ourTicks() {
  let t = 0;
  for (const pid of descendants(process.pid)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
    } catch { /* gone */ }
  }
  return t;
}
function machineTicks() {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return { busy: v[0] + v[1] + v[2], steal: v[7] || 0, total: v.slice(0, 8).reduce((a, b) => a + b, 0) };
}

// The kinds of a process's open files: socket, pipe, eventfd, file, ...
function fdKinds(pid) {
  const out = {};
  let names = [];
  try { names = fs.readdirSync(`/proc/${pid}/fd`); } catch { return out; }
  for (const n of names) {
    let t;
    try { t = fs.readlinkSync(`/proc/${pid}/fd/${n}`); } catch { continue; }
    const k = t.startsWith('socket:') ? 'socket' : t.startsWith('pipe:') ? 'pipe'
      : t.startsWith('anon_inode:') ? t.slice(11).replace(/[[\]]/g, '') : t.startsWith('/dev/') ? t : 'file';
    out[k] = (out[k] || 0) + 1;
  }
  return out;
}

// Where a process's resident pages are, from /proc/<pid>/smaps, in kB:
// thread stacks, heap (brk heap and the other anonymous mappings: malloc
// arenas, mmap'd blocks), the program's own file, and shared libraries
// (their file pages, with the private copies of their relocated data
// counted apart as "libs (private)").
function memKinds(pid) {
  let text;
  try { text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { return null; }
  // Each thread's stack pointer, from /proc/<pid>/task/<tid>/syscall
  // ("nr args... sp pc" while blocked in a system call): the mappings
  // holding one are thread stacks.
  const sps = [];
  let tids = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { /* gone */ }
  for (const tid of tids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim().split(/\s+/);
      if (f.length >= 3 && /^0x/.test(f[f.length - 2])) sps.push(BigInt(f[f.length - 2]));
    } catch { /* gone, or running */ }
  }
  const out = { stacks: 0, stacksN: 0, heap: 0, program: 0, libs: 0, libsPrivate: 0, other: 0 };
  let cur = null;
  let exe = null;
  try { exe = fs.readlinkSync(`/proc/${pid}/exe`); } catch { /* gone */ }
  for (const line of text.split('\n')) {
    const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/);
    if (m) {
      const [start, end, name] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`), m[4]];
      const kind = name === '[stack]' || (name === '' && sps.some((sp) => sp >= start && sp < end)) ? 'stacks'
        : name === '' || name === '[heap]' ? 'heap'
        : exe && name === exe ? 'program'
        : name.startsWith('/') ? 'libs' : 'other';
      cur = { kind };
      if (kind === 'stacks') out.stacksN++;
      continue;
    }
    if (!cur) continue;
    const r = line.match(/^(Rss|Anonymous):\s+(\d+) kB/);
    if (!r) continue;
    const v = Number(r[2]);
    if (r[1] === 'Rss') out[cur.kind] += v;
    else if (cur.kind === 'libs') { out.libsPrivate += v; out.libs -= v; }
  }
  return out;
}

// Builds and runs a program that links what llmgate-router links
// (readelf's NEEDED entries) and sleeps; its resident memory then is what any program built on those
// libraries pays before doing anything. null when it cannot be built.
async function libFloor() {
  const elf = sh('readelf', ['-d', ROUTER]);
  if (!elf) return null;
  const needed = elf.split('\n').map((l) => l.match(/\(NEEDED\).*\[(.+)\]/)).filter(Boolean).map((m) => m[1])
    .filter((n) => !/^(libc\.so|ld-linux)/.test(n));
  const src = path.join(WORK, 'libfloor.c');
  const bin = path.join(WORK, 'libfloor');
  fs.writeFileSync(src, '#include <unistd.h>\nint main(void) { sleep(30); return 0; }\n');
  try {
    execFileSync(process.env.CC || 'cc', ['-O2', '-o', bin, src, '-Wl,--no-as-needed', ...needed.map((n) => `-l:${n}`)],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 });
  } catch (e) {
    log(`libfloor: not built (${String(e.stderr || e.message).split('\n')[0]})`);
    return null;
  }
  const p = start('libfloor', bin, []);
  await sleep(500);
  const st = procStatus(p.child.pid);
  const mem = memKinds(p.child.pid);
  await stop(p);
  return st ? { ...st, mem, libs: needed.length } : null;
}

// Samples memory, threads and fds of the watched processes every 100 ms,
// keeping the maximum per process and phase.
const watched = new Map(); // key -> pid
const peaks = new Map();   // `${key}|${phase}` -> {rssKb, threads, fds}
let phase = 'idle';
let sampleN = 0;
const sampler = setInterval(() => {
  sampleN++;
  for (const [key, pid] of watched) {
    const st = procStatus(pid);
    if (!st) continue;
    const fds = sampleN % 5 === 0 || phase !== 'idle' ? fdCount(pid) : null;
    for (const ph of [phase, '*']) {
      const k = `${key}|${ph}`;
      const cur = peaks.get(k) || { rssKb: 0, anonKb: 0, threads: 0, fds: 0 };
      cur.rssKb = Math.max(cur.rssKb, st.rssKb || 0);
      cur.anonKb = Math.max(cur.anonKb, st.anonKb || 0);
      cur.threads = Math.max(cur.threads, st.threads || 0);
      if (fds !== null) cur.fds = Math.max(cur.fds, fds);
      peaks.set(k, cur);
    }
  }
}, 100);
sampler.unref();

function snapshot(key) {
  const pid = watched.get(key);
  if (!pid) return null;
  const st = procStatus(pid);
  if (!st) return null;
  return { ...st, fds: fdCount(pid), mem: memKinds(pid) };
}

// ------------------------------------------------------------------ HTTP client

// One request; resolves {status, headers, body, ttfb, error}. ttfb: ms from
// sending to the first body byte.
function request(url, { method = 'POST', headers = {}, body = null, timeoutMs = 15000, agent = false } = {}) {
  return new Promise((resolve) => {
    const t0 = nowMs();
    let ttfb = null;
    let settled = false;
    const done = (r) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const h = { ...headers };
    if (body !== null) h['Content-Length'] = Buffer.byteLength(body);
    const req = http.request(url, { method, headers: h, agent, timeout: timeoutMs }, (res) => {
      const parts = [];
      res.on('data', (d) => {
        if (ttfb === null) ttfb = nowMs() - t0;
        parts.push(d);
      });
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8'), ttfb }));
      res.on('error', (e) => done({ status: res.statusCode, headers: res.headers, body: '', ttfb, error: e.message }));
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', (e) => done({ status: 0, headers: {}, body: '', ttfb, error: e.message }));
    req.end(body === null ? undefined : body);
  });
}

function sseEvents(text) {
  return text.split(/\r?\n\r?\n/).map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n')).filter((d) => d.length);
}

// Checks an answer; returns null when good, else why not.
function checkAnswer(kind, r) {
  if (r.error) return `request failed: ${r.error}`;
  if (r.status !== 200) return `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
  if (kind === 'json') {
    let j;
    try { j = JSON.parse(r.body); } catch { return `not JSON: ${r.body.slice(0, 120)}`; }
    const c = j?.choices?.[0]?.message?.content;
    if (c !== fx.ANSWER) return `unexpected content: ${String(c).slice(0, 80)}`;
    return null;
  }
  const evs = sseEvents(r.body);
  if (evs[evs.length - 1] !== '[DONE]') return `stream does not end with [DONE]: ${r.body.slice(-120)}`;
  let text = '';
  let usage = false;
  for (const d of evs.slice(0, -1)) {
    let j;
    try { j = JSON.parse(d); } catch { return `event not JSON: ${d.slice(0, 80)}`; }
    const c = j?.choices?.[0]?.delta?.content;
    if (typeof c === 'string') text += c;
    if (j?.usage && j.usage.total_tokens) usage = true;
  }
  if (text !== fx.ANSWER) return `streamed text differs: ${text.slice(0, 80)}`;
  if (!usage) return 'no usage chunk';
  return null;
}

// ------------------------------------------------------------------ servers

function nginxQuote(s) {
  if (s.includes('$')) throw new Error('nginx return text must not contain $');
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

async function startNginx(port) {
  const tmp = path.join(WORK, 'nginx-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const www = path.join(WORK, 'www');
  fs.mkdirSync(www, { recursive: true });
  fs.chmodSync(WORK, 0o755);
  const sseFile = path.join(www, 'stream.sse');
  fs.writeFileSync(sseFile, fx.chatStream('bench-sse'));
  const conf = `# generated by tests/bench/bench.js
worker_processes 1;
pid ${WORK}/nginx.pid;
error_log ${WORK}/nginx-error.log warn;
daemon off;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${tmp}/client;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  client_body_buffer_size 64k;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  sendfile on;
  open_file_cache max=16 inactive=3600s;
  open_file_cache_valid 3600s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /fast/v1/chat/completions {
      default_type application/json;
      return 200 ${nginxQuote(fx.chatResponse('bench-json'))};
    }
    # The stream is longer than an nginx config string may be: a file,
    # which POST reaches through error_page 405.
    location = /sse/v1/chat/completions {
      types { }
      default_type text/event-stream;
      add_header Cache-Control no-cache;
      alias ${sseFile};
      error_page 405 =200 $uri;
    }
    location / {
      default_type application/json;
      return 404 '{"error":{"message":"no such path","type":"invalid_request_error","param":null,"code":"unknown_url"}}';
    }
  }
}
`;
  const confPath = path.join(WORK, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const p = start('nginx', NGINX, ['-p', WORK, '-c', confPath, '-e', path.join(WORK, 'nginx-error.log')]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx', async () => (await request(`${url}/fast/v1/chat/completions`, { body: '{}', timeoutMs: 1000 })).status === 200, 10000, p);
  return { p, url, port };
}

async function startTrickler() {
  const t = OPT.trickle;
  const p = start('trickle-upstream', NODE, [path.join(HERE, 'trickle-upstream.js'), '--port', '0',
    '--events', String(t.events), '--interval', String(t.interval), '--log', path.join(WORK, 'trickle-sends.jsonl')],
  { pipeStdout: true });
  const m = await waitLine(p, /LISTENING (\d+)/, 10000);
  return { p, url: `http://127.0.0.1:${m[1]}`, port: Number(m[1]) };
}

function routerConf({ name, threads, cache, ngx, trk, streams = 'threads' }) {
  return `# generated by tests/bench/bench.js (router ${name})
[server]
threads = ${threads}
streams = ${streams}
state_dir = ${WORK}/state-${name}
log_level = info

[provider.fastjson]
base_url = ${ngx}/fast/v1
keys = ${UPSTREAM_KEY}
models = bench-json

[provider.fastsse]
base_url = ${ngx}/sse/v1
keys = ${UPSTREAM_KEY}
models = bench-sse

[provider.trickle]
base_url = ${trk}/trickle/v1
keys = ${UPSTREAM_KEY}
models = bench-trickle

[cache]
enabled = ${cache ? 'true' : 'false'}
`;
}

// A router started with --listen on a Unix socket (lighttpd points at it).
async function startRouter({ name, threads, cache, ngx, trk, streams, wrapper = null }) {
  // LLMGATE_BENCH_ROUTER_WRAPPER="valgrind --leak-check=full --log-file=%p.vg":
  // run the measured routers under a tool (the work dir is their cwd).
  if (!wrapper && process.env.LLMGATE_BENCH_ROUTER_WRAPPER) wrapper = process.env.LLMGATE_BENCH_ROUTER_WRAPPER.split(/\s+/).filter(Boolean);
  // --pin-cpu N: the events router on one core (taskset execs it: same pid)
  if (!wrapper && name === 'v' && OPT.pinCpu !== undefined) wrapper = ['taskset', '-c', String(OPT.pinCpu)];
  const confPath = path.join(WORK, `llmgate-${name}.conf`);
  fs.writeFileSync(confPath, routerConf({ name, threads, cache, ngx, trk, streams }), { mode: 0o600 });
  fs.mkdirSync(path.join(WORK, `state-${name}`), { recursive: true, mode: 0o700 });
  const sock = path.join(WORK, `${name}.sock`);
  fs.rmSync(sock, { force: true });
  const env = {
    PATH: process.env.PATH,
    LLMGATE_CONFIG: confPath,
    LLMGATE_STATE_DIR: path.join(WORK, `state-${name}`),
    AUTH_KEY: GATEWAY_KEY,
  };
  // LLMGATE_BENCH_ROUTER_ENV="NAME=value ...": more environment for the
  // routers (MALLOC_ARENA_MAX=2, LLMGATE_LOG_LEVEL=warn, ...).
  for (const kv of (process.env.LLMGATE_BENCH_ROUTER_ENV || '').split(/\s+/).filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const cmd = wrapper ? wrapper[0] : ROUTER;
  const args = wrapper ? [...wrapper.slice(1), ROUTER, '--listen', sock] : ['--listen', sock];
  const p = start(`router-${name}`, cmd, args, { env });
  await waitFor(`router ${name}`, async () => fs.existsSync(sock), wrapper ? 60000 : 10000, p);
  return { p, sock, name, pid: p.child.pid, stateDir: env.LLMGATE_STATE_DIR };
}

function lstr(s) {
  if (/["\n\r\0]/.test(s)) throw new Error(`not representable in lighttpd.conf: ${s}`);
  return `"${s}"`;
}

async function startLighttpd({ port, ngxPort, trkPort, sockets }) {
  const proxy = (prefix, p) => `  ${lstr(prefix)} => (( "host" => "127.0.0.1", "port" => ${p} )),`;
  const fcgi = (prefix, sock) => `  ${lstr(prefix)} => (( "socket" => ${lstr(sock)}, "check-local" => "disable" )),`;
  const conf = `# generated by tests/bench/bench.js
server.modules = ( "mod_proxy", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = ${port}
server.document-root = ${lstr(WORK)}
server.errorlog = ${lstr(WORK + '/lighttpd-error.log')}
server.pid-file = ${lstr(WORK + '/lighttpd.pid')}
server.max-fds = ${FD_LIMIT}
server.max-connections = ${Math.floor(FD_LIMIT / 2)}
server.listen-backlog = 4096
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 60
# as in conf/lighttpd.conf: pass streams on piece by piece
server.stream-response-body = 2
server.stream-request-body = 0
proxy.server = (
${proxy('/fast/', ngxPort)}
${proxy('/sse/', ngxPort)}
${proxy('/trickle/', trkPort)}
)
fastcgi.server = (
${Object.entries(sockets).map(([prefix, sock]) => fcgi(prefix, sock)).join('\n')}
)
`;
  const confPath = path.join(WORK, 'lighttpd.conf');
  fs.writeFileSync(confPath, conf);
  const p = start('lighttpd', LIGHTTPD, ['-D', '-f', confPath], { env: { PATH: process.env.PATH } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('lighttpd', async () => (await request(`${url}/fast/v1/chat/completions`, { body: '{}', timeoutMs: 1000 })).status === 200, 10000, p);
  return { p, url, port };
}

// Installs @portkey-ai/gateway (with @hono/node-server pinned through npm
// overrides) into a directory under the system's temp dir, once.
function portkeyInstall() {
  const dir = process.env.LLMGATE_BENCH_PORTKEY_DIR || path.join(os.tmpdir(), `llmgate-bench-portkey-${PORTKEY_VERSION}`);
  const entry = path.join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  if (fs.existsSync(entry)) return { entry, dir };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'llmgate-bench-portkey',
    private: true,
    dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION },
    overrides: { '@hono/node-server': HONO_NODE_SERVER },
  }, null, 2));
  log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} with npm into ${dir}`);
  const npm = process.env.NPM || 'npm';
  try {
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
  } catch (e) {
    throw new Error(`npm install failed: ${String(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
  if (!fs.existsSync(entry)) throw new Error('npm install did not produce build/start-server.js');
  return { entry, dir };
}

async function startPortkey(port, ngxUrl) {
  const { entry, dir } = portkeyInstall();
  let version = PORTKEY_VERSION;
  try { version = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/@portkey-ai/gateway/package.json'), 'utf8')).version; } catch { /* keep */ }
  let hono = '?';
  try { hono = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/@hono/node-server/package.json'), 'utf8')).version; } catch { /* keep */ }
  const p = start('portkey', NODE, ['-r', path.join(HERE, 'bind-loopback.cjs'), entry, `--port=${port}`, '--headless'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', HOME: WORK },
    cwd: dir,
  });
  const url = `http://127.0.0.1:${port}`;
  const headers = {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${UPSTREAM_KEY}`,
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${ngxUrl}/fast/v1`,
  };
  await waitFor('portkey', async () => (await request(`${url}/v1/chat/completions`, { headers, body: fx.chatRequest('bench-json'), timeoutMs: 2000 })).status === 200, 30000, p);
  return { p, url, port, version: `${version} (@hono/node-server ${hono})` };
}

// ------------------------------------------------------------------ wrk

function parseDur(v, unit) {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60000 : NaN;
}

function parseWrk(out) {
  const r = { rps: null, p50: null, p75: null, p90: null, p99: null, requests: 0, non2xx: 0, sock: { connect: 0, read: 0, write: 0, timeout: 0 } };
  let m = out.match(/Requests\/sec:\s+([\d.]+)/);
  if (m) r.rps = Number(m[1]);
  m = out.match(/(\d+) requests in/);
  if (m) r.requests = Number(m[1]);
  for (const q of [50, 75, 90, 99]) {
    m = out.match(new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'));
    if (m) r[`p${q}`] = parseDur(m[1], m[2]);
  }
  m = out.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  if (m) r.non2xx = Number(m[1]);
  m = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  if (m) r.sock = { connect: Number(m[1]), read: Number(m[2]), write: Number(m[3]), timeout: Number(m[4]) };
  r.errors = r.non2xx + r.sock.connect + r.sock.read + r.sock.write + r.sock.timeout;
  return r;
}

function runWrk({ url, conns, seconds, bodyFile, key, headers }) {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, BENCH_BODY: bodyFile, BENCH_KEY: key || '', BENCH_HEADERS: Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n') };
    const args = ['-t', '1', '-c', String(conns), '-d', `${seconds}s`, '--timeout', '10s', '--latency', '-s', path.join(HERE, 'wrk-post.lua'), url];
    const child = spawn(WRK, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const p = { name: 'wrk', child, logPath: null };
    p.exited = new Promise((r) => child.once('exit', r));
    procs.add(p);
    recordPids();
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const killer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, (seconds + 30) * 1000);
    child.once('error', (e) => { clearTimeout(killer); procs.delete(p); reject(e); });
    child.once('exit', (code) => {
      clearTimeout(killer);
      procs.delete(p);
      recordPids();
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${err || out}`));
      const r = parseWrk(out);
      if (r.rps === null) return reject(new Error(`cannot read wrk's output:\n${out}`));
      resolve(r);
    });
  });
}

// Sequential streaming requests on one keep-alive connection until untilMs:
// time to first byte (and to the end). Beside wrk, with `pauseMs` between
// requests, it measures TTFB under load; alone, with none, unloaded.
async function ttfbProbe({ url, headers, body, untilMs, pauseMs = 10 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = [];
  const total = [];
  let errors = 0;
  const t0 = nowMs();
  while (nowMs() < untilMs) {
    const s = nowMs();
    const r = await request(url, { headers, body, agent, timeoutMs: 10000 });
    if (r.status === 200 && r.ttfb !== null) {
      out.push(r.ttfb);
      total.push(nowMs() - s);
    } else errors++;
    if (pauseMs) await sleep(pauseMs);
  }
  agent.destroy();
  return { samples: out, total, errors, seconds: (nowMs() - t0) / 1000 };
}

// ------------------------------------------------------------------ trickle client

async function trickleRun({ url, headers, body, streams, events, interval, timeoutMs }) {
  const reqs = new Set();
  const res = [];
  const t0all = nowMs();
  const one = () => new Promise((resolve) => {
    const st = { ok: false, status: 0, t0: nowMs(), ttfb: null, ev: [], error: null, done: false };
    let buf = '';
    let finished = false;
    const end = (error) => {
      if (finished) return;
      finished = true;
      if (error && !st.error) st.error = error;
      st.ok = !st.error && st.status === 200 && st.done && st.ev.length === events;
      reqs.delete(req);
      resolve(st);
    };
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
    }, (r) => {
      st.status = r.statusCode;
      r.setEncoding('utf8');
      r.on('data', (d) => {
        const arr = nowMs();
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = raw.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (!data) continue;
          if (data === '[DONE]') { st.done = true; continue; }
          const m = data.match(/\[s=(\d+) i=(\d+) t=([\d.]+)\]/);
          if (m) {
            if (st.ttfb === null) st.ttfb = arr - st.t0;
            st.ev.push({ i: Number(m[2]), sent: Number(m[3]), arr });
          } else if (st.ttfb === null && /"content"/.test(data)) {
            st.ttfb = arr - st.t0;
          }
        }
      });
      r.on('end', () => end(null));
      r.on('error', (e) => end(e.message));
    });
    reqs.add(req);
    req.on('error', (e) => end(e.message));
    req.end(body);
  });
  const timer = setTimeout(() => { for (const r of reqs) r.destroy(new Error('timeout')); }, timeoutMs);
  const all = [];
  for (let i = 0; i < streams; i++) all.push(one());
  for (const r of await Promise.all(all)) res.push(r);
  clearTimeout(timer);
  const wall = nowMs() - t0all;
  const ttfb = [];
  const delay = [];
  const gaps = [];
  let failed = 0;
  let missing = 0;
  for (const s of res) {
    if (!s.ok) failed++;
    missing += Math.max(0, events - s.ev.length);
    if (s.ttfb !== null) ttfb.push(s.ttfb);
    for (let k = 0; k < s.ev.length; k++) {
      delay.push(s.ev[k].arr - s.ev[k].sent);
      if (k) gaps.push(s.ev[k].arr - s.ev[k - 1].arr);
    }
  }
  const sorted = (a) => a.sort((x, y) => x - y);
  sorted(ttfb); sorted(delay); sorted(gaps);
  const errs = res.filter((s) => s.error || s.status !== 200).map((s) => s.error || `HTTP ${s.status}`);
  return {
    streams, failed, missing, wallMs: wall,
    ttfb: { p50: pct(ttfb, 50), p90: pct(ttfb, 90), p99: pct(ttfb, 99), max: ttfb[ttfb.length - 1] ?? null },
    delay: { p50: pct(delay, 50), p90: pct(delay, 90), p99: pct(delay, 99), max: delay[delay.length - 1] ?? null },
    gap: { p50: pct(gaps, 50), p99: pct(gaps, 99), min: gaps[0] ?? null, max: gaps[gaps.length - 1] ?? null },
    firstError: errs[0] || null,
  };
}

// ------------------------------------------------------------------ callgrind

// Instructions per request: the router under callgrind, collecting only
// inside the per-request functions, for `n` requests through lighttpd.
async function callgrindRun({ kind, n, ctx }) {
  const out = path.join(WORK, `callgrind-${kind}.out`);
  const toggles = ['FCGX_Accept_r', 'FCGX_Finish_r', 'http_req_init', 'gateway_handle', 'http_req_free'];
  const wrapper = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, '--collect-atstart=no',
    ...toggles.map((t) => `--toggle-collect=${t}`)];
  const r = await startRouter({ name: 'cg', threads: 1, cache: false, ngx: ctx.ngx.url, trk: ctx.trk.url, wrapper });
  const url = `${ctx.lt.url}/cg/v1/chat/completions`;
  const body = kind === 'json' ? fx.chatRequest('bench-json') : fx.chatRequest('bench-sse', { stream: true });
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${GATEWAY_KEY}` };
  // lighttpd may have marked the socket down while it did not exist.
  await waitFor('router under callgrind', async () => (await request(url, { headers, body, timeoutMs: 20000 })).status === 200, 30000, r.p);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let bad = 0;
  const t0 = nowMs();
  for (let i = 1; i < n; i++) {
    const x = await request(url, { headers, body, agent, timeoutMs: 20000 });
    if (checkAnswer(kind, x)) bad++;
  }
  agent.destroy();
  const secs = (nowMs() - t0) / 1000;
  await stop(r.p, { timeoutMs: 30000 });
  const text = fs.readFileSync(out, 'utf8');
  const m = text.match(/^(?:summary|totals):\s+(\d+)/m);
  if (!m) throw new Error('no totals in the callgrind output');
  const total = Number(m[1]);
  const annotate = (...args) => sh('callgrind_annotate', [...args, out], { timeout: 60000 }) || '';
  return {
    kind, requests: n, bad, seconds: secs, instructions: total, perRequest: total / n,
    self: annotate('--inclusive=no', '--threshold=99'),
    inclusive: annotate('--inclusive=yes', '--threshold=99'),
    tree: callTree(annotate('--inclusive=yes', '--tree=calling', '--threshold=99'), n),
  };
}

// From callgrind_annotate --tree=calling: for each function of the router
// itself costing >= 1% inclusive, what it calls, per request.
function callTree(text, n) {
  const out = [];
  const short = (fn) => fn.replace(/\s+\[[^\]]*\]$/, '').replace(/^.*\/(common|fcgi)\//, '$1/').replace(/^\?\?\?:/, '').replace(/^\.\/.*\/([^/]+):/, '$1:');
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l));
    const head = lines.find((l) => /\s\*\s/.test(l));
    if (!head || !/llmgate-router\]\s*$/.test(head)) continue;
    const m = head.match(/^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+\*\s+(.*)$/);
    if (!m || Number(m[2]) < 1) continue;
    const per = (x) => Math.round(Number(x.replace(/,/g, '')) / n).toLocaleString('en-US').padStart(9);
    const rows = [`${per(m[1])}  ${m[2].padStart(6)}%  ${short(m[3])}`];
    for (const l of lines) {
      const c = l.match(/^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+>\s+(.*?)(?:\s+\((\d[\d,]*)x\))?(?:\s+\[[^\]]*\])?\s*$/);
      if (!c || Number(c[2]) < 0.3) continue;
      rows.push(`${per(c[1])}  ${c[2].padStart(6)}%      > ${short(c[3])}${c[4] ? ` (${(Number(c[4].replace(/,/g, '')) / n).toFixed(1)}x)` : ''}`);
      if (rows.length > 14) break;
    }
    out.push({ ir: Number(m[1].replace(/,/g, '')), text: rows.join('\n') });
  }
  out.sort((a, b) => b.ir - a.ir);
  return out.slice(0, 14).map((b) => b.text).join('\n\n');
}

function topFunctions(annot, k) {
  const rows = [];
  for (const line of annot.split('\n')) {
    const m = line.match(/^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$/);
    if (!m) continue;
    if (/PROGRAM TOTALS/.test(m[3])) continue;
    rows.push({ ir: Number(m[1].replace(/,/g, '')), pct: Number(m[2]), fn: m[3].trim().replace(/\s+\[[^\]]*\]$/, '') });
    if (rows.length >= k) break;
  }
  return rows;
}

// ------------------------------------------------------------------ formatting

const f0 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
const fs2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : (x >= 0 ? '+' : '') + x.toFixed(2));
const fr = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
const mb = (kb) => (kb === null || kb === undefined ? '-' : `${(kb / 1024).toFixed(1)} MB`);
const kib = (b) => (b === null || b === undefined ? '-' : `${(b / 1024).toFixed(0)} KB`);

function table(headers, rows, align) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (align[i] === 'l' ? String(c ?? '').padEnd(w[i]) : String(c ?? '').padStart(w[i]))).join('  ').trimEnd();
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------ main

async function main() {
  if (!fs.existsSync(ROUTER)) throw new Error(`no router binary at ${ROUTER} (build it, or set LLMGATE_BUILDDIR)`);
  const started = new Date();
  const out = [];
  const say = (s = '') => { out.push(s); };

  // The machine.
  const cpuModel = (os.cpus()[0] || {}).model || '?';
  const lscpu = sh('lscpu', []) || '';
  const hyper = (lscpu.match(/Hypervisor vendor:\s+(.*)/) || [])[1];
  let cflags = null;
  try {
    const mk = fs.readFileSync(path.join(BUILD_DIR, 'Makefile'), 'utf8');
    cflags = ((mk.match(/^CFLAGS = (.*)$/m) || [])[1] || '').trim();
    const san = ((mk.match(/^SAN_CFLAGS = (.*)$/m) || [])[1] || '').trim();
    if (san) cflags += ` ${san}`;
  } catch { /* not an autotools build dir */ }
  const commit = sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = commit ? (sh('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no']) ? '+changes' : '') : '';
  const machine = {
    date: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    cpu: cpuModel + (hyper ? ` (${hyper} guest)` : ''),
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: (() => { try { return (fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m) || [])[1]; } catch { return null; } })(),
    lighttpd: (shBoth(LIGHTTPD, ['-v']) || '?').split('\n')[0].replace(/ - a light.*$/, ''),
    nginx: (shBoth(NGINX, ['-v']) || '?').split('\n')[0].replace(/^nginx version: /, ''),
    wrk: (shBoth(WRK, ['-v']) || '?').split('\n')[0].replace(/ Copyright.*$/, '').replace(/^wrk /, ''),
    node: process.version,
    router: sh(ROUTER, ['--version']) || '?',
    build: `${BUILD_DIR}${cflags !== null ? ` (CFLAGS ${cflags || 'default'})` : ''}`,
    commit: commit ? commit + dirty : null,
  };
  if (cflags && /-O0|fsanitize/.test(cflags)) log(`warning: ${BUILD_DIR} is not an optimised build (${cflags})`);

  const loadBefore = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  // Bodies.
  const files = {};
  const bodies = {
    json: fx.chatRequest('bench-json'),
    sse: fx.chatRequest('bench-sse', { stream: true }),
    sseCached: fx.chatRequest('bench-json', { stream: true }),
    trickle: fx.chatRequest('bench-trickle', { stream: true }),
  };
  for (const [k, v] of Object.entries(bodies)) {
    files[k] = path.join(WORK, `body-${k}.json`);
    fs.writeFileSync(files[k], v);
  }

  // Servers.
  log(`work dir ${WORK}`);
  const ngx = await startNginx(await freePort());
  const ngxWorkers = childPids(ngx.p.child.pid);
  const trk = await startTrickler();
  const cdStreams = OPT.threadsCd ? 'threads' : 'events';   // the default is events
  const rc = await startRouter({ name: 'c', threads: OPT.threads, cache: false, ngx: ngx.url, trk: trk.url, streams: cdStreams });
  const rd = await startRouter({ name: 'd', threads: OPT.threads, cache: true, ngx: ngx.url, trk: trk.url, streams: cdStreams });
  const rw = await startRouter({ name: 'w', threads: OPT.wideThreads, cache: false, ngx: ngx.url, trk: trk.url });
  const rv = await startRouter({ name: 'v', threads: OPT.threads, cache: false, ngx: ngx.url, trk: trk.url, streams: 'events' });
  watched.set('router-c', rc.pid);
  watched.set('router-d', rd.pid);
  watched.set('router-w', rw.pid);
  watched.set('router-v', rv.pid);
  await sleep(300);
  const idle = { c: snapshot('router-c'), d: snapshot('router-d'), w: snapshot('router-w'), v: snapshot('router-v') };
  const lt = await startLighttpd({
    port: await freePort(), ngxPort: ngx.port, trkPort: trk.port,
    sockets: { '/v1/': rc.sock, '/cache/': rd.sock, '/wide/': rw.sock, '/events/': rv.sock, '/cg/': path.join(WORK, 'cg.sock') },
  });
  watched.set('lighttpd', lt.p.child.pid);
  let pk = null;
  let pkWhy = 'not run (--no-portkey)';
  if (OPT.portkey) {
    try {
      pk = await startPortkey(await freePort(), ngx.url);
      watched.set('portkey', pk.p.child.pid);
      machine.portkey = pk.version;
    } catch (e) {
      pkWhy = `unavailable: ${e.message.split('\n')[0]}`;
      log(`Portkey ${pkWhy}`);
      machine.portkey = 'n/a';
    }
  }
  const ctx = { ngx, trk, lt };

  // Paths and how each one is reached.
  const auth = { Authorization: `Bearer ${GATEWAY_KEY}` };
  const pkHeaders = (custom) => ({ Authorization: `Bearer ${UPSTREAM_KEY}`, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': custom });
  const P = {
    a: { id: 'a', label: 'a mock direct', cpuPids: () => ngxWorkers },
    b: { id: 'b', label: 'b lighttpd proxy', cpuPids: () => [lt.p.child.pid] },
    c: { id: 'c', label: `c llmgate (${OPT.threads} thr${OPT.threadsCd ? ', streams = threads' : ''})`, cpuPids: () => [lt.p.child.pid, rc.pid] },
    d: { id: 'd', label: 'd llmgate cache hit', cpuPids: () => [lt.p.child.pid, rd.pid] },
    w: { id: 'w', label: `w llmgate (${OPT.wideThreads} thr)`, cpuPids: () => [lt.p.child.pid, rw.pid] },
    v: { id: 'v', label: `v llmgate (events, ${OPT.threads} thr${OPT.pinCpu !== undefined ? `, CPU ${OPT.pinCpu} only` : ''})`, cpuPids: () => [lt.p.child.pid, rv.pid] },
    e: { id: 'e', label: 'e portkey', cpuPids: () => (pk ? [pk.p.child.pid] : []) },
  };
  const target = (pathId, kind) => {
    const up = kind === 'json' ? '/fast/v1' : kind === 'sse' ? '/sse/v1' : '/trickle/v1';
    const upBase = kind === 'trickle' ? trk.url : ngx.url;
    const body = kind === 'json' ? 'json' : kind === 'sse' ? 'sse' : 'trickle';
    switch (pathId) {
      case 'a': return { url: `${upBase}${up}/chat/completions`, headers: auth, body };
      case 'b': return { url: `${lt.url}${up}/chat/completions`, headers: auth, body };
      case 'c': return { url: `${lt.url}/v1/chat/completions`, headers: auth, body };
      case 'd': return { url: `${lt.url}/cache/v1/chat/completions`, headers: auth, body: kind === 'sse' ? 'sseCached' : body };
      case 'w': return { url: `${lt.url}/wide/v1/chat/completions`, headers: auth, body };
      case 'v': return { url: `${lt.url}/events/v1/chat/completions`, headers: auth, body };
      case 'e': return { url: `${pk?.url}/v1/chat/completions`, headers: pkHeaders(`${upBase}${up}`), body };
      default: throw new Error(pathId);
    }
  };

  // Check every path once per kind; a path that does not answer right is n/a.
  const na = {}; // `${path}|${kind}` -> why
  for (const kind of ['json', 'sse']) {
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      if (id === 'e' && !pk) { na[`e|${kind}`] = pkWhy; continue; }
      const t = target(id, kind);
      const h = { 'Content-Type': 'application/json', ...t.headers };
      if (id === 'd') {
        // Fill the cache with the non-streaming answer, then expect hits.
        await request(t.url, { headers: h, body: bodies.json });
        const r = await request(t.url, { headers: h, body: bodies[t.body] });
        const bad = checkAnswer(kind, r);
        if (bad) { na[`d|${kind}`] = bad; continue; }
        if (String(r.headers['x-llmgate-cache'] || '') !== 'hit') {
          na[`d|${kind}`] = r.headers['x-llmgate-cache'] ? `X-Llmgate-Cache: ${r.headers['x-llmgate-cache']}, not hit` : 'no response cache in this router (no X-Llmgate-Cache header)';
        }
        continue;
      }
      const r = await request(t.url, { headers: h, body: bodies[t.body] });
      const bad = checkAnswer(kind, r);
      if (bad) na[`${id}|${kind}`] = bad;
    }
  }
  for (const [k, why] of Object.entries(na)) log(`path ${k}: n/a (${why})`);

  // Warm-up: every usable path, non-streaming, 16 connections, 1 s.
  const win0 = { m: machineTicks(), ours: ourTicks(), t: nowMs() };
  phase = 'warmup';
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    if (na[`${id}|json`]) continue;
    const t = target(id, 'json');
    try { await runWrk({ url: t.url, conns: 16, seconds: 1, bodyFile: files[t.body], headers: t.headers }); } catch (e) { log(`warm-up ${id}: ${e.message}`); }
  }

  // Workloads.
  const workloads = [
    ...OPT.nonstream.map((c) => ({ id: `chat@${c}`, kind: 'json', conns: c, label: `chat c=${c}` })),
    ...OPT.stream.map((c) => ({ id: `stream@${c}`, kind: 'sse', conns: c, label: `stream c=${c}` })),
  ];
  const raw = {}; // `${wl}|${path}` -> [runs]
  const nRuns = workloads.length * OPT.reps;
  let runNo = 0;
  for (const wl of workloads) {
    for (let rep = 0; rep < OPT.reps; rep++) {
      runNo++;
      log(`${wl.label}: round ${rep + 1}/${OPT.reps} (${runNo}/${nRuns})`);
      for (const id of ['a', 'b', 'c', 'd', 'e']) {
        if (na[`${id}|${wl.kind}`]) continue;
        const t = target(id, wl.kind);
        phase = `${wl.id}|${id}`;
        const pids = P[id].cpuPids();
        const cpu0 = cpuTicks(pids);
        const t0 = nowMs();
        const wrkP = runWrk({ url: t.url, conns: wl.conns, seconds: OPT.duration, bodyFile: files[t.body], headers: t.headers });
        let probe = null;
        if (wl.kind === 'sse') {
          await sleep(Math.min(500, OPT.duration * 200));
          probe = ttfbProbe({ url: t.url, headers: { 'Content-Type': 'application/json', ...t.headers }, body: bodies[t.body], untilMs: t0 + OPT.duration * 1000 - Math.min(500, OPT.duration * 200) });
        }
        let r;
        try {
          r = await wrkP;
        } catch (e) {
          r = { rps: null, errors: null, failed: e.message };
          log(`${wl.label} ${id}: ${e.message}`);
        }
        const pr = probe ? await probe : null;
        const cpu1 = cpuTicks(pids);
        const served = (r.requests || 0) + (pr ? pr.samples.length : 0);
        r.cpuUsPerReq = served ? ((cpu1 - cpu0) * (1e6 / CLK_TCK)) / served : null;
        r.wallMs = nowMs() - t0;
        if (pr) {
          const s = pr.samples.sort((x, y) => x - y);
          r.ttfb = { p50: pct(s, 50), p99: pct(s, 99), n: s.length, errors: pr.errors };
          r.errors = (r.errors || 0) + pr.errors;
        }
        (raw[`${wl.id}|${id}`] ||= []).push(r);
        phase = 'between';
        await sleep(200);
      }
    }
  }

  // Streaming, one request at a time and nothing else running: unloaded TTFB.
  const probeSecs = OPT.quick ? 0.5 : 1;
  const alone = {};
  for (let rep = 0; rep < (OPT.only.has('stream') ? OPT.reps : 0); rep++) {
    log(`stream c=1 (probe alone): round ${rep + 1}/${OPT.reps}`);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      if (na[`${id}|sse`]) continue;
      const t = target(id, 'sse');
      phase = `stream@1|${id}`;
      const pids = P[id].cpuPids();
      const cpu0 = cpuTicks(pids);
      const pr = await ttfbProbe({ url: t.url, headers: { 'Content-Type': 'application/json', ...t.headers }, body: bodies[t.body], untilMs: nowMs() + probeSecs * 1000, pauseMs: 0 });
      const n = pr.samples.length;
      const tt = pr.total.sort((x, y) => x - y);
      const sm = pr.samples.sort((x, y) => x - y);
      (alone[id] ||= []).push({
        rps: n / pr.seconds, requests: n, p50: pct(tt, 50), p90: pct(tt, 90), p99: pct(tt, 99),
        ttfb: { p50: pct(sm, 50), p99: pct(sm, 99), n, errors: pr.errors }, errors: pr.errors,
        cpuUsPerReq: n ? ((cpuTicks(pids) - cpu0) * (1e6 / CLK_TCK)) / n : null,
      });
      phase = 'between';
    }
  }

  // 256 concurrent trickling streams: every path per round, the rounds
  // merged by median; the 16-thread router (c) only in the first round,
  // since it takes streams/threads times as long.
  const tr = {};
  const tk = OPT.trickle;
  const trickleTimeout = Math.max(60000, 4 * tk.events * tk.interval * Math.ceil(tk.streams / Math.max(1, OPT.threads)));
  const trRuns = {};
  const trIds = OPT.only.has('trickle') ? OPT.trickleIds : [];
  for (const id of trIds) {
    if (id === 'e' && !pk) { tr[id] = { na: pkWhy }; continue; }
    const t = target(id, 'trickle');
    const chk = await request(t.url, { headers: { 'Content-Type': 'application/json', ...t.headers }, body: bodies.trickle, timeoutMs: 30000 });
    if (chk.status !== 200 || !/\[DONE\]/.test(chk.body)) tr[id] = { na: `check failed: HTTP ${chk.status} ${chk.error || chk.body.slice(0, 100)}` };
  }
  for (let rep = 0; rep < OPT.reps; rep++) {
    for (const id of trIds) {
      if (tr[id]?.na || (id === 'c' && rep > 0)) continue;
      const t = target(id, 'trickle');
      const h = { 'Content-Type': 'application/json', ...t.headers };
      await request(`${trk.url}/_reset${OPT.hold ? `?hold=${tk.streams}` : ''}`, { body: '' });
      log(`trickle: ${tk.streams} streams x ${tk.events} events @ ${tk.interval} ms via ${id}, round ${rep + 1}/${id === 'c' ? 1 : OPT.reps}`);
      phase = `trickle|${id}`;
      const cpuPids = id === 'a' ? [trk.p.child.pid] : P[id].cpuPids();
      const cpu0 = cpuTicks(cpuPids);
      const rpid = id === 'c' ? rc.pid : id === 'w' ? rw.pid : id === 'v' ? rv.pid : null;
      let kinds = null;
      let mem = null;
      const kt = rpid ? setTimeout(() => { kinds = fdKinds(rpid); mem = memKinds(rpid); }, Math.round(tk.events * tk.interval / 2)) : null;
      const r = await trickleRun({ url: t.url, headers: h, body: bodies.trickle, streams: tk.streams, events: tk.events, interval: tk.interval, timeoutMs: trickleTimeout });
      if (kt) clearTimeout(kt);
      if (kinds) r.routerFds = kinds;
      if (mem) r.routerMem = mem;
      r.cpuUsPerReq = ((cpuTicks(cpuPids) - cpu0) * (1e6 / CLK_TCK)) / tk.streams;
      const st = await request(`${trk.url}/_stats`, { method: 'GET' });
      try { r.upstream = JSON.parse(st.body); } catch { r.upstream = null; }
      (trRuns[id] ||= []).push(r);
      phase = 'between';
      await sleep(300);
    }
  }
  const maxOf = (xs) => xs.reduce((m, x) => (x !== null && x !== undefined && x > m ? x : m), -Infinity);
  for (const [id, runs] of Object.entries(trRuns)) {
    const med = (f) => median(runs.map(f));
    tr[id] = {
      streams: runs.reduce((x, r) => x + r.streams, 0),
      failed: runs.reduce((x, r) => x + r.failed, 0),
      missing: runs.reduce((x, r) => x + r.missing, 0),
      rounds: runs.length,
      wallMs: med((r) => r.wallMs),
      ttfb: { p50: med((r) => r.ttfb.p50), p90: med((r) => r.ttfb.p90), p99: med((r) => r.ttfb.p99), max: maxOf(runs.map((r) => r.ttfb.max)) },
      delay: { p50: med((r) => r.delay.p50), p90: med((r) => r.delay.p90), p99: med((r) => r.delay.p99), max: maxOf(runs.map((r) => r.delay.max)) },
      gap: { p50: med((r) => r.gap.p50), p99: med((r) => r.gap.p99), min: Math.min(...runs.map((r) => r.gap.min ?? Infinity)), max: maxOf(runs.map((r) => r.gap.max)) },
      cpuUsPerReq: med((r) => r.cpuUsPerReq),
      upstream: runs[0].upstream ? { ...runs[0].upstream, maxOpen: Math.min(...runs.map((r) => r.upstream?.maxOpen ?? Infinity)) } : null,
      routerFds: runs.find((r) => r.routerFds)?.routerFds || null,
      routerMem: [...runs].reverse().find((r) => r.routerMem)?.routerMem || null,   // the last round: memory grows over rounds
      firstError: runs.find((r) => r.firstError)?.firstError || null,
      runs: runs.map((r) => ({ ttfb: r.ttfb, delay: r.delay, gap: r.gap, failed: r.failed, missing: r.missing, wallMs: r.wallMs, maxOpen: r.upstream?.maxOpen ?? null })),
    };
  }

  const win1 = { m: machineTicks(), ours: ourTicks(), t: nowMs() };
  const dTotal = Math.max(1, win1.m.total - win0.m.total);
  const load = {
    seconds: (win1.t - win0.t) / 1000,
    other_pct: Math.max(0, ((win1.m.busy - win0.m.busy) - (win1.ours - win0.ours)) / dTotal * 100),
    steal_pct: ((win1.m.steal - win0.m.steal) / dTotal) * 100,
    loadavg_before: loadBefore,
  };
  if (load.other_pct > 5) log(`other processes took ${load.other_pct.toFixed(0)}% of the CPU during the runs: the figures are disturbed`);

  // Router resources after the load.
  phase = 'after';
  await sleep(2000);
  const after = { c: snapshot('router-c'), d: snapshot('router-d'), w: snapshot('router-w'), v: snapshot('router-v') };
  const peak = (key, filter) => {
    let best = { rssKb: 0, anonKb: 0, threads: 0, fds: 0 };
    for (const [k, v] of peaks) {
      const [pk0, ...rest] = k.split('|');
      const ph = rest.join('|');
      if (pk0 !== key || ph === '*' || !filter(ph)) continue;
      best = { rssKb: Math.max(best.rssKb, v.rssKb), anonKb: Math.max(best.anonKb, v.anonKb), threads: Math.max(best.threads, v.threads), fds: Math.max(best.fds, v.fds) };
    }
    return best;
  };
  const resources = {
    c: { idle: idle.c, peak: peak('router-c', () => true), after: after.c },
    d: { idle: idle.d, peak: peak('router-d', () => true), after: after.d },
    // w serves only the trickle: its VmHWM is the trickle's true peak.
    w: { idle: idle.w, peak: (() => { const p = peak('router-w', (ph) => ph === 'trickle|w'); return { ...p, rssKb: Math.max(p.rssKb, after.w?.hwmKb || 0) }; })(), after: after.w },
    v: { idle: idle.v, peak: (() => { const p = peak('router-v', (ph) => ph === 'trickle|v'); return { ...p, rssKb: Math.max(p.rssKb, after.v?.hwmKb || 0) }; })(), after: after.v },
    lighttpd: { peak: peak('lighttpd', () => true) },
    portkey: pk ? { peak: peak('portkey', () => true), after: snapshot('portkey') } : null,
  };
  // Usage records the router wrote.
  const spoolStat = (dir) => {
    let files0 = 0; let bytes = 0; let lines = 0;
    const walk = (d) => {
      let ents = [];
      try { ents = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
      for (const e of ents) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && /spool/.test(p)) {
          files0++;
          const b = fs.readFileSync(p);
          bytes += b.length;
          for (const ch of b) if (ch === 10) lines++;
        }
      }
    };
    walk(dir);
    return { files: files0, bytes, records: lines };
  };
  resources.c.spool = spoolStat(rc.stateDir);

  // Binary sizes.
  const binaries = {};
  for (const [name, bin] of [['llmgate-router', ROUTER], ['llmgate-keys', KEYS]]) {
    if (!fs.existsSync(bin)) continue;
    const copy = path.join(WORK, `${name}.stripped`);
    try {
      execFileSync('strip', ['-o', copy, bin]);
      binaries[name] = { bytes: fs.statSync(bin).size, stripped: fs.statSync(copy).size };
    } catch (e) {
      binaries[name] = { bytes: fs.statSync(bin).size, stripped: null };
    }
  }
  const libs = sh('ldd', [ROUTER]);
  if (libs) binaries.sharedLibs = libs.split('\n').filter((l) => /=>|ld-linux/.test(l)).length;

  // The floor under the router's idle RSS: a program that loads the same
  // shared libraries and does nothing else.
  const floor = await libFloor();

  // Stop the load servers before profiling, so valgrind has the CPU.
  if (pk) await stop(pk.p);
  watched.delete('portkey');

  let cg = null;
  if (OPT.callgrind) {
    if (!sh('valgrind', ['--version'])) {
      cg = { na: 'valgrind not installed' };
    } else {
      try {
        log(`callgrind: ${OPT.cgJson} non-streaming requests`);
        const j = await callgrindRun({ kind: 'json', n: OPT.cgJson, ctx });
        log(`callgrind: ${OPT.cgSse} streaming requests`);
        const s = await callgrindRun({ kind: 'sse', n: OPT.cgSse, ctx });
        cg = { json: j, sse: s };
      } catch (e) {
        cg = { na: e.message.split('\n')[0] };
        log(`callgrind: ${e.message}`);
      }
    }
  } else {
    cg = { na: 'not run (--no-callgrind)' };
  }

  // ---------------------------------------------------------------- results
  const rows = [];
  for (const wl of workloads) {
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const key = `${wl.id}|${id}`;
      if (na[`${id}|${wl.kind}`]) {
        rows.push({ workload: wl.id, label: wl.label, path: id, pathLabel: P[id].label, na: na[`${id}|${wl.kind}`] });
        continue;
      }
      const runs = raw[key] || [];
      rows.push({
        workload: wl.id, label: wl.label, path: id, pathLabel: P[id].label,
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)), p90: median(runs.map((r) => r.p90)), p99: median(runs.map((r) => r.p99)),
        ttfb_p50: wl.kind === 'sse' ? median(runs.map((r) => r.ttfb?.p50)) : null,
        ttfb_p99: wl.kind === 'sse' ? median(runs.map((r) => r.ttfb?.p99)) : null,
        errors: runs.reduce((s, r) => s + (r.errors ?? 0), 0),
        cpu_us_per_req: median(runs.map((r) => r.cpuUsPerReq)),
        requests: runs.reduce((s, r) => s + (r.requests || 0), 0),
        reps: runs,
      });
    }
  }
  for (const id of OPT.only.has('stream') ? ['a', 'b', 'c', 'd', 'e'] : []) {
    const label = 'stream c=1 (probe)';
    if (na[`${id}|sse`]) {
      rows.push({ workload: 'stream@1', label, path: id, pathLabel: P[id].label, na: na[`${id}|sse`] });
      continue;
    }
    const runs = alone[id] || [];
    rows.push({
      workload: 'stream@1', label, path: id, pathLabel: P[id].label,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)), p90: median(runs.map((r) => r.p90)), p99: median(runs.map((r) => r.p99)),
      ttfb_p50: median(runs.map((r) => r.ttfb.p50)), ttfb_p99: median(runs.map((r) => r.ttfb.p99)),
      errors: runs.reduce((x, r) => x + r.errors, 0),
      cpu_us_per_req: median(runs.map((r) => r.cpuUsPerReq)),
      requests: runs.reduce((x, r) => x + r.requests, 0),
      reps: runs,
    });
  }
  const trLabel = `trickle ${tk.streams}x${tk.events}@${tk.interval}ms`;
  for (const id of OPT.only.has('trickle') ? OPT.trickleIds : []) {
    const r = tr[id];
    if (!r || r.na) {
      rows.push({ workload: 'trickle', label: trLabel, path: id, pathLabel: P[id].label, na: r ? r.na : 'not run' });
      continue;
    }
    rows.push({
      workload: 'trickle', label: trLabel, path: id, pathLabel: P[id].label,
      rps: null, p50: r.delay.p50, p90: r.delay.p90, p99: r.delay.p99,
      ttfb_p50: r.ttfb.p50, ttfb_p99: r.ttfb.p99,
      errors: r.failed + r.missing, cpu_us_per_req: r.cpuUsPerReq,
      trickle: r,
    });
  }
  // stream c=1 before the other streaming rows.
  {
    const order = [...OPT.nonstream.map((c) => `chat@${c}`), 'stream@1', ...OPT.stream.map((c) => `stream@${c}`), 'trickle'];
    const pos = (r) => order.indexOf(r.workload) * 10 + ['a', 'b', 'c', 'd', 'w', 'v', 'e'].indexOf(r.path);
    rows.sort((x, y) => pos(x) - pos(y));
  }
  const find = (wl, id) => rows.find((r) => r.workload === wl && r.path === id && !r.na);
  for (const r of rows) {
    if (r.na || !['c', 'd', 'e', 'w', 'v'].includes(r.path)) continue;
    const b = find(r.workload, 'b');
    if (!b) continue;
    r.vs_b = {
      throughput: r.rps && b.rps ? r.rps / b.rps : null,
      p50: r.p50 !== null && b.p50 !== null ? r.p50 - b.p50 : null,
      p99: r.p99 !== null && b.p99 !== null ? r.p99 - b.p99 : null,
      ttfb_p50: r.ttfb_p50 !== null && b.ttfb_p50 !== null ? r.ttfb_p50 - b.ttfb_p50 : null,
    };
  }

  // Previous results.
  let prev = null;
  const prevPath = path.join(OPT.out, 'previous.json');
  try { prev = JSON.parse(fs.readFileSync(prevPath, 'utf8')); } catch { prev = null; }
  const prevRow = (r) => prev?.rows?.find((x) => x.workload === r.workload && x.path === r.path && !x.na) || null;

  // Targets.
  const targets = [];
  const tgt = (name, value, fmt, limit, ok, note) => targets.push({ name, value, shown: value === null || value === undefined ? 'n/a' : fmt(value), limit, met: value === null || value === undefined ? null : ok(value), note: note || null });
  const c64 = find('chat@64', 'c');
  tgt('chat c=64: llmgate throughput / lighttpd proxy', c64?.vs_b?.throughput ?? null, (v) => v.toFixed(2), '>= 0.70', (v) => v >= 0.70);
  tgt('chat c=64: added p99 latency vs lighttpd proxy', c64?.vs_b?.p99 ?? null, (v) => `${v.toFixed(2)} ms`, '< 1 ms', (v) => v < 1);
  const s1 = find('stream@1', 'c');
  tgt('stream, one at a time: added TTFB p50 vs lighttpd proxy', s1?.vs_b?.ttfb_p50 ?? null, (v) => `${v.toFixed(2)} ms`, '<= 1 ms', (v) => v <= 1);
  const s16 = find('stream@16', 'c');
  tgt('stream c=16: added TTFB p50 vs lighttpd proxy', s16?.vs_b?.ttfb_p50 ?? null, (v) => `${v.toFixed(2)} ms`, '<= 1 ms', (v) => v <= 1);
  const trw = find('trickle', 'w');
  tgt(`trickle: added TTFB p50 vs lighttpd proxy (${OPT.wideThreads} thr)`, trw?.vs_b?.ttfb_p50 ?? null, (v) => `${v.toFixed(2)} ms`, '<= 1 ms', (v) => v <= 1);
  const held = trw?.trickle?.upstream?.maxOpen ?? null;
  tgt(`${tk.streams} concurrent streams: router RSS peak (${OPT.wideThreads} thr)`, trw ? resources.w.peak.rssKb : null, mb, '< 32 MB', (v) => v < 32 * 1024,
    [held !== null ? `${held} streams open at once upstream` : null, trw ? `RssAnon ${mb(resources.w.peak.anonKb)}` : null].filter(Boolean).join(', ') || null);
  const trv = find('trickle', 'v');
  tgt(`${tk.streams} concurrent streams: router RSS peak (events, ${OPT.threads} thr)`, trv ? resources.v.peak.rssKb : null, mb, '< 64 MB', (v) => v < 64 * 1024,
    trv ? `per-event delay p99 ${f2(trv.p99)} ms, ${resources.v.peak.threads} threads, RssAnon ${mb(resources.v.peak.anonKb)}` : null);
  tgt(`idle router RSS (${OPT.threads} thr)`, resources.c.idle?.rssKb ?? null, mb, '< 8 MB', (v) => v < 8 * 1024,
    resources.c.idle ? [`RssAnon ${mb(resources.c.idle.anonKb)}`,
      floor ? `the libraries alone: ${mb(floor.rssKb)}, the router above them: ${mb(resources.c.idle.rssKb - floor.rssKb)}` : null].filter(Boolean).join('; ') : null);
  tgt('stripped llmgate-router', binaries['llmgate-router']?.stripped ?? null, kib, '< 300 KB', (v) => v < 300 * 1024);

  // ---------------------------------------------------------------- print
  say(`llmgate benchmark  ${machine.date}${OPT.quick ? '  (--quick)' : ''}`);
  say(`machine  ${machine.nproc} CPUs, ${machine.cpu}, ${machine.memGiB} GiB, Linux ${machine.kernel}${machine.os ? `, ${machine.os}` : ''}`);
  say(`software ${machine.lighttpd}, nginx ${machine.nginx}, wrk ${machine.wrk}, node ${machine.node}${machine.portkey ? `, portkey ${machine.portkey}` : ''}`);
  say(`router   ${machine.router}${machine.commit ? ` @ ${machine.commit}` : ''}, ${machine.build}`);
  say(`runs     ${OPT.duration} s per wrk run (1 thread), ${OPT.reps} round(s) of a..e back to back, median shown; router threads ${OPT.threads}`);
  say(`load     other processes took ${load.other_pct.toFixed(1)}% of the CPU while the runs went (steal ${load.steal_pct.toFixed(1)}%; load average before: ${load.loadavg_before})${load.other_pct > 5 ? ': figures disturbed' : ''}`);
  if (prev?.machine) say(`previous ${prev.machine.date}, ${prev.machine.nproc} CPUs ${prev.machine.cpu}${prev.machine.commit ? ` @ ${prev.machine.commit}` : ''}`);
  say('');
  const head = ['workload', 'path', 'req/s', 'p50', 'p90', 'p99', 'ttfb50', 'ttfb99', 'err', 'cpu/req', 'x b', '+p50', '+p99'];
  const align = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  if (prev) { head.push('prev req/s', 'prev p99'); align.push('r', 'r'); }
  const trows = [];
  const naNotes = [];
  let lastWl = null;
  for (const r of rows) {
    const wlCell = r.workload === lastWl ? '' : r.label;
    lastWl = r.workload;
    if (r.na) {
      let n = naNotes.indexOf(`${r.pathLabel}: ${r.na}`);
      if (n < 0) n = naNotes.push(`${r.pathLabel}: ${r.na}`) - 1;
      trows.push([wlCell, r.pathLabel, `n/a[${n + 1}]`]);
      continue;
    }
    const p = prevRow(r);
    const cells = [wlCell, r.pathLabel, r.rps === null ? '-' : f0(r.rps), f2(r.p50), f2(r.p90), f2(r.p99), f2(r.ttfb_p50), f2(r.ttfb_p99),
      String(r.errors ?? '-'), r.cpu_us_per_req === null ? '-' : f0(r.cpu_us_per_req),
      r.vs_b ? fr(r.vs_b.throughput) : '', r.vs_b ? fs2(r.vs_b.p50) : '', r.vs_b ? fs2(r.vs_b.p99) : ''];
    if (prev) cells.push(p && p.rps !== null ? f0(p.rps) : '', p ? f2(p.p99) : '');
    trows.push(cells);
  }
  say(table(head, trows, align));
  naNotes.forEach((n, i) => say(`[${i + 1}] ${n}`));
  say('');
  say('Times in ms. req/s, p50/p90/p99: wrk (whole response). ttfb50/99: time to the first event, from a probe');
  say('streaming one request at a time beside wrk; "stream c=1 (probe)" is that probe alone, back to back, with');
  say('nothing else running. err: non-2xx + socket errors (+ failed probes). cpu/req:');
  say('CPU us per request of the tier under test (a: the mock; b: lighttpd; c, d, w: lighttpd + router; e: portkey).');
  say('x b, +p50, +p99: throughput ratio and added latency against b, the lighttpd mod_proxy floor.');
  say(`trickle rows: ${tk.streams} streams opened at once, ${tk.events} events ${tk.interval} ms apart each (c: one round)${OPT.hold ? `, each held after its first event until all ${tk.streams} were open (--hold)` : ''}; p50/p90/p99 are`);
  say('per-event delivery delay (arrival - upstream send time), ttfb is time to the first event, err is failed');
  say('streams + missing events.');
  say('');
  const tRows = [];
  for (const id of ['a', 'b', 'c', 'w', 'v', 'e']) {
    const r = tr[id];
    if (!r || r.na) continue;
    tRows.push([P[id].label, `${r.streams - r.failed}/${r.streams}`, r.upstream ? String(r.upstream.maxOpen) : '-',
      f2(r.ttfb.max), f2(r.delay.max), `${f2(r.gap.p50)} / ${f2(r.gap.p99)}`, `${(r.wallMs / 1000).toFixed(1)} s`, r.firstError ? r.firstError.slice(0, 40) : '']);
  }
  if (tRows.length) {
    say(table(['trickle path', 'ok (all rounds)', 'open at once', 'ttfb max', 'delay max', 'gap p50 / p99', 'wall', 'first error'], tRows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
    say('');
  }
  const res = (label, r, extra = '') => {
    if (!r) return;
    const parts = [];
    if (r.idle) parts.push(`idle ${mb(r.idle.rssKb)} [${mb(r.idle.anonKb)}] ${r.idle.threads} thr ${r.idle.fds} fds`);
    if (r.peak && r.peak.rssKb) parts.push(`peak ${mb(r.peak.rssKb)} [${mb(r.peak.anonKb)}] ${r.peak.threads} thr ${r.peak.fds} fds`);
    if (r.after) parts.push(`after ${mb(r.after.rssKb)} [${mb(r.after.anonKb)}] VmHWM ${mb(r.after.hwmKb)}`);
    say(`${label.padEnd(22)} ${parts.join('; ')}${extra}`);
  };
  say('memory: VmRSS [RssAnon, the private part; the rest is mostly pages of shared libraries]');
  res(`router c (${OPT.threads} thr)`, resources.c);
  res('router d (cache)', resources.d);
  const wk = tr.w?.routerFds;
  res(`router w (${OPT.wideThreads} thr)`, resources.w, ` (peak: during the trickle${wk ? `; fds mid-trickle: ${Object.entries(wk).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''})`);
  const mk = (m) => m ? `thread stacks ${mb(m.stacks)} (${m.stacksN}), heap ${mb(m.heap)}, program ${mb(m.program)}, shared libraries ${mb(m.libs)} + ${mb(m.libsPrivate)} private` : null;
  if (resources.c?.idle?.mem) say(`  router c idle RSS by kind: ${mk(resources.c.idle.mem)}`);
  if (tr.w?.routerMem) say(`  router w mid-trickle RSS by kind: ${mk(tr.w.routerMem)}`);
  const vk = tr.v?.routerFds;
  res(`router v (events)`, resources.v, ` (peak: during the trickle${vk ? `; fds mid-trickle: ${Object.entries(vk).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''})`);
  if (tr.v?.routerMem) say(`  router v mid-trickle RSS by kind: ${mk(tr.v.routerMem)}`);
  if (floor) say(`${'libraries alone'.padEnd(22)} ${mb(floor.rssKb)} [${mb(floor.anonKb)}]: a program linking the router's ${floor.libs} libraries that does nothing else (${mk(floor.mem)})`);
  res('lighttpd', resources.lighttpd);
  if (resources.portkey) res('portkey (node)', resources.portkey);
  if (resources.c.spool) say(`${'usage spool (c)'.padEnd(22)} ${resources.c.spool.records} records, ${kib(resources.c.spool.bytes)} in ${resources.c.spool.files} file(s)`);
  const bin = binaries['llmgate-router'];
  const kb = binaries['llmgate-keys'];
  say(`${'binaries'.padEnd(22)} llmgate-router ${kib(bin?.stripped)} stripped (${kib(bin?.bytes)} with symbols)${kb ? `, llmgate-keys ${kib(kb.stripped)} stripped` : ''}${binaries.sharedLibs ? `; router links ${binaries.sharedLibs} shared libraries` : ''}`);
  if (cg && !cg.na) {
    say(`${'instructions/request'.padEnd(22)} non-streaming ${f0(cg.json.perRequest)} (${cg.json.requests} requests), streaming ${f0(cg.sse.perRequest)} (${cg.sse.requests} streams, ${fx.chatStream('bench-sse').length} B each); callgrind, router side only`);
  } else {
    say(`${'instructions/request'.padEnd(22)} n/a (${cg?.na})`);
  }
  say('');
  say('targets (reported, not enforced)');
  for (const t of targets) {
    const mark = t.met === null ? 'n/a    ' : t.met ? 'met    ' : 'NOT met';
    say(`  [${mark}] ${t.name}: ${t.shown} (target ${t.limit})${t.note ? `; ${t.note}` : ''}`);
  }

  const text = out.join('\n') + '\n';
  process.stdout.write(text);

  // ---------------------------------------------------------------- save
  fs.mkdirSync(OPT.out, { recursive: true });
  const json = {
    version: 1,
    machine,
    options: { quick: OPT.quick, duration_s: OPT.duration, reps: OPT.reps, threads: OPT.threads, wide_threads: OPT.wideThreads, trickle: tk, callgrind_requests: { json: OPT.cgJson, sse: OPT.cgSse } },
    rows: rows.map((r) => ({ ...r, reps: r.reps?.map((x) => ({ rps: x.rps, p50: x.p50, p90: x.p90, p99: x.p99, errors: x.errors, requests: x.requests, ttfb: x.ttfb, cpuUsPerReq: x.cpuUsPerReq })) })),
    load,
    resources,
    binaries,
    lib_floor: floor,
    callgrind: cg && !cg.na ? {
      json: { requests: cg.json.requests, instructions: cg.json.instructions, per_request: cg.json.perRequest, top_self: topFunctions(cg.json.self, 25), top_inclusive: topFunctions(cg.json.inclusive, 25) },
      sse: { requests: cg.sse.requests, instructions: cg.sse.instructions, per_request: cg.sse.perRequest, top_self: topFunctions(cg.sse.self, 25), top_inclusive: topFunctions(cg.sse.inclusive, 25) },
    } : { na: cg?.na },
    targets,
  };
  fs.writeFileSync(path.join(OPT.out, 'latest.txt'), text);
  fs.writeFileSync(path.join(OPT.out, 'latest.json'), JSON.stringify(json, null, 1) + '\n');
  if (cg && !cg.na) {
    const prof = [
      `callgrind profile of llmgate-router (${machine.router}${machine.commit ? ` @ ${machine.commit}` : ''}), ${machine.date}`,
      'Collected only inside FCGX_Accept_r, http_req_init, gateway_handle, http_req_free and FCGX_Finish_r',
      '(the per-request work of a worker thread), router with 1 worker thread, requests through lighttpd.',
      '',
      `=== non-streaming: ${cg.json.requests} requests, ${f0(cg.json.perRequest)} instructions per request`,
      '--- what the router\'s own functions call: instructions per request, % of all, (calls per request)',
      cg.json.tree,
      '--- self cost', cg.json.self.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'),
      '--- inclusive', cg.json.inclusive.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'),
      '',
      `=== streaming: ${cg.sse.requests} streams, ${f0(cg.sse.perRequest)} instructions per stream`,
      '--- what the router\'s own functions call: instructions per stream, % of all, (calls per stream)',
      cg.sse.tree,
      '--- self cost', cg.sse.self.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'),
      '--- inclusive', cg.sse.inclusive.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(OPT.out, 'profile.txt'), prof);
  }
  if (OPT.baseline) fs.copyFileSync(path.join(OPT.out, 'latest.json'), prevPath);
  log(`wrote ${path.join(OPT.out, 'latest.txt')} and latest.json${cg && !cg.na ? ', profile.txt' : ''}${OPT.baseline ? ', previous.json' : ''}`);

  // Stop everything, politely.
  for (const p of [...procs]) await stop(p);

  // The router's own paths must work: a check that failed or errors under
  // load make the exit status 3 (the figures are still written).
  const broken = rows.filter((r) => ['c', 'w', 'v'].includes(r.path) && (r.na || r.errors > 0));
  if (broken.length) {
    for (const r of broken) log(`llmgate path ${r.path}, ${r.label}: ${r.na ? `n/a: ${r.na}` : `${r.errors} errors`}`);
    return 3;
  }
  return 0;
}

main().then((rc) => {
  cleanupSync();
  process.exit(rc);
}, (e) => {
  log(`failed: ${e.stack || e.message}`);
  if (OPT.keep) log(`kept ${WORK}`);
  cleanupSync();
  process.exit(1);
});
