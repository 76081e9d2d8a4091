// Budgets and tokens-per-minute limits under concurrency. A request
// reserves its worst case (body bytes + max_tokens) before it goes
// upstream, in counters every router process of the state folder shares,
// so 40 requests at once never spend more than the budget: through one
// router process, two (lighttpd max-procs 2), and as CGI (a process per
// request). A killed router's reservations go with it.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, keysTool, baseEnv, ROUTER } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const S = require('../lib/settle.js');

const PROVIDER_ENV = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-budget', OPENAI_API_KEY: 'sk-oa-SECRET-budget' };
const MAX_OUT = 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The body every request sends, and the worst case the router reserves for it.
function bodyFor(model) {
  const body = chatBody(model, { max_tokens: MAX_OUT });
  return { body, worst: Buffer.byteLength(JSON.stringify(body)) + MAX_OUT };
}

// A new key with limits; with gw, once the router knows it (asked on a
// route that spends nothing).
async function newKey(target, args, gw) {
  const r = await keysTool(target, ['create', '--name', 'budget', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const key = r.stdout.trim();
  if (gw) await waitFor(async () => (await request('GET', `${gw.url}/v1/models`, { headers: bearer(key) })).status === 200, { timeoutMs: 5000 });
  return { key, id: /created key (k_[0-9a-f]+)/.exec(r.stderr)[1] };
}

// n requests at once; -> { served: [answers 200], refused: [answers 429] }
async function burst(url, key, body, n) {
  const all = await Promise.all(Array.from({ length: n }, () =>
    request('POST', url, { headers: bearer(key), body })));
  const served = all.filter((r) => r.status === 200);
  const refused = all.filter((r) => r.status !== 200);
  for (const r of refused) {
    assert.equal(r.status, 429, JSON.stringify(r.json));
    assert.ok(['insufficient_quota', 'rate_limit_exceeded'].includes(r.json.error.code), r.json.error.code);
  }
  return { served, refused };
}

const stateIn = (t) => ({ stateDir: t.stateDir, confPath: t.confPath, spoolDir: `${t.stateDir}/spool`, ledgerPath: `${t.stateDir}/ledger.db` });
const spent = (answers) => answers.reduce((n, r) => n + r.json.usage.total_tokens, 0);

// What the ledger holds for key id once everything is settled.
async function settledTokens(stateOf, id) {
  await sleep(5500);   // routers close their spool segments
  const r = await S.runSettle(stateOf, []);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const t = S.ledgerTotals(S.dumpLedger(stateOf)).get(`key:${id}`);
  return t ? t.prompt + t.completion : 0;
}

for (const maxProcs of [1, 2]) {
  describe(`40 requests at once, ${maxProcs} router process${maxProcs > 1 ? 'es' : ''}`, () => {
    let mock;
    let gw;
    const url = () => `${gw.url}/v1/chat/completions`;
    const stateOf = () => stateIn(gw);

    before(async () => {
      mock = await startMock();
      // slow answers: the requests overlap, and spread over both processes
      mock.configure({ delayMs: 300 });
      gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf: buildConf({ server: { threads: 8 } }), maxProcs });
    });

    after(async () => {
      if (gw) await gw.stop();
      if (mock) await mock.close();
    });

    it('a token budget is never exceeded', async () => {
      const { body, worst } = bodyFor('openai/slow-first-byte');
      const budget = 5 * worst;
      const { key, id } = await newKey(gw, ['--tokens', String(budget)], gw);
      const before = mock.requests().length;
      const { served, refused } = await burst(url(), key, body, 40);
      assert.ok(served.length >= 5, `at least what fits at once was served (${served.length})`);
      assert.ok(refused.length > 0, 'the rest was refused');
      assert.ok(spent(served) <= budget, `served ${spent(served)} tokens of a ${budget}-token budget`);
      assert.equal(mock.requests().length - before, served.length, 'refused requests never went upstream');
      const ledger = await settledTokens(stateOf(), id);
      assert.equal(ledger, spent(served), 'the ledger holds what was served');
      assert.ok(ledger <= budget);
    });

    it('a tokens-per-minute limit holds while requests are in flight', async () => {
      const { body, worst } = bodyFor('openai/slow-first-byte');
      const tpm = 4 * worst;
      const { key } = await newKey(gw, ['--tpm', String(tpm)], gw);
      const { served, refused } = await burst(url(), key, body, 40);
      assert.ok(served.length >= 4, `what fits at once was served (${served.length})`);
      assert.ok(refused.some((r) => r.json.error.code === 'rate_limit_exceeded'));
      assert.ok(spent(served) <= tpm, `served ${spent(served)} tokens in the minute, limit ${tpm}`);
    });
  });
}

describe('reservations of a killed router', () => {
  let mock;
  let gw;
  const url = () => `${gw.url}/v1/chat/completions`;

  before(async () => {
    mock = await startMock();
    mock.configure({ delayMs: 30000 });
    gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf: buildConf({ server: { threads: 4 } }) });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('go with it: the budget is free again for the next process', async () => {
    const { body, worst } = bodyFor('openai/slow-first-byte');
    const { key } = await newKey(gw, ['--tokens', String(2 * worst)], gw);
    const hanging = [0, 1].map(() => request('POST', url(), { headers: bearer(key), body, timeoutMs: 20000 }).catch((e) => e));
    await waitFor(() => mock.requests().length >= 2, { timeoutMs: 10000 });
    const third = await request('POST', url(), { headers: bearer(key), body });
    assert.equal(third.status, 429, 'two in flight hold the whole budget');
    assert.equal(third.json.error.code, 'insufficient_quota');
    const pids = gw.routerPids();
    assert.ok(pids.length >= 1);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await Promise.all(hanging);
    mock.configure({ delayMs: 10 });
    // lighttpd starts a new router; the dead one's reservations are dropped
    let res;
    for (let i = 0; i < 100; i++) {
      res = await request('POST', url(), { headers: bearer(key), body });
      if (res.status === 200) break;
      await sleep(100);
    }
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });
});

describe('as CGI: a process per request', () => {
  let mock;
  let dir;
  let target;

  before(async () => {
    mock = await startMock();
    mock.configure({ delayMs: 300 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-budget-cgi-'));
    const stateDir = path.join(dir, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const confPath = path.join(dir, 'llmgate.conf');
    fs.writeFileSync(confPath, buildConf());
    target = { dir, stateDir, confPath };
  });

  after(async () => {
    if (mock) await mock.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function cgiChat(key, body) {
    return new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const env = {
        ...baseEnv(), ...mockEnv(mock), ...PROVIDER_ENV,
        LLMGATE_CONFIG: target.confPath, LLMGATE_STATE_DIR: target.stateDir,
        GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', REQUEST_METHOD: 'POST',
        REQUEST_URI: '/v1/chat/completions', SCRIPT_NAME: '', PATH_INFO: '/v1/chat/completions',
        QUERY_STRING: '', REMOTE_ADDR: '127.0.0.1', CONTENT_TYPE: 'application/json',
        CONTENT_LENGTH: String(Buffer.byteLength(text)), HTTP_AUTHORIZATION: `Bearer ${key}`,
      };
      const child = spawn(ROUTER, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out = [];
      child.stdout.on('data', (d) => out.push(d));
      child.stderr.on('data', () => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(timer);
        const raw = Buffer.concat(out).toString('utf8');
        const m = /\r?\n\r?\n/.exec(raw);
        const status = Number((/^Status: (\d{3})/m.exec(raw.slice(0, m ? m.index : raw.length)) || [0, 200])[1]);
        let json = null;
        try { json = JSON.parse(m ? raw.slice(m.index + m[0].length) : ''); } catch { /* not JSON */ }
        resolve({ status, json });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(text);
    });
  }

  it('eight processes at once do not exceed a budget two of them fill', async () => {
    const { body, worst } = bodyFor('openai/slow-first-byte');
    const budget = 2 * worst;
    const { key, id } = await newKey(target, ['--tokens', String(budget)]);
    const before = mock.requests().length;
    const all = await Promise.all(Array.from({ length: 8 }, () => cgiChat(key, body)));
    const served = all.filter((r) => r.status === 200);
    for (const r of all.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'insufficient_quota');
    }
    assert.ok(served.length >= 2, `what fits at once was served (${served.length})`);
    assert.ok(spent(served) <= budget, `served ${spent(served)} of ${budget}`);
    assert.equal(mock.requests().length - before, served.length);
    // unsettled usage of ended processes counts: the next process sees it
    const next = await cgiChat(key, body);
    const left = budget - spent(served);
    assert.equal(next.status, left >= worst ? 200 : 429);
    const ledger = await settledTokens(stateIn(target), id);
    assert.equal(ledger, spent(served) + (next.status === 200 ? next.json.usage.total_tokens : 0));
  });
});
