// Usage accounting end to end: a mixed batch through lighttpd and the
// router to the mock upstream, then llmgate-settle to the mock billing
// backend. The ledger and the backend must hold exactly what the upstream
// reported, record for record; estimates only where the upstream reported
// nothing; and a kill -9 loop on the router and on settle while traffic
// runs must leave every completed request settled exactly once.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv, keysTool, sleep } = require('../lib/harness.js');
const { request, stream, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { createBackend } = require('../mock/backend.js');
const S = require('../lib/settle.js');

const GW_KEY = 'gk-acct-0123456789abcdef';
const SECRET = 'internal-secret-for-accounting-tests';
const PROVIDER_ENV = {
  DEEPSEEK_API_KEY: 'sk-ds-acct-0001', MOONSHOT_API_KEY: 'sk-moon-acct-0001',
  ZAI_API_KEY: 'sk-zai-acct-0001', OPENAI_API_KEY: 'sk-oai-acct-0001',
};

// The settle-side view of a gateway's folders.
function stateOf(gw) {
  return { stateDir: gw.stateDir, confPath: gw.confPath, spoolDir: `${gw.stateDir}/spool`, ledgerPath: `${gw.stateDir}/ledger.db` };
}

// What the mock reported for an upstream request, in usage-record terms.
function reported(u) {
  const cached = u.prompt_cache_hit_tokens ?? u.prompt_tokens_details?.cached_tokens ?? u.cached_tokens ?? 0;
  return { prompt: u.prompt_tokens, completion: u.completion_tokens, cached, reasoning: u.completion_tokens_details?.reasoning_tokens ?? 0 };
}

function uniqueRecords(backend) {
  const m = new Map();
  for (const r of backend.recordBodies()) m.set(r.id, r);
  return m;
}

describe('a mixed batch, settled', () => {
  let mock;
  let backend;
  let gw;
  const sent = [];   // { kind, id } of every request sent
  let diag = '';

  before(async () => {
    mock = await startMock();
    backend = await createBackend({ port: 0, secret: SECRET });
    gw = await startGateway({
      env: { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY },
      conf: buildConf() + '[cache]\nenabled = true\n',
    });
    const chat = (model, extra, headers = {}) =>
      request('POST', `${gw.url}/v1/chat/completions`, { headers: { ...bearer(GW_KEY), ...headers }, body: chatBody(model, extra) });
    const sse = (model, extra, opts = {}) =>
      stream(`${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody(model, { stream: true, ...extra }), ...opts });
    const note = (kind, res) => sent.push({ kind, id: res.headers['x-request-id'], res });

    const models = ['deepseek-chat', 'deepseek-reasoner', 'kimi-k2.5', 'glm-5', 'gpt-4o'];
    for (const [i, m] of models.entries()) {
      note('plain', await chat(m, { messages: [{ role: 'user', content: `plain question number ${i} ${'x'.repeat(i * 40)}` }] }));
    }
    for (const [i, m] of models.entries()) {
      note('stream', await sse(m, { messages: [{ role: 'user', content: `stream question ${i}` }], stream_options: { include_usage: i % 2 === 0 } }));
    }
    note('cut', await sse('deepseek/cut-stream'));
    note('cut', await sse('moonshot/cut-stream'));
    note('gone', await sse('deepseek/trickle', {}, { stopAfter: 1 }));
    note('gone', await sse('zai/trickle', {}, { stopAfter: 2 }));
    note('client-error', await chat('deepseek/error-400'));
    note('upstream-error', await chat('deepseek/error-500'));
    // the same questions again: answered from the cache
    note('hit', await chat('deepseek-chat', { messages: [{ role: 'user', content: 'plain question number 0 ' }] }));
    note('hit', await chat('kimi-k2.5', { messages: [{ role: 'user', content: `plain question number 2 ${'x'.repeat(80)}` }] }));
    // the router stops (SIGTERM): it closes its spool segment
    await sleep(300);
    await gw.halt();
    // settle takes a segment once no process holds it: wait (bounded) until
    // none does, and say who did if one still does
    const spoolDir = path.join(gw.stateDir, 'spool');
    const holders = () => {
      const h = [];
      for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
            const t = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
            if (t.startsWith(spoolDir)) h.push(`${pid} ${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()} ${t}`);
          }
        } catch { /* gone or not ours */ }
      }
      return h;
    };
    for (let i = 0; i < 200 && holders().length; i++) await sleep(50);
    const held = holders();
    const r = await S.runSettle(stateOf(gw), [], { env: { BACKEND_URL: backend.url, INTERNAL_SECRET: SECRET } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    diag = `spool: ${fs.readdirSync(spoolDir).join(' ')}\nheld before settle: ${held.join('; ') || 'by none'}\nsettle: ${r.stdout}${r.stderr}\nlog:\n${gw.errorLog().split('\n').slice(-15).join('\n')}`;
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
    if (backend) await backend.close();
  });

  it('the answers were what each case calls for', () => {
    for (const s of sent) {
      assert.ok(s.id, `${s.kind}: the answer carries X-Request-Id`);
      if (s.kind === 'plain' || s.kind === 'stream' || s.kind === 'cut' || s.kind === 'gone') assert.equal(s.res.status, 200, s.kind);
      if (s.kind === 'hit') assert.equal(s.res.headers['x-llmgate-cache'], 'hit');
    }
    assert.equal(sent.find((s) => s.kind === 'client-error').res.status, 400);
    assert.equal(sent.find((s) => s.kind === 'upstream-error').res.status, 502);
  });

  it('the backend got every request once, and nothing else', () => {
    const recs = uniqueRecords(backend);
    assert.deepEqual([...recs.keys()].sort(), sent.map((s) => s.id).sort());
    assert.equal(backend.duplicates().records.length, 0);
  });

  it('record for record, the tokens are what the upstream reported', () => {
    const recs = uniqueRecords(backend);
    for (const s of sent) {
      const rec = recs.get(s.id);
      const ups = mock.requests().filter((q) => q.headers['x-request-id'] === s.id);
      const last = ups.at(-1);
      if (s.kind === 'hit') {
        assert.equal(ups.length, 0, 'a hit costs nothing upstream');
        assert.equal(rec.cache_hit, true);
        assert.deepEqual([rec.prompt, rec.completion, rec.cost], [0, 0, 0]);
        continue;
      }
      assert.ok(last, `${s.kind}: the upstream saw request ${s.id}`);
      if (last.usageReported) {
        assert.deepEqual({ prompt: rec.prompt, completion: rec.completion, cached: rec.cached, reasoning: rec.reasoning },
          reported(last.usageReported), `${s.kind} ${rec.model}`);
        assert.equal(rec.estimated, false);
      } else if (rec.status === 200) {
        assert.equal(rec.estimated, true, `${s.kind}: no usage reported, so the record says it estimated`);
      } else {
        assert.deepEqual([rec.prompt, rec.completion, rec.estimated], [0, 0, false], `${s.kind}: no tokens for an error`);
      }
      assert.equal(rec.key_id.startsWith('env-'), true);
      assert.ok(!JSON.stringify(rec).includes(GW_KEY) && !Object.values(PROVIDER_ENV).some((k) => JSON.stringify(rec).includes(k)));
    }
    for (const s of sent.filter((x) => x.kind === 'gone')) assert.equal(recs.get(s.id).client_gone, true);
    for (const s of sent.filter((x) => x.kind === 'cut')) assert.equal(recs.get(s.id).estimated, true);
    const costs = sent.filter((x) => x.kind === 'plain').map((x) => recs.get(x.id).cost);
    assert.ok(costs.every((c) => c > 0), 'built-in prices give every plain request a cost');
  });

  it('the ledger holds exactly the records, summed', () => {
    const recs = [...uniqueRecords(backend).values()];
    const dump = S.dumpLedger(stateOf(gw));
    assert.deepEqual(S.sorted(S.ledgerTotals(dump)), S.sorted(S.expectedLedger(recs)));
    const key = dump.get(`key:${recs[0].key_id}`);
    const upstreamPrompt = mock.requests().filter((q) => q.usageReported).reduce((n, q) => n + q.usageReported.prompt_tokens, 0);
    const estPrompt = recs.filter((r) => r.estimated).reduce((n, r) => n + r.prompt, 0);
    assert.equal(key.prompt, upstreamPrompt + estPrompt, 'reported plus estimated, nothing more');
    assert.equal(key.requests, sent.length);
    assert.equal(key.cache_hits, 2);
    assert.equal(key.errors, 2);
  });

  it('nothing is left to settle', () => {
    const st = S.statusJson(stateOf(gw), { BACKEND_URL: backend.url, INTERNAL_SECRET: SECRET });
    assert.equal(JSON.stringify(st).match(/"records":\s*[1-9]/), null, `${JSON.stringify(st)}\n${diag}`);
  });
});

describe('kill -9 of the router and of settle while traffic and settlement run', () => {
  let mock;
  let backend;
  let gw;

  before(async () => {
    mock = await startMock();
    backend = await createBackend({ port: 0, secret: SECRET });
    backend.configure({ delayMs: 5 });
    gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY }, conf: buildConf() });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
    if (backend) await backend.close();
  });

  it('every completed request is settled exactly once', async () => {
    const completed = new Set();
    const env = { BACKEND_URL: backend.url, INTERNAL_SECRET: SECRET };
    let running = true;
    let routerKills = 0;
    let settleKills = 0;
    let n = 0;
    const client = async () => {
      while (running) {
        n += 1;
        const i = n;
        try {
          if (i % 3 === 0) {
            const r = await stream(`${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('glm-5', { stream: true }), timeoutMs: 5000 });
            if (r.status === 200 && r.done) completed.add(r.headers['x-request-id']);
          } else {
            const r = await request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat', { messages: [{ role: 'user', content: `q${i}` }] }), timeoutMs: 5000 });
            if (r.status === 200 && r.json && r.json.choices) completed.add(r.headers['x-request-id']);
          }
        } catch { /* a killed router: not completed */ }
      }
    };
    const killer = async () => {
      while (running) {
        await sleep(150 + Math.floor(Math.random() * 350));
        for (const pid of gw.routerPids()) {
          try { process.kill(pid, 'SIGKILL'); routerKills += 1; } catch { /* gone */ }
        }
      }
    };
    const settler = async () => {
      while (running) {
        const child = S.spawnSettle(stateOf(gw), [], { env });
        const t = setTimeout(() => { child.kill('SIGKILL'); settleKills += 1; }, Math.floor(Math.random() * 50));
        await child.done;
        clearTimeout(t);
        await sleep(50);
      }
    };
    // 6 s of it, longer (up to 20 s more) until the router was killed three
    // times: under load lighttpd may take a while to start the next one
    const deadline = Date.now() + 6000;
    const tasks = [client(), client(), client(), killer(), settler()];
    while (Date.now() < deadline || (routerKills < 3 && Date.now() < deadline + 20000)) await sleep(100);
    running = false;
    await Promise.all(tasks);
    await gw.halt();
    // settle to the end: twice, the second finds nothing
    for (let i = 0; i < 2; i++) {
      const r = await S.runSettle(stateOf(gw), [], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    assert.ok(routerKills >= 3, `the router was killed ${routerKills} times`);
    assert.ok(completed.size >= 20, `enough traffic completed (${completed.size})`);
    const recs = uniqueRecords(backend);
    for (const id of completed) assert.ok(recs.has(id), `completed request ${id} was settled\n${gw.errorLog().split('\n').filter((l) => l.includes(id)).join('\n')}`);
    assert.equal(backend.duplicates().records.length, 0, 'no record twice at the backend');
    const dump = S.dumpLedger(stateOf(gw));
    assert.deepEqual(S.sorted(S.ledgerTotals(dump)), S.sorted(S.expectedLedger([...recs.values()])),
      'the ledger counts every settled record once');
    process.stdout.write(`# ${completed.size} completed, ${recs.size} settled, router killed ${routerKills}x, settle killed ${settleKills}x\n`);
  });
});

describe('quotas through the router', () => {
  let mock;
  let gw;
  const chat = (key, model = 'deepseek-chat') =>
    request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(key), body: chatBody(model) });

  before(async () => {
    mock = await startMock();
    gw = await startGateway({ env: { ...mockEnv(mock), ...PROVIDER_ENV }, conf: buildConf() });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  // A new key, used once: { key, id, tokens (what that first answer used) }.
  async function newKey(args) {
    const r = await keysTool(gw, ['create', '--name', 'q', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const key = r.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(r.stderr)[1];
    let res;
    for (let i = 0; i < 40; i++) {
      res = await chat(key);
      if (res.status !== 401) break;
      await sleep(50);
    }
    assert.equal(res.status, 200);
    return { key, id, tokens: res.json.usage.total_tokens };
  }

  it('a token budget admits a request only when its worst case fits, and settling does not count twice', async () => {
    const { key, id, tokens } = await newKey([]);
    // the worst case the router reserves: the body's bytes plus max_tokens
    const body = chatBody('deepseek-chat', { max_tokens: 20 });
    const worst = Buffer.byteLength(JSON.stringify(body)) + 20;
    const send = () => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(key), body });
    const budget = tokens + worst;
    assert.equal((await keysTool(gw, ['set', id, '--tokens', String(budget)])).code, 0);
    await sleep(400);
    const upstreamBefore = mock.requests().length;
    const second = await send();
    assert.equal(second.status, 200, 'the second request fits the budget exactly');
    const used = tokens + second.json.usage.total_tokens;
    const refused = await send();
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'insufficient_quota');
    assert.ok(refused.json.error.message.includes(`up to ${worst} tokens`), refused.json.error.message);
    assert.ok(refused.json.error.message.includes(`(${used} used or reserved of ${budget})`), refused.json.error.message);
    assert.equal(mock.requests().length, upstreamBefore + 1, 'the refused request never went upstream');
    // settle: the same total, now from the ledger, not twice it
    await sleep(5500);   // the router closes its spool segment
    const r = await S.runSettle(stateOf(gw), []);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /folded/);
    await sleep(400);
    const again = await send();
    assert.equal(again.status, 429);
    assert.ok(again.json.error.message.includes(`(${used} used or reserved of ${budget})`), again.json.error.message);
    // a larger budget lets the key go on at once
    assert.equal((await keysTool(gw, ['set', id, '--tokens', String(used + worst)])).code, 0);
    await sleep(400);
    assert.equal((await send()).status, 200);
    // spent in full: the plain message
    assert.equal((await keysTool(gw, ['set', id, '--tokens', String(used)])).code, 0);
    await sleep(400);
    const spent = await chat(key);
    assert.equal(spent.status, 429);
    assert.ok(spent.json.error.message.includes(`(${used} of ${used} tokens)`) || /of \d+ tokens\)/.test(spent.json.error.message), spent.json.error.message);
  });

  it('a model outside the allow-list is refused', async () => {
    const { key } = await newKey(['--models', 'deepseek-*']);
    const res = await chat(key, 'kimi-k2.5');
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'model_not_allowed');
  });

  it('a rate limit refuses, says when it resets, and resets on time', async () => {
    const { key } = await newKey(['--rpm', '2']);
    // newKey spent one; one more fits
    assert.equal((await chat(key)).status, 200);
    const refused = await chat(key);
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'rate_limit_exceeded');
    const wait = Number(refused.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    assert.match(refused.json.error.message, new RegExp(`resets in ${wait} s`));
    await sleep(wait * 1000 + 300);
    // once the window passed, allowed again (a loaded machine may answer a
    // moment late: a bounded wait, never a refusal before the reset)
    let last;
    const again = await waitFor(async () => (last = await chat(key)).status === 200, { timeoutMs: 5000, intervalMs: 250 });
    assert.ok(again, `allowed again once the window passed: ${last && last.status} ${last && last.text}`);
  });
});

describe('the response cache through the router', () => {
  let mock;
  let gw;
  let gw2;
  const keyA = 'gk-cache-a-0123456789';
  const keyB = 'gk-cache-b-0123456789';
  const ask = (g, key, content, headers = {}) =>
    request('POST', `${g.url}/v1/chat/completions`, { headers: { ...bearer(key), ...headers }, body: chatBody('deepseek-chat', { messages: [{ role: 'user', content }] }) });

  before(async () => {
    mock = await startMock();
    const env = { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: `${keyA},${keyB}` };
    gw = await startGateway({ env, conf: buildConf() + '[cache]\nenabled = true\nttl_s = 2\nmax_bytes = 8192\n' });
    gw2 = await startGateway({ env, conf: buildConf() + '[cache]\nenabled = true\nper_key = true\n' });
  });

  after(async () => {
    for (const g of [gw, gw2]) if (g) await g.stop();
    if (mock) await mock.close();
  });

  it('miss, then hit with the same body and no upstream request', async () => {
    const a = await ask(gw, keyA, 'cache me');
    assert.equal(a.headers['x-llmgate-cache'], 'miss');
    const before = mock.requests().length;
    const b = await ask(gw, keyA, 'cache me');
    assert.equal(b.headers['x-llmgate-cache'], 'hit');
    assert.deepEqual(b.json, a.json);
    assert.equal(mock.requests().length, before);
  });

  it('a streaming request is answered from a cached answer', async () => {
    const r = await stream(`${gw.url}/v1/chat/completions`, { headers: bearer(keyA), body: chatBody('deepseek-chat', { stream: true, messages: [{ role: 'user', content: 'cache me' }] }) });
    assert.equal(r.headers['x-llmgate-cache'], 'hit');
    assert.ok(r.done);
    const text = r.events.map((e) => e.json?.choices?.[0]?.delta?.content || '').join('');
    assert.match(text, /Hello from deepseek mock/);
  });

  it('Cache-Control: no-cache bypasses it', async () => {
    const before = mock.requests().length;
    const r = await ask(gw, keyA, 'cache me', { 'Cache-Control': 'no-cache' });
    assert.equal(r.headers['x-llmgate-cache'], 'bypass');
    assert.equal(mock.requests().length, before + 1);
  });

  it('entries expire after the TTL', async () => {
    await ask(gw, keyA, 'short lived');
    assert.equal((await ask(gw, keyA, 'short lived')).headers['x-llmgate-cache'], 'hit');
    await sleep(2200);
    assert.equal((await ask(gw, keyA, 'short lived')).headers['x-llmgate-cache'], 'miss');
  });

  it('old entries are evicted under the size cap', async () => {
    for (let i = 0; i < 40; i++) await ask(gw, keyA, `filler ${i}`);
    assert.equal((await ask(gw, keyA, 'filler 39')).headers['x-llmgate-cache'], 'hit', 'the newest stays');
    assert.equal((await ask(gw, keyA, 'filler 0')).headers['x-llmgate-cache'], 'miss', 'the oldest went');
  });

  it('shared between keys by default, kept apart with per_key', async () => {
    await ask(gw, keyA, 'shared?');
    assert.equal((await ask(gw, keyB, 'shared?')).headers['x-llmgate-cache'], 'hit');
    await ask(gw2, keyA, 'mine');
    assert.equal((await ask(gw2, keyA, 'mine')).headers['x-llmgate-cache'], 'hit');
    assert.equal((await ask(gw2, keyB, 'mine')).headers['x-llmgate-cache'], 'miss');
  });
});
