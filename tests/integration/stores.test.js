// Stores fail closed and loudly, and keys take effect at once: state.db
// writers killed with -9 at random moments lose no earlier key; a damaged
// state.db or ledger.db is an error everywhere (the router keeps what it
// read before and says so once, llmgate-keys and llmgate-settle exit
// non-zero, a fresh router does not start), never an empty table or a zero
// total; a key created while another writer holds the store, or right
// before a burst of first requests, is accepted by every request.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, startGateway, mockEnv, keysTool, sleep, baseEnv, KEYS_TOOL, ROUTER } = require('../lib/harness.js');
const { request, chatBody, bearer } = require('../lib/client.js');
const { assertNoSecrets } = require('../lib/checks.js');
const S = require('../lib/settle.js');

const PROVIDER_KEY = 'sk-ds-SECRET-stores';

let mock;
let gw;
const made = [];   // every gateway key created: { key, id, name }

const chat = (key) => request('POST', `${gw.url}/v1/chat/completions`, { headers: bearer(key), body: chatBody('deepseek-chat') });
const statePath = () => path.join(gw.stateDir, 'state.db');
const ledgerPath = () => path.join(gw.stateDir, 'ledger.db');
const settleState = () => ({ stateDir: gw.stateDir, confPath: gw.confPath, spoolDir: path.join(gw.stateDir, 'spool') });

async function create(name, extra = []) {
  const r = await keysTool(gw, ['create', '--name', name, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const k = { key: r.stdout.trim(), id: /created key (k_[0-9a-f]+)/.exec(r.stderr)[1], name };
  made.push(k);
  return k;
}

function occurrences(text, re) {
  return (text.match(new RegExp(re, 'g')) || []).length;
}

// Zero the first 4 KiB of a file in place, or cut it in half.
function damage(file, how) {
  if (how === 'cut') {
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
  } else {
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 0);
    fs.closeSync(fd);
  }
}

// llmgate-keys create, killed with -9 after delayMs (or ending first):
// -> { killed, code, stdout, stderr }.
function createKilled(name, delayMs) {
  return new Promise((resolve) => {
    const env = { ...baseEnv(), LLMGATE_CONFIG: gw.confPath, LLMGATE_STATE_DIR: gw.stateDir };
    const child = spawn(KEYS_TOOL, ['create', '--name', name, '--tokens', '1000000'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, stdout, stderr });
    });
  });
}

before(async () => {
  mock = await startMock();
  // archive: settled segments are kept, so a damaged ledger can be rebuilt
  gw = await startGateway({ env: { ...mockEnv(mock), DEEPSEEK_API_KEY: PROVIDER_KEY }, conf: '[settle]\narchive = true\n' });
});

after(async () => {
  if (gw) {
    assertNoSecrets([gw.errorLog()], [PROVIDER_KEY, ...made.map((k) => k.key)], 'lighttpd error log');
    await gw.stop();
  }
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('state.db', () => {
  it('writers killed with -9 at random moments lose no earlier key', async () => {
    for (let i = 0; i < 17; i++) await create(`early-${i}`);
    // a copy left by a killed writer (even a torn one) is never read
    fs.writeFileSync(statePath() + '.tmp', Buffer.alloc(3000, 0x41));
    let killedMidway = 0;
    for (let round = 0; round < 40; round++) {
      const r = await createKilled(`killed-${round}`, round % 10);
      if (r.killed) killedMidway++;
      else if (r.code === 0) made.push({ key: r.stdout.trim(), id: /created key (k_[0-9a-f]+)/.exec(r.stderr)[1], name: `killed-${round}` });
      else assert.fail(`llmgate-keys create failed without being killed: ${r.stderr}`);
      const list = await keysTool(gw, ['list']);
      assert.equal(list.code, 0, `round ${round}: ${list.stderr}`);
      for (const k of made) assert.ok(list.stdout.includes(k.id), `round ${round}: ${k.name} (${k.id}) still listed`);
    }
    assert.ok(killedMidway > 0, 'some writers were killed before they finished');
    for (const k of made) {
      const res = await chat(k.key);
      assert.equal(res.status, 200, `${k.name}: ${res.text}`);
    }
    const v = await S.runSettle(settleState(), ['--verify']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /state\.db: ok, \d+ keys/);
    assert.equal(occurrences(gw.errorLog(), 'not reloaded'), 0, 'the router never failed to read state.db');
  });

  it('a key created while another writer holds the store is accepted at its first request', async () => {
    const earlier = await create('before-the-lock');
    // another program holds state.db.lock for 0.6 s
    const holder = spawn('flock', [statePath() + '.lock', 'sleep', '0.6'], { stdio: 'ignore' });
    const held = new Promise((resolve) => holder.once('close', resolve));
    await sleep(100);
    // readers never wait for a writer: a key created before works meanwhile
    for (let i = 0; i < 4; i++) {
      const res = await chat(earlier.key);
      assert.equal(res.status, 200, res.text);
    }
    const k = await create('during-the-lock');   // waits for the lock, then commits
    await held;
    const res = await chat(k.key);
    assert.equal(res.status, 200, `the first request after creation: ${res.text}`);
  });

  it('40 first requests right after creation are all accepted', async () => {
    for (let round = 0; round < 3; round++) {
      const k = await create(`burst-${round}`);
      const answers = await Promise.all(Array.from({ length: 40 }, () => chat(k.key)));
      const statuses = answers.map((a) => a.status);
      assert.deepStrictEqual(statuses, Array(40).fill(200), `round ${round}`);
    }
  });

  for (const how of ['zero', 'cut']) {
    const what = how === 'zero' ? 'first 4 KiB zeroed' : 'cut in half';
    it(`${what}: the router keeps its keys and says so once, llmgate-keys fails loudly, a new router does not start`, async () => {
      const good = fs.readFileSync(statePath());
      const logBefore = gw.errorLog().length;
      damage(statePath(), how);
      // the housekeeping tick notices; keys read before stay
      await sleep(700);
      for (const k of made.slice(0, 5)) {
        const res = await chat(k.key);
        assert.equal(res.status, 200, `${k.name}: ${res.text}`);
      }
      for (let i = 0; i < 5; i++) assert.equal((await chat(`sk-lg-unknown-${i}`)).status, 401);
      const log = gw.errorLog().slice(logBefore);
      assert.equal(occurrences(log, 'gateway keys not reloaded'), 1, `logged once:\n${log}`);
      assert.match(log, /state\.db.*damaged/);

      const list = await keysTool(gw, ['list']);
      assert.notEqual(list.code, 0, 'list fails');
      assert.match(list.stderr, /state\.db.*damaged/);
      for (const k of made) assert.ok(!list.stdout.includes(k.id), 'no partial list');
      const c = await keysTool(gw, ['create', '--name', 'on-damage']);
      assert.notEqual(c.code, 0, 'create fails');
      assert.match(c.stderr, /damaged/);
      assert.equal(c.stdout, '', 'no key printed');
      const rv = await keysTool(gw, ['revoke', made[0].id]);
      assert.notEqual(rv.code, 0, 'revoke fails');

      const v = await S.runSettle(settleState(), ['--verify']);
      assert.equal(v.code, 65, v.stdout);
      assert.match(v.stdout, /state\.db: DAMAGED/);

      // a router started now (CGI: a fresh process per request) refuses
      const cgi = await cgiRequest(made[0].key);
      assert.equal(cgi.status, 500, cgi.raw);
      assert.match(cgi.stderr, /state\.db.*damaged/);

      // repaired (the copy put back): read again, keys work, said once
      fs.writeFileSync(statePath() + '.repair', good, { mode: 0o600 });
      fs.renameSync(statePath() + '.repair', statePath());
      await sleep(700);
      for (const k of made.slice(-3)) assert.equal((await chat(k.key)).status, 200);
      assert.match(gw.errorLog().slice(logBefore), /can be read again/);
    });
  }
});

// One request to the router run as CGI with the gateway's state.
function cgiRequest(key) {
  return new Promise((resolve) => {
    const body = JSON.stringify(chatBody('deepseek-chat'));
    const env = {
      ...baseEnv(), ...mockEnv(mock), DEEPSEEK_API_KEY: PROVIDER_KEY,
      LLMGATE_CONFIG: gw.confPath, LLMGATE_STATE_DIR: gw.stateDir,
      GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', REQUEST_METHOD: 'POST',
      REQUEST_URI: '/v1/chat/completions', SCRIPT_NAME: '', PATH_INFO: '/v1/chat/completions', QUERY_STRING: '',
      CONTENT_LENGTH: String(Buffer.byteLength(body)), CONTENT_TYPE: 'application/json', HTTP_AUTHORIZATION: `Bearer ${key}`,
      REMOTE_ADDR: '127.0.0.1',
    };
    const child = spawn(ROUTER, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let raw = '';
    let stderr = '';
    child.stdout.on('data', (d) => { raw += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('close', () => {
      clearTimeout(timer);
      const m = /^Status: (\d{3})/m.exec(raw);
      resolve({ status: m ? Number(m[1]) : 0, raw, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(body);
  });
}

describe('ledger.db', () => {
  it('damaged: a spent key stays refused, an unchecked key with a budget gets 503, settle exits 65 and overwrites nothing', async () => {
    const spent = await create('spent', ['--tokens', '100']);
    const free = await create('free');
    // the ledger says "spent" used 500 tokens, and holds enough keys to span blocks
    const st = settleState();
    const recs = [{ ...S.record(1, { tag: 'spent' }), key_id: spent.id, ts: Date.now(), prompt: 400, completion: 100 }];
    for (let i = 0; i < 300; i++) recs.push({ ...S.record(i + 10, { tag: 'fill' }), key_id: `k_fill${i}`, ts: Date.now() });
    S.writeSegment(st, { records: recs });
    const r = await S.runSettle(st);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await sleep(400);
    let res = await chat(spent.key);
    assert.equal(res.status, 429, res.text);
    assert.equal(res.json.error.code, 'insufficient_quota');

    for (const how of ['zero', 'cut']) {
      // a key whose totals the router has not read yet
      const fresh = await create(`fresh-${how}`, ['--tokens', '1000000']);
      const logBefore = gw.errorLog().length;
      damage(ledgerPath(), how);
      await sleep(400);
      res = await chat(spent.key);
      assert.equal(res.status, 429, `${how}: the spent key is still refused: ${res.text}`);
      res = await chat(fresh.key);
      assert.equal(res.status, 503, `${how}: no totals to check the budget against: ${res.text}`);
      assert.equal(res.json.error.code, 'ledger_unavailable');
      assert.equal((await chat(free.key)).status, 200, `${how}: a key without budgets is served`);
      res = await chat(fresh.key);
      assert.equal(res.status, 503);
      const log = gw.errorLog().slice(logBefore);
      assert.equal(occurrences(log, 'ledger\\.db cannot be read'), 1, `${how}: logged once:\n${log}`);

      // settle: a new segment is waiting; nothing is folded over the damage
      const seg = S.writeSegment(st, { records: [{ ...S.record(900, { tag: how }), key_id: free.id }] });
      const damaged = fs.readFileSync(ledgerPath());
      const s = await S.runSettle(st);
      assert.equal(s.code, 65, s.stdout + s.stderr);
      assert.match(s.stderr, /ledger\.db.*nothing folded or pushed/);
      assert.ok(fs.readFileSync(ledgerPath()).equals(damaged), `${how}: the damaged ledger is left as it was`);
      assert.ok(fs.existsSync(path.join(st.spoolDir, seg + '.ready')), `${how}: the segment waits`);
      const v = await S.runSettle(st, ['--verify']);
      assert.equal(v.code, 65);
      assert.match(v.stdout, /ledger\.db: DAMAGED/);
      assert.match(v.stdout, /state\.db: ok/);

      // recovery: the ledger rebuilt from the archived segments; settle
      // then folds the waiting segment; "fresh" is served again and
      // "spent" is still refused (its usage is in the archive)
      const rb = await S.runSettle(st, ['--rebuild-ledger']);
      assert.equal(rb.code, 0, rb.stdout + rb.stderr);
      assert.match(rb.stdout, /rebuilt .*ledger\.db from [1-9]\d* archived/);
      assert.ok(fs.readdirSync(gw.stateDir).some((n) => n.startsWith('ledger.db.damaged-')), 'the damaged file is kept');
      assert.equal((await S.runSettle(st, ['--verify'])).code, 0);
      const again = await S.runSettle(st);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /folded [1-9]\d* segments? /);
      assert.ok(!fs.existsSync(path.join(st.spoolDir, seg + '.ready')), `${how}: the waiting segment is folded now`);
      await sleep(400);
      assert.equal((await chat(fresh.key)).status, 200);
      res = await chat(spent.key);
      assert.equal(res.status, 429);
      assert.match(res.json.error.message, /\((5\d\d) of 100 tokens\)/, 'the rebuilt total');
    }
  });
});
