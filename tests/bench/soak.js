#!/usr/bin/env node
// soak.js — the driver of tests/bench/soak.sh: starts the mock upstream, a
// raw faulty upstream and lighttpd + llmgate-router (tests/lib/harness.js),
// runs mixed traffic with faults for --seconds, runs llmgate-settle every
// 30 s as cron would, samples the router's RSS and open fds every
// --interval seconds, prints them at the start, every minute and at the
// end, and ends with a verdict line: flat or growing.
//
//   node tests/bench/soak.js [--seconds N] [--interval S] [--workers W]
//
// Exit status: 0 when memory and fds are flat and every request that
// should have succeeded did; 1 otherwise.

'use strict';

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { startMock, startGateway, mockEnv, freePort, baseEnv, BUILD_DIR, sleep } = require('../lib/harness.js');
const { request, stream, chatBody } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : def;
}
const SECONDS = arg('--seconds', 600);
const INTERVAL = arg('--interval', 5);
const WORKERS = arg('--workers', 4);
const THREADS = 8;
const GW_KEY = 'sk-lg-soak-0123456789abcdef0123456789abcdef';
const SETTLE = path.join(BUILD_DIR, 'llmgate-settle');

// ------------------------------------------------------------ a faulty upstream

function startRaw() {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    const timers = [];
    s.on('close', () => { sockets.delete(s); for (const t of timers) { clearTimeout(t); clearInterval(t); } });
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let started = false;
    s.on('data', (d) => {
      if (started) return;
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end).toString('latin1'));
      const want = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + want) return;
      started = true;
      let model = '';
      try { model = JSON.parse(buf.slice(end + 4, end + 4 + want).toString('utf8')).model; } catch { /* */ }
      const head = (ctype) => `HTTP/1.1 200 OK\r\nContent-Type: ${ctype}\r\nConnection: close\r\n\r\n`;
      const chunk = (c) => `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"raw","choices":[{"index":0,"delta":{"content":"${c}"},"finish_reason":null}]}\n\n`;
      switch (model) {
        case 'silent': return;                           // never answers (first-byte timeout)
        case 'endless': {                                // streams until the reader leaves (30 s cap)
          s.write(head('text/event-stream'));
          const t0 = Date.now();
          const t = setInterval(() => { if (Date.now() - t0 > 30000) s.destroy(); else s.write(chunk('tick ')); }, 40);
          timers.push(t);
          return;
        }
        case 'truncated':
          s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"id":"x","choi');
          timers.push(setTimeout(() => s.destroy(), 20));
          return;
        case 'stop-mid-event':
          s.write(head('text/event-stream') + chunk('one ') + 'data: {"id":"x","obj');
          timers.push(setTimeout(() => s.destroy(), 20));
          return;
        default: {
          const b = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'raw', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
          s.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n${b}`);
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  })));
}

// ------------------------------------------------------------ sampling

function procStats(pids) {
  let rss = 0;
  let fds = 0;
  let threads = 0;
  for (const pid of pids) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number((/VmRSS:\s+(\d+)/.exec(st) || [0, 0])[1]);
      threads += Number((/Threads:\s+(\d+)/.exec(st) || [0, 0])[1]);
      fds += fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch { /* gone */ }
  }
  return { rss, fds, threads };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : 0; };

// least-squares slope of y over x
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}

// ------------------------------------------------------------ traffic

const tally = new Map();   // case -> { n, unexpected, last }
function count(name, ok, detail) {
  const t = tally.get(name) || { n: 0, unexpected: 0, last: '' };
  t.n += 1;
  if (!ok) { t.unexpected += 1; t.last = String(detail).slice(0, 160); }
  tally.set(name, t);
}

function cases(gw) {
  const auth = { Authorization: `Bearer ${GW_KEY}` };
  const chat = (model, extra) => request('POST', `${gw.url}/v1/chat/completions`, { headers: auth, body: chatBody(model, extra), timeoutMs: 20000 });
  const sse = (model, extra = {}, opts = {}) => stream(`${gw.url}/v1/chat/completions`, { headers: auth, body: chatBody(model, { stream: true, ...extra }), timeoutMs: 20000, ...opts });
  const msg = (model, extra = {}) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hello soak' }], ...extra });
  const is = (want) => (r) => r.status === want;
  return [
    // [name, weight, fn -> ok]
    ['chat deepseek', 10, async () => is(200)(await chat('deepseek-chat'))],
    ['chat openai', 5, async () => is(200)(await chat('gpt-4o'))],
    ['chat claude (translated)', 5, async () => is(200)(await chat('claude-sonnet-4'))],
    ['chat gemini (translated)', 5, async () => is(200)(await chat('gemini-2.5-flash'))],
    ['stream deepseek usage', 8, async () => { const r = await sse('deepseek-reasoner', { stream_options: { include_usage: true } }); return r.status === 200 && r.done; }],
    ['stream claude', 4, async () => { const r = await sse('claude-sonnet-4'); return r.status === 200 && r.done; }],
    ['stream gemini', 4, async () => { const r = await sse('gemini-2.5-pro'); return r.status === 200 && r.done; }],
    ['messages -> deepseek', 4, async () => is(200)(await request('POST', `${gw.url}/v1/messages`, { headers: auth, body: msg('deepseek-chat'), timeoutMs: 20000 }))],
    ['messages stream -> anthropic', 4, async () => { const r = await stream(`${gw.url}/v1/messages`, { headers: auth, body: msg('claude-sonnet-4', { stream: true }), timeoutMs: 20000 }); return r.status === 200 && /message_stop/.test(r.text); }],
    ['passthrough openai', 3, async () => is(200)(await request('POST', `${gw.url}/api/openai/v1/chat/completions`, { headers: auth, body: chatBody('gpt-4o'), timeoutMs: 20000 }))],
    ['passthrough gemini ?key=', 3, async () => is(200)(await request('POST', `${gw.url}/api/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent?key=${GW_KEY}`, { body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, timeoutMs: 20000 }))],
    ['embeddings', 3, async () => is(200)(await request('POST', `${gw.url}/v1/embeddings`, { headers: auth, body: { model: 'text-embedding-3-small', input: ['a', 'b'] }, timeoutMs: 20000 }))],
    ['health', 2, async () => is(200)(await request('GET', `${gw.url}/health`, { timeoutMs: 20000 }))],
    // faults
    ['fault: malformed JSON', 3, async () => is(400)(await request('POST', `${gw.url}/v1/chat/completions`, { headers: auth, body: '{"model": "deepseek-chat", "messages": [', timeoutMs: 20000 }))],
    ['fault: deep nesting', 2, async () => is(400)(await request('POST', `${gw.url}/v1/chat/completions`, { headers: auth, body: '['.repeat(30000) + ']'.repeat(30000), timeoutMs: 20000 }))],
    ['fault: body over the cap', 2, async () => is(413)(await chat('deepseek-chat', { messages: [{ role: 'user', content: 'x'.repeat(70000) }] }))],
    ['fault: unknown model', 2, async () => is(404)(await chat('no-such-model-anywhere'))],
    ['fault: bad gateway key', 3, async () => is(401)(await request('POST', `${gw.url}/v1/chat/completions`, { headers: { Authorization: 'Bearer sk-lg-wrong-000000000000' }, body: chatBody('deepseek-chat'), timeoutMs: 20000 }))],
    ['fault: wrong method', 1, async () => is(405)(await request('GET', `${gw.url}/v1/chat/completions`, { headers: auth, timeoutMs: 20000 }))],
    ['fault: upstream refuses', 2, async () => is(502)(await chat('refused/m'))],
    ['fault: upstream garbage', 2, async () => is(502)(await chat('deepseek/garbage'))],
    ['fault: upstream 500', 2, async () => is(502)(await chat('siliconflow/error-500'))],
    ['fault: upstream 400 passed on', 2, async () => is(400)(await chat('openai/error-400'))],
    ['fault: every key 429', 2, async () => is(429)(await chat('storm/m'))],
    ['fault: truncated JSON', 2, async () => is(502)(await chat('raw/truncated'))],
    ['fault: stream cut', 3, async () => { const r = await sse('deepseek/cut-stream'); return r.status === 200 && !r.done; }],
    ['fault: stream stops mid-event', 2, async () => { const r = await sse('raw/stop-mid-event'); return r.status === 200 && !r.done; }],
    ['fault: client leaves mid-stream', 3, async () => { const r = await sse('openai/trickle', {}, { stopAfter: 2 }); return r.aborted; }],
    ['fault: client leaves endless stream', 2, async () => { const r = await sse('raw/endless', {}, { stopAfter: 3 }); return r.aborted; }],
    ['fault: silent upstream (timeout)', 1, async () => is(504)(await chat('raw/silent'))],
    ['fault: client leaves before the answer', 2, async () => {
      const body = JSON.stringify(chatBody('openai/slow-first-byte'));
      await new Promise((resolve) => {
        const s = net.connect(gw.port, '127.0.0.1', () => {
          s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GW_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          setTimeout(() => { s.destroy(); resolve(); }, 100);
        });
        s.on('error', () => resolve());
      });
      return true;
    }],
  ];
}

function pick(list) {
  const total = list.reduce((n, c) => n + c[1], 0);
  let r = Math.random() * total;
  for (const c of list) { r -= c[1]; if (r < 0) return c; }
  return list[list.length - 1];
}

function settleOnce(gw) {
  return new Promise((resolve) => {
    execFile(SETTLE, ['--quiet'], { env: { ...baseEnv(), LLMGATE_CONFIG: gw.confPath, LLMGATE_STATE_DIR: gw.stateDir }, timeout: 60000 },
      (err) => resolve(!err));
  });
}

// ------------------------------------------------------------ main

async function main() {
  const mock = await startMock();
  mock.configure({ delayMs: 300, trickleEvents: 20, trickleMs: 50, keys: { 'sk-storm-soak-1': { status: 429, retryAfter: 1 }, 'sk-storm-soak-2': { status: 429, retryAfter: 1 } } });
  const raw = await startRaw();
  const closed = await freePort();
  const gw = await startGateway({
    env: {
      ...mockEnv(mock), AUTH_KEY: GW_KEY,
      DEEPSEEK_API_KEY: 'sk-ds-soak-1,sk-ds-soak-2', OPENAI_API_KEY: 'sk-oa-soak-1', ANTHROPIC_API_KEY: 'sk-ant-soak-1',
      GEMINI_API_KEY: 'AIza-soak-1', SILICONFLOW_API_KEY: 'sk-sf-soak-1,sk-sf-soak-2',
      REFUSED_API_KEY: 'sk-refused-soak', RAW_API_KEY: 'sk-raw-soak', STORM_API_KEY: 'sk-storm-soak-1,sk-storm-soak-2',
    },
    conf: buildConf({
      server: { threads: THREADS, max_body: 65536, log_level: 'warn' },
      upstream: { connect_timeout_ms: 1000, first_byte_timeout_ms: 1000, idle_timeout_ms: 1000, max_attempts: 2, cooldown_s: 1 },
      providers: {
        refused: { base_url: `http://127.0.0.1:${closed}/v1` },
        raw: { base_url: `http://127.0.0.1:${raw.port}/v1` },
        storm: { base_url: `${mock.url}/openai/v1` },
      },
    }),
  });
  const list = cases(gw);
  const t0 = Date.now();
  const samples = [];   // { t, rss, fds, threads, requests }
  let requests = 0;
  let stop = false;

  const sample = () => {
    const s = { t: (Date.now() - t0) / 1000, ...procStats(gw.routerPids()), requests };
    samples.push(s);
    return s;
  };
  const line = (s, tag) => process.stdout.write(
    `soak ${tag.padEnd(6)} t=${String(Math.round(s.t)).padStart(5)}s  router rss=${String(s.rss).padStart(7)} kB  fds=${String(s.fds).padStart(4)}  threads=${String(s.threads).padStart(3)}  requests=${s.requests}\n`);

  // warm-up: every case once, then the first sample
  for (const c of list) { try { count(c[0], await c[2](), 'warm-up'); } catch (e) { count(c[0], false, e.message); } requests++; }
  line(sample(), 'start');

  const workers = Array.from({ length: WORKERS }, async () => {
    while (!stop) {
      const c = pick(list);
      let ok = false;
      let detail = '';
      try { ok = await c[2](); } catch (e) { detail = e.message; }
      count(c[0], ok, detail || 'unexpected answer');
      requests++;
    }
  });
  let nextMinute = 60;
  const sampler = (async () => {
    let nextSettle = 30;
    while (!stop) {
      await sleep(INTERVAL * 1000);
      const s = sample();
      if (s.t >= nextMinute) { line(s, 'minute'); nextMinute += 60; }
      if (s.t >= nextSettle) { nextSettle += 30; settleOnce(gw); }
      if (s.t >= SECONDS) stop = true;
    }
  })();
  await sampler;
  await Promise.all(workers);
  await sleep(1500); // let cut-off streams and timeouts finish
  const end = sample();
  line(end, 'end');

  // verdict: the median of the samples after warm-up (10-30% of the run)
  // against the median of the last three
  const warm = samples.filter((s) => s.t >= SECONDS * 0.1 && s.t <= SECONDS * 0.3);
  const base = warm.length ? warm : samples.slice(0, 3);
  const last = samples.slice(-3);
  const rss0 = median(base.map((s) => s.rss));
  const rss1 = median(last.map((s) => s.rss));
  const fd0 = median(base.map((s) => s.fds));
  const fd1 = median(last.map((s) => s.fds));
  const later = samples.filter((s) => s.t >= SECONDS * 0.3);
  const kbPerMin = slope(later.map((s) => s.t / 60), later.map((s) => s.rss));
  const rssFlat = rss1 - rss0 <= Math.max(5 * 1024, rss0 * 0.1);
  const fdFlat = fd1 - fd0 <= 4;
  const peak = samples.reduce((m, s) => Math.max(m, s.rss), 0);

  process.stdout.write('\ncase                                        requests  unexpected\n');
  let unexpected = 0;
  for (const [name, t] of [...tally.entries()].sort()) {
    unexpected += t.unexpected;
    process.stdout.write(`  ${name.padEnd(42)}${String(t.n).padStart(8)}  ${String(t.unexpected).padStart(10)}${t.unexpected ? `  last: ${t.last}` : ''}\n`);
  }
  const rate = requests / Math.max(1, end.t);
  const errLines = gw.errorLog().split('\n').filter((l) => /\[error\]|AddressSanitizer|runtime error|LeakSanitizer/.test(l));
  process.stdout.write(`\nsoak: ${requests} requests in ${Math.round(end.t)} s (${rate.toFixed(1)}/s), ${unexpected} unexpected answers, ` +
    `${errLines.length} error-level log lines\n`);
  process.stdout.write(`soak: router rss ${rss0} kB after warm-up -> ${rss1} kB at the end (peak ${peak} kB, trend ${kbPerMin.toFixed(1)} kB/min); ` +
    `fds ${fd0} -> ${fd1}\n`);
  const verdict = rssFlat && fdFlat ? 'flat' : 'growing';
  process.stdout.write(`soak verdict: ${verdict} (rss ${rss1 - rss0 >= 0 ? '+' : ''}${rss1 - rss0} kB, fds ${fd1 - fd0 >= 0 ? '+' : ''}${fd1 - fd0})` +
    `${unexpected ? `; ${unexpected} unexpected answers` : ''}\n`);
  if (errLines.length) process.stdout.write(`first error-level log lines:\n  ${errLines.slice(0, 5).join('\n  ')}\n`);

  await gw.stop();
  await mock.close();
  await raw.close();
  process.exit(verdict === 'flat' && unexpected === 0 ? 0 : 1);
}

main().catch((e) => { process.stderr.write(`soak: ${e.stack || e}\n`); process.exit(2); });
