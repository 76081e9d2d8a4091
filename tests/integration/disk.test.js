// Nothing answered goes unbilled on a full disk: the state folder on a
// small file system of its own (tmpfs, else a loop-mounted ext4 image),
// filled while traffic runs. Every request answered 200 must reach the
// ledger after space returns; requests while there is no space get a 503
// usage_store_unavailable in their dialect and nothing reaches the upstream;
// /health says degraded with the reason meanwhile and ok again after; the
// log says so once. The cap on the unsettled spool: a warning, then
// refusals until settle catches up. A record whose write fails after its
// answer (a file-size limit put on the router with prlimit): kept, counted
// against budgets, retried, billed, and reported at shutdown if it still
// cannot be written. CGI checks before the call too. Mounting and prlimit
// need root: those parts are skipped, saying why, without it.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, baseEnv, keysTool, sleep, ROUTER } = require('../lib/harness.js');
const { request, stream, waitFor, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const S = require('../lib/settle.js');

const GW_KEY = 'gk-disk-0123456789abcdef';
const PROVIDER_ENV = { DEEPSEEK_API_KEY: 'sk-ds-disk-0001', ANTHROPIC_API_KEY: 'sk-ant-disk-0001', GEMINI_API_KEY: 'gm-disk-0001' };

// A small file system of its own at a fresh folder: { dir, unmount } or
// { skip } saying why none could be made.
function smallFs(sizeKb) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-disk-'));
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };
  const umount = () => {
    try { execFileSync('umount', [dir], quiet); } catch { /* not mounted */ }
  };
  const done = (img) => () => {
    umount();
    if (img) fs.rmSync(img, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const why = [];
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir], quiet);
    return { dir, unmount: done(null) };
  } catch (e) { why.push(`tmpfs: ${String(e.stderr || e.message).trim()}`); }
  const img = `${dir}.img`;
  try {
    fs.writeFileSync(img, '');
    fs.truncateSync(img, Math.max(sizeKb, 1024) * 1024);
    execFileSync('mkfs.ext4', ['-q', '-F', img], quiet);
    execFileSync('mount', ['-o', 'loop', img, dir], quiet);
    return { dir, unmount: done(img) };
  } catch (e) { why.push(`loop ext4: ${String(e.stderr || e.message).trim()}`); }
  done(img)();
  return { skip: `no small file system can be mounted here (${why.join('; ')})` };
}

// Fill the file system of dir to the last byte, writing while requests run.
async function fillUp(dir) {
  const fh = await fs.promises.open(path.join(dir, 'filler'), 'w');
  try {
    for (const size of [65536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try { await fh.write(chunk); } catch (e) { if (e.code === 'ENOSPC') break; throw e; }
      }
    }
  } finally {
    await fh.close();
  }
}

function stateOf(gw) {
  return { stateDir: gw.stateDir, confPath: gw.confPath, spoolDir: `${gw.stateDir}/spool`, ledgerPath: `${gw.stateDir}/ledger.db` };
}

// Tokens the client was told about, in either dialect.
function tokensOf(json) {
  const u = json.usage;
  return u.prompt_tokens !== undefined ? u.prompt_tokens + u.completion_tokens : u.input_tokens + u.output_tokens;
}

// Runs traffic from the client's side: every request carries a unique tag in
// its text, so what the upstream received can be told apart.
function traffic(gw) {
  const t = { answered: [], refused: [], other: [], n: 0 };
  t.send = async (kind = 'chat', model = 'deepseek-chat') => {
    const tag = `disk-test-tag-${++t.n}-`;
    const messages = [{ role: 'user', content: `${tag} say hello ${'x'.repeat(t.n % 50)}` }];
    const r = kind === 'messages' ?
      await request('POST', `${gw.url}/v1/messages`, { headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-3-5-haiku-latest', max_tokens: 50, messages } }) :
      await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody(model, { messages }) });
    const entry = { tag, kind, r };
    if (r.status === 200) t.answered.push({ ...entry, tokens: tokensOf(r.json) });
    else if (r.status === 503) t.refused.push(entry);
    else t.other.push(entry);
    return r;
  };
  // `loops` clients sending one request after another until stop() is true
  // (at most `max` requests each)
  t.run = (loops, stop, max = 400) => Promise.all(Array.from({ length: loops }, async (_, i) => {
    for (let k = 0; k < max && !stop(); k++) await t.send((k + i) % 3 === 2 ? 'messages' : 'chat');
  }));
  return t;
}

async function health(gw) {
  const r = await request('GET', `${gw.url}/health`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function count(text, needle) {
  return text.split(needle).length - 1;
}

// Settle the stopped gateway's spool and return the key's ledger totals.
async function settleAndTotals(gw) {
  const r = await S.runSettle(stateOf(gw), []);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const dump = S.dumpLedger(stateOf(gw));
  const keys = [...dump.keys()].filter((k) => k.startsWith('key:'));
  assert.equal(keys.length, 1, `one gateway key in the ledger: ${keys.join(' ')}`);
  return dump.get(keys[0]);
}

// A gateway with its state folder on a 2 MB file system of its own, started
// and stopped by the calling describe's hooks: { small, mock, gw } (gw may
// be taken and stopped by the test: set it to null).
function gatewayOnSmallDisk(conf) {
  const ctx = {};
  before(async () => {
    ctx.small = smallFs(2048);
    if (ctx.small.skip) return;
    const stateDir = path.join(ctx.small.dir, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    ctx.mock = await startMock();
    ctx.gw = await startGateway({ env: { ...mockEnv(ctx.mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY }, conf, stateDir });
  });
  after(async () => {
    if (ctx.gw) await ctx.gw.stop();
    if (ctx.mock) await ctx.mock.close();
    if (ctx.small && ctx.small.unmount) ctx.small.unmount();
  });
  return ctx;
}

describe('the state folder on a disk that fills while requests run', () => {
  const ctx = gatewayOnSmallDisk(buildConf());

  it('answers 200 only what it can bill, refuses the rest before the upstream, and bills every 200', async (t) => {
    const { small, mock, gw } = ctx;
    if (small.skip) { t.skip(small.skip); return; }
    const tr = traffic(gw);
    assert.equal((await health(gw)).status, 'ok');

    // traffic, and the disk fills under it
    let full = false;
    const running = tr.run(2, () => full && tr.refused.length >= 8);
    await waitFor(() => tr.answered.length >= 6, { timeoutMs: 30000 });
    await fillUp(small.dir);
    full = true;
    await running;
    assert.ok(tr.refused.length >= 8, `requests refused on the full disk (answered ${tr.answered.length})`);

    // each refusal: 503 usage_store_unavailable in the caller's dialect
    for (const { kind, r } of tr.refused) {
      if (kind === 'messages') {
        assert.equal(r.json.type, 'error', r.text);
        assert.match(r.json.error.message, /cannot record usage/);
      } else {
        assert.equal(r.json.error.code, 'usage_store_unavailable', r.text);
        assert.match(r.json.error.message, /disk holding usage records is full/);
      }
      assert.ok(r.headers['retry-after'], 'Retry-After on a refusal');
    }
    assert.deepEqual(tr.other.map((e) => `${e.kind} ${e.r.status} ${e.r.text}`), []);

    // nothing of a refused request reached the upstream
    const upstreamText = () => mock.requests().map((q) => q.raw || JSON.stringify(q.body)).join('\n');
    for (const { tag } of tr.refused) assert.ok(!upstreamText().includes(tag), `refused ${tag} was not sent upstream`);

    // while it is full: every dialect refused, the upstream sees nothing
    const seen = mock.requests().length;
    const s = await stream(`${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat', { stream: true }) });
    assert.equal(s.status, 503);
    const p = await request('POST', `${gw.url}/api/deepseek/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat') });
    assert.equal(p.status, 503, p.text);
    assert.equal(p.json.error.code, 'usage_store_unavailable');
    const pa = await request('POST', `${gw.url}/api/anthropic/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(pa.status, 503, pa.text);
    assert.equal(pa.json.type, 'error', `Anthropic's shape natively: ${pa.text}`);
    const pg = await request('POST', `${gw.url}/api/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent`, {
      headers: { 'x-goog-api-key': GW_KEY }, body: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] },
    });
    assert.equal(pg.status, 503, pg.text);
    assert.equal(pg.json.error.status, 'UNAVAILABLE', `Gemini's shape natively: ${pg.text}`);
    const m = await tr.send('messages');
    assert.equal(m.status, 503, m.text);
    assert.match(m.json.error.type, /error/);
    assert.equal(mock.requests().length, seen, 'nothing sent upstream while the disk is full');

    const h = await health(gw);
    assert.equal(h.status, 'degraded');
    assert.ok(h.reasons.includes('usage_store_unavailable'), JSON.stringify(h));

    // space returns: ok again after a tick, and requests are served
    fs.rmSync(path.join(small.dir, 'filler'));
    const ok = await waitFor(async () => (await health(gw)).status === 'ok', { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(ok, `health ok again: ${JSON.stringify(await health(gw))}`);
    const before = tr.answered.length;
    await tr.run(2, () => tr.answered.length >= before + 6, 20);
    assert.ok(tr.answered.length >= before + 6);

    // every answered request is billed, exactly
    t.diagnostic(`answered ${tr.answered.length}, refused ${tr.refused.length + 4}, upstream got ${mock.requests().length}`);
    await gw.halt();
    const led = await settleAndTotals(gw);
    const tokens = tr.answered.reduce((a, e) => a + e.tokens, 0);
    assert.equal(led.requests, tr.answered.length, `ledger requests = answered (${tr.refused.length + 1} refused)`);
    assert.equal(led.prompt + led.completion, tokens, 'ledger tokens = tokens of the answered requests');

    // the log: once when it started, once when it cleared; nothing per request
    const log = gw.errorLog();
    assert.equal(count(log, 'health: degraded, usage_store_unavailable'), 1, log.slice(-3000));
    assert.equal(count(log, 'health: usage_store_unavailable cleared'), 1, log.slice(-3000));
    assert.equal(count(log, 'usage record not written'), 0);
    assert.equal(count(log, 'usage_records_pending'), 0, 'no record had to be kept in memory');
  });
});

describe('the cap on the unsettled spool', () => {
  let mock;
  let gw;

  before(async () => {
    mock = await startMock();
    gw = await startGateway({
      env: { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY },
      conf: buildConf() + '[settle]\nspool_max_bytes = 6000\nspool_warn_percent = 50\n',
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('warns over the warning level, refuses at the cap until settle catches up', async () => {
    const tr = traffic(gw);
    // one request at a time; after each, /health is read until it shows the
    // spool grown (it is measured about once a second)
    let warned = null;
    let last = 0;
    for (let i = 0; i < 200 && !tr.refused.length; i++) {
      await tr.send();
      if (tr.refused.length) break;
      const h = await waitFor(async () => {
        const x = await health(gw);
        return x.usage_spool.backlog_bytes > last && x;
      }, { timeoutMs: 5000, intervalMs: 100 });
      assert.ok(h, 'the spool is measured again');
      last = h.usage_spool.backlog_bytes;
      if (!warned && h.status === 'degraded') warned = { h, answered: tr.answered.length };
      if (!warned) assert.ok(h.usage_spool.backlog_bytes < 3000, JSON.stringify(h));
    }
    assert.ok(warned, 'degraded before the cap');
    assert.deepEqual(warned.h.reasons, ['spool_backlog_warning']);
    assert.ok(warned.h.usage_spool.backlog_bytes >= 3000 && warned.h.usage_spool.max_bytes === 6000, JSON.stringify(warned.h));
    assert.equal(tr.refused.length, 1, 'a refusal at the cap');
    const r = tr.refused[0].r;
    assert.equal(r.json.error.code, 'usage_store_unavailable', r.text);
    assert.match(r.json.error.message, /at its cap/);
    const h = await health(gw);
    assert.deepEqual(h.reasons.sort(), ['spool_backlog_full', 'spool_backlog_warning']);
    const seen = mock.requests().length;
    assert.equal((await tr.send()).status, 503);
    assert.equal(mock.requests().length, seen, 'nothing sent upstream at the cap');

    // settle catches up (the router closes its segment within seconds)
    const ok = await waitFor(async () => {
      await S.runSettle(stateOf(gw), []);
      return (await health(gw)).status === 'ok';
    }, { timeoutMs: 20000, intervalMs: 300 });
    assert.ok(ok, `health ok after settle: ${JSON.stringify(await health(gw))}`);
    assert.equal((await tr.send()).status, 200);

    const log = gw.errorLog();
    assert.equal(count(log, 'health: degraded, spool_backlog_warning'), 1, log.slice(-3000));
    assert.equal(count(log, 'health: degraded, spool_backlog_full'), 1);
    assert.equal(count(log, 'health: spool_backlog_full cleared'), 1);
    assert.equal(count(log, 'health: spool_backlog_warning cleared'), 1);
  });
});

// A record that cannot be written after its answer (an I/O error; here a
// file-size limit on the router, set with prlimit, smaller than a record, so
// every write of one fails with EFBIG though its space was reserved): kept
// in memory and counted, retried, billed; on SIGTERM what is still kept is
// tried once more and reported, never silently dropped.
describe('a record whose write fails after the answer', () => {
  // records name a long model, so that one is larger than the limit, while
  // the error log (errors only) stays under it
  const MODEL = `deepseek/${'m'.repeat(240)}`;
  const LIMIT = 800;
  let mock;
  let gw;
  let pid;
  let setLimit;

  before(async () => {
    mock = await startMock();
    gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY, LLMGATE_LOG_LEVEL: 'error' }, conf: buildConf() });
    [pid] = gw.routerPids();
    setLimit = (n) => {
      try {
        execFileSync('prlimit', [`--pid=${pid}`, `--fsize=${n}:unlimited`], { stdio: ['ignore', 'ignore', 'pipe'] });
        return null;
      } catch (e) { return String(e.stderr || e.message).trim(); }
    };
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('is kept, retried and billed; at shutdown what is still kept is reported', async (t) => {
    const tr = traffic(gw);
    assert.equal((await tr.send('chat', MODEL)).status, 200);   // the spool exists
    const why = setLimit(LIMIT);
    if (why) { t.skip(`prlimit cannot set the router's file-size limit here: ${why}`); return; }
    assert.equal((await tr.send('chat', MODEL)).status, 200, 'answered: its space was reserved');
    let h = await health(gw);
    assert.equal(h.usage_spool.kept_records, 1, JSON.stringify(h));
    assert.deepEqual(h.reasons, ['usage_records_pending']);
    assert.equal(setLimit('unlimited'), null);
    const ok = await waitFor(async () => (await health(gw)).status === 'ok', { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(ok, `written by a tick: ${JSON.stringify(await health(gw))}`);

    // kept again, and the router is stopped
    assert.equal(setLimit(LIMIT), null);
    assert.equal((await tr.send('chat', MODEL)).status, 200);
    assert.equal((await tr.send('chat', MODEL)).status, 200);
    h = await health(gw);
    assert.equal(h.usage_spool.kept_records, 2, JSON.stringify(h));
    // SIGTERM to the router itself, and its exit awaited (lighttpd's own
    // stop is followed by a SIGKILL of whatever is left)
    process.kill(pid, 'SIGTERM');
    const gone = () => { try { return /^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return true; } };
    assert.ok(await waitFor(gone, { timeoutMs: 15000, intervalMs: 50 }), 'the router stopped on SIGTERM');
    await gw.halt();
    const log = gw.errorLog();
    assert.equal(count(log, 'health: degraded, usage_records_pending'), 2, log);
    const lost = /USAGE LOST: (\d+) usage records? \((\d+) tokens\)/.exec(log);
    assert.ok(lost, `the loss is reported:\n${log}`);
    assert.equal(Number(lost[1]), 2);
    assert.match(lost[0] + log.slice(lost.index + lost[0].length).split('\n')[0], /File too large/);
    assert.equal(Number(lost[2]), tr.answered.slice(-2).reduce((a, e) => a + e.tokens, 0));
    const led = await settleAndTotals(gw);
    assert.equal(led.requests, 2, 'the first record and the one retried are billed');
    assert.equal(led.prompt + led.completion, tr.answered.slice(0, 2).reduce((a, e) => a + e.tokens, 0));
  });
});

// Usage kept in memory counts against a key's budget like usage written.
describe('records kept in memory and budgets', () => {
  let mock;
  let gw;
  let pid;

  before(async () => {
    mock = await startMock();
    gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf: buildConf() });
    [pid] = gw.routerPids();
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('a token budget is used up by records that could not be written yet, and counted once when written', async (t) => {
    const created = await keysTool(gw, ['create', '--name', 'budget', '--tokens', '1000000']);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(created.stderr)[1];
    const chat = () => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(key), body: chatBody('deepseek-chat', { max_tokens: 16 }) });
    const setBudget = async (n) => {
      assert.equal((await keysTool(gw, ['set', id, '--tokens', String(n)])).code, 0);
      await sleep(600);   // the router reads state.db about four times a second
    };
    // "(USED of LIMIT tokens)" or "(USED used or reserved of LIMIT)"
    const usedOf = (r) => Number(/\((\d+) (?:used or reserved )?of \d+/.exec(r.json.error.message)[1]);
    let first;
    for (let i = 0; i < 40; i++) {
      first = await chat();
      if (first.status !== 401) break;
      await sleep(50);
    }
    assert.equal(first.status, 200, first.text);
    const t1 = first.json.usage.total_tokens;
    // what one request reserves (its worst case), from a refusal
    await setBudget(t1 + 1);
    const probe = await chat();
    assert.equal(probe.status, 429, probe.text);
    const ask = Number(/may use up to (\d+) tokens/.exec(probe.json.error.message)[1]);
    // room for exactly one more request
    await setBudget(t1 + ask);

    try {
      execFileSync('prlimit', [`--pid=${pid}`, '--fsize=1:unlimited'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) { t.skip(`prlimit cannot set the router's file-size limit here: ${String(e.stderr || e.message).trim()}`); return; }
    let t2;
    try {
      const second = await chat();
      assert.equal(second.status, 200, second.text);
      t2 = second.json.usage.total_tokens;
      assert.equal((await health(gw)).usage_spool.kept_records, 1, 'its record is kept in memory');
      const seen = mock.requests().length;
      const refused = await chat();
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.json.error.code, 'insufficient_quota');
      assert.equal(usedOf(refused), t1 + t2, `the kept record counts: ${refused.json.error.message}`);
      assert.equal(mock.requests().length, seen, 'the refused request never went upstream');
    } finally {
      execFileSync('prlimit', [`--pid=${pid}`, '--fsize=unlimited:unlimited']);
    }
    assert.ok(await waitFor(async () => (await health(gw)).status === 'ok', { timeoutMs: 10000, intervalMs: 100 }), 'written');
    const after = await chat();
    assert.equal(after.status, 429, after.text);
    assert.equal(usedOf(after), t1 + t2, `written: counted once, not twice: ${after.json.error.message}`);
    // and once settle has folded it into the ledger (the router closes its
    // segment within seconds)
    const folded = await waitFor(async () => {
      const r = await S.runSettle(stateOf(gw), []);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const k = S.dumpLedger(stateOf(gw)).get(`key:${id}`);
      return k && k.prompt + k.completion === t1 + t2;
    }, { timeoutMs: 20000, intervalMs: 300 });
    assert.ok(folded, 'both records in the ledger');
    const settled = await chat();
    assert.equal(settled.status, 429, settled.text);
    assert.equal(usedOf(settled), t1 + t2, `settled: counted once: ${settled.json.error.message}`);
  });
});

// The router as plain CGI (one process per request) checks before the call too.
describe('CGI on a full disk', () => {
  let small;
  let mock;

  before(async () => {
    small = smallFs(1024);
    if (small.skip) return;
    mock = await startMock();
  });

  after(async () => {
    if (mock) await mock.close();
    if (small && small.unmount) small.unmount();
  });

  function cgiChat(stateDir, confPath) {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(chatBody('deepseek-chat'));
      const child = spawn(ROUTER, [], {
        env: {
          ...baseEnv(), ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY, LLMGATE_CONFIG: confPath, LLMGATE_STATE_DIR: stateDir,
          GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', REQUEST_METHOD: 'POST', REQUEST_URI: '/v1/chat/completions',
          SCRIPT_NAME: '', PATH_INFO: '/v1/chat/completions', QUERY_STRING: '', CONTENT_TYPE: 'application/json',
          CONTENT_LENGTH: String(Buffer.byteLength(body)), HTTP_AUTHORIZATION: `Bearer ${GW_KEY}`, REMOTE_ADDR: '127.0.0.1',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      child.on('error', reject);
      child.on('close', () => {
        const m = /^Status: (\d+)/m.exec(out);
        resolve({ status: m ? Number(m[1]) : 200, body: out.slice(out.indexOf('\r\n\r\n') + 4), stderr: err });
      });
      child.stdin.end(body);
    });
  }

  it('refuses with 503 before the upstream, and serves again when space returns', async (t) => {
    if (small.skip) { t.skip(small.skip); return; }
    const stateDir = path.join(small.dir, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const confPath = path.join(small.dir, 'llmgate.conf');
    fs.writeFileSync(confPath, buildConf());
    assert.equal((await cgiChat(stateDir, confPath)).status, 200);
    await fillUp(small.dir);
    const seen = mock.requests().length;
    const r = await cgiChat(stateDir, confPath);
    assert.equal(r.status, 503, r.body + r.stderr);
    assert.equal(JSON.parse(r.body).error.code, 'usage_store_unavailable');
    assert.equal(mock.requests().length, seen, 'nothing sent upstream');
    fs.rmSync(path.join(small.dir, 'filler'));
    assert.equal((await cgiChat(stateDir, confPath)).status, 200);
    const led = await (async () => {
      const r2 = await S.runSettle({ stateDir, confPath }, []);
      assert.equal(r2.code, 0, r2.stdout + r2.stderr);
      return [...S.dumpLedger({ stateDir, confPath }).entries()].filter(([k]) => k.startsWith('key:'))[0][1];
    })();
    assert.equal(led.requests, 2, 'both answered CGI requests billed');
  });
});


// The cache, the ledger and state.db on the same full disk: keys cannot be
// made but the gateway keeps answering what needs no space, settle fails
// saying why and changes nothing, and everything answered is billed once
// when space returns, cache hits included.
describe('cache, ledger and state.db on a full disk', () => {
  const ctx = gatewayOnSmallDisk(buildConf() + '[cache]\nenabled = true\n');

  it('keeps answering, refuses what needs space, and bills every answer once after', async (t) => {
    const { small } = ctx;
    const { gw } = ctx;
    if (small.skip) { t.skip(small.skip); return; }
    const body = chatBody('deepseek-chat', { messages: [{ role: 'user', content: 'cache me on a small disk' }] });
    const chat = () => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body });
    let answered = 0;
    assert.equal((await chat()).status, 200);
    answered++;
    const hit = await chat();
    assert.equal(hit.status, 200);
    assert.equal(hit.headers['x-llmgate-cache'], 'hit');
    answered++;
    const first = await S.runSettle(stateOf(gw), []);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal((await chat()).status, 200);   // unsettled when the disk fills
    answered++;

    await fillUp(small.dir);
    const made = await keysTool(gw, ['create', '--name', 'no-room']);
    assert.notEqual(made.code, 0, 'no key made without room');
    assert.ok(!made.stderr.includes(GW_KEY) && made.stderr.length > 0, made.stderr);
    const models = await request('GET', `${gw.url}/v1/models`, { headers: bearer(GW_KEY) });
    assert.equal(models.status, 200, 'what needs no space is still answered');
    const full = await chat();
    if (full.status === 200) answered++;
    else assert.equal(full.json.error.code, 'usage_store_unavailable', full.text);
    const ledgerOf = () => (fs.existsSync(stateOf(gw).ledgerPath) ? fs.readFileSync(stateOf(gw).ledgerPath) : null);
    const ledgerBefore = ledgerOf();
    const stuck = await S.runSettle(stateOf(gw), []);
    if (stuck.code !== 0) {
      assert.match(stuck.stdout + stuck.stderr, /space|cannot/i);
      assert.deepEqual(ledgerOf(), ledgerBefore, 'a failed settle leaves the ledger as it was');
    }

    fs.rmSync(path.join(small.dir, 'filler'));
    assert.equal((await chat()).status, 200, 'answers again when space returns');
    answered++;
    assert.equal((await keysTool(gw, ['create', '--name', 'room-again'])).code, 0);
    const kept = { stateDir: gw.stateDir, confPath: path.join(small.dir, 'llmgate.conf') };
    fs.copyFileSync(gw.confPath, kept.confPath);   // the gateway's folder goes with it
    ctx.gw = null;   // stopped here, not by the hook
    await gw.stop();
    const led = await settleAndTotals(kept);
    assert.equal(led.requests, answered, 'every answer billed once, the cache hit too');
    assert.equal(led.cache_hits, answered - 1, 'all but the first from the cache');
  });
});
