// Helpers for the settlement tests: a state directory with a usage spool
// written by hand, runs of llmgate-settle, the ledger it wrote, and the
// totals the ledger must hold for a set of records.
//
//   const S = require('../lib/settle.js');
//   const st = S.makeState({ conf: '[settle]\nbatch = 7\n' });
//   S.writeSegment(st, { records: [S.record(1)], suffix: '.ready' });
//   const r = await S.runSettle(st, [], { env: S.backendEnv(backend, 'secret') });
//   assert.deepEqual(S.ledgerTotals(S.dumpLedger(st)), S.expectedLedger(records));
//   st.cleanup();
//
// LLMGATE_BUILDDIR names the directory holding llmgate-settle (the same
// variable harness.js reads).

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, execFileSync } = require('node:child_process');
const { BUILD_DIR, baseEnv } = require('./harness.js');

const SETTLE = path.join(BUILD_DIR, 'llmgate-settle');
const COST_SCALE = 1e12;   // the ledger's cost units per currency unit
const RUN_TIMEOUT_MS = 30000;

const made = new Set();
process.on('exit', () => {
  if (process.env.LLMGATE_KEEP_TMP) return;
  for (const dir of made) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});

// A fresh state directory (with spool/) and a config file.
function makeState({ conf = '' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-settle-'));
  made.add(dir);
  const stateDir = path.join(dir, 'state');
  const spoolDir = path.join(stateDir, 'spool');
  fs.mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const confPath = path.join(dir, 'llmgate.conf');
  fs.writeFileSync(confPath, conf, { mode: 0o600 });
  return {
    dir,
    stateDir,
    spoolDir,
    confPath,
    ledgerPath: path.join(stateDir, 'ledger.db'),
    cleanup() {
      made.delete(dir);
      if (!process.env.LLMGATE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const KEYS = ['k_1a2b3c4d', 'k_5e6f7a8b', 'k_9c0d1e2f'];
const MODELS = ['deepseek-chat', 'kimi-k2.5', 'glm-5'];
// Two UTC days and two months, so every kind of key gets several values.
const DAYS_MS = [Date.UTC(2026, 0, 31, 23, 59, 59, 500), Date.UTC(2026, 1, 1, 0, 0, 0, 250), Date.UTC(2026, 1, 1, 12)];

// A usage record as the router writes it; i makes it unique and varied.
function record(i, over = {}) {
  const tag = over.tag || 'r';
  const prompt = 10 + (i % 97);
  const completion = 3 + ((i * 7) % 53);
  const cached = i % 5 === 0 ? 4 : 0;
  const reasoning = i % 11 === 0 ? 2 : 0;
  const status = i % 13 === 0 ? 502 : i % 17 === 0 ? 429 : 200;
  const r = {
    id: `req_${tag}_${i}`,
    ts: DAYS_MS[i % DAYS_MS.length] + i,
    key_id: KEYS[i % KEYS.length],
    key_name: 'team',
    provider: 'deepseek',
    upstream_key: 'deepseek#1-8539584f',
    model: MODELS[(i >> 1) % MODELS.length],
    upstream_model: 'deepseek-chat',
    endpoint: 'chat',
    prompt,
    completion,
    cached,
    reasoning,
    estimated: i % 7 === 0,
    cost: Number(((prompt * 0.28 + completion * 0.42) / 1e6).toPrecision(12)),
    currency: 'USD',
    ttfb_ms: 12,
    ms: 31,
    status,
    stream: i % 2 === 0,
    cache_hit: i % 19 === 0,
    client_gone: false,
  };
  return { ...r, ...over, tag: undefined };
}

let segCounter = 0;
// Write a segment file directly; returns its base name. partial: text of a
// last line without '\n' (a writer killed mid-write).
function writeSegment(st, { records, suffix = '.ready', ms, partial } = {}) {
  segCounter += 1;
  const t = ms || Date.now() - 60000 + segCounter;
  const name = `seg-${String(t).padStart(13, '0')}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  let text = records.map((r) => JSON.stringify(r) + '\n').join('');
  if (partial) text += partial;
  fs.writeFileSync(path.join(st.spoolDir, name + suffix), text, { mode: 0o600 });
  return name;
}

function segments(st) {
  return fs.readdirSync(st.spoolDir).filter((n) => n.startsWith('seg-')).sort();
}

function backendEnv(backend, secret) {
  return { BACKEND_URL: backend.url, INTERNAL_SECRET: secret };
}

function settleEnv(st, env) {
  return { ...baseEnv(), LLMGATE_CONFIG: st.confPath, LLMGATE_STATE_DIR: st.stateDir, ...env };
}

// Start llmgate-settle; the caller waits for it (or kills it).
function spawnSettle(st, args = [], { env = {} } = {}) {
  const child = spawn(SETTLE, args, { env: settleEnv(st, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  child.done = new Promise((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return child;
}

// Run llmgate-settle to its end: { code, signal, stdout, stderr }.
async function runSettle(st, args = [], { env = {}, timeoutMs = RUN_TIMEOUT_MS } = {}) {
  const child = spawnSettle(st, args, { env });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const r = await child.done;
  clearTimeout(timer);
  return r;
}

// The ledger as a Map key -> value object (from --dump-ledger).
function dumpLedger(st) {
  const out = execFileSync(SETTLE, ['--dump-ledger'], { env: settleEnv(st, {}), encoding: 'utf8' });
  const m = new Map();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line);
    m.set(o.key, o);
  }
  return m;
}

function statusJson(st, env = {}) {
  return JSON.parse(execFileSync(SETTLE, ['--status', '--json'], { env: settleEnv(st, env), encoding: 'utf8' }));
}

function dayOf(ms) { return new Date(ms).toISOString().slice(0, 10); }
function monthOf(ms) { return new Date(ms).toISOString().slice(0, 7); }

function emptyTotals() {
  return { requests: 0, prompt: 0, completion: 0, cached: 0, reasoning: 0, cost_units: 0, errors: 0, cache_hits: 0, estimated: 0 };
}

// What the ledger must hold for these records: Map key -> totals, with
// cost as integer units (1e-12) like the ledger sums it.
function expectedLedger(records) {
  const m = new Map();
  const add = (key, r) => {
    if (!m.has(key)) m.set(key, emptyTotals());
    const t = m.get(key);
    t.requests += 1;
    t.prompt += r.prompt;
    t.completion += r.completion;
    t.cached += r.cached;
    t.reasoning += r.reasoning;
    t.cost_units += Math.round(r.cost * COST_SCALE);
    t.errors += r.status >= 400 ? 1 : 0;
    t.cache_hits += r.cache_hit ? 1 : 0;
    t.estimated += r.estimated ? 1 : 0;
  };
  for (const r of records) {
    const day = dayOf(r.ts);
    add(`day:${r.key_id}|${r.model}|${day}`, r);
    add(`month:${r.key_id}|${monthOf(r.ts)}`, r);
    add(`key:${r.key_id}`, r);
    add(`model:${r.model}|${day}`, r);
  }
  return m;
}

// The totals keys of a dumped ledger in the shape of expectedLedger.
function ledgerTotals(dump) {
  const m = new Map();
  for (const [key, v] of dump) {
    if (key.startsWith('meta:')) continue;
    const t = emptyTotals();
    for (const f of Object.keys(t)) t[f] = f === 'cost_units' ? Math.round(v.cost * COST_SCALE) : v[f];
    m.set(key, t);
  }
  return m;
}

// Both maps as sorted plain objects, for deepStrictEqual.
function sorted(map) {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

module.exports = {
  SETTLE,
  makeState,
  record,
  writeSegment,
  segments,
  backendEnv,
  settleEnv,
  spawnSettle,
  runSettle,
  dumpLedger,
  statusJson,
  expectedLedger,
  ledgerTotals,
  sorted,
};
