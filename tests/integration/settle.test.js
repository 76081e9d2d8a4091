// llmgate-settle: spool segments -> ledger.db (exact totals) -> billing
// backend (signed batches, each record once after dedup by batch_id), with
// the backend down, two runs at once, kill -9 at random moments, CGI mode.

'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { createBackend, sign } = require('../mock/backend.js');
const S = require('../lib/settle.js');
const { sleep } = require('../lib/harness.js');

const SECRET = 'settle-test-secret-0123456789';

function lines(s) {
  return s.split('\n').filter(Boolean);
}

// Ledger and backend hold exactly these records.
function assertSettled(st, backend, records) {
  assert.deepStrictEqual(S.sorted(S.ledgerTotals(S.dumpLedger(st))), S.sorted(S.expectedLedger(records)),
    'ledger totals are the exact sums of the records');
  if (backend) {
    const got = backend.records().slice().sort();
    const want = records.map((r) => r.id).sort();
    assert.deepStrictEqual(got, want, 'the backend has every record once');
    assert.deepStrictEqual(backend.duplicates().records, [], 'no record came in two different batches');
    assert.deepStrictEqual(backend.rejected(), [], 'every request was signed right');
  }
}

function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const s = fs.statSync(p);
      if (s.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

test('folds segments (a partial last line, an orphaned .open) into exact totals and pushes every record once', async () => {
  const backend = await createBackend({ secret: SECRET });
  const st = S.makeState({ conf: '[settle]\nbatch = 7\n' });
  try {
    const a = Array.from({ length: 30 }, (_, i) => S.record(i, { tag: 'a' }));
    const b = Array.from({ length: 20 }, (_, i) => S.record(i + 100, { tag: 'b' }));
    const c = Array.from({ length: 12 }, (_, i) => S.record(i + 200, { tag: 'c' }));
    S.writeSegment(st, { records: a });
    // the writer died in the middle of its last line: that line is skipped
    S.writeSegment(st, { records: b, partial: JSON.stringify(S.record(999, { tag: 'lost' })).slice(0, 40) });
    // an .open segment nobody holds a lock on: its writer is gone
    S.writeSegment(st, { records: c, suffix: '.open' });
    // an empty closed segment
    S.writeSegment(st, { records: [] });
    const all = [...a, ...b, ...c];

    const r = await S.runSettle(st, [], { env: S.backendEnv(backend, SECRET) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r.stdout).length, 1, 'exactly one summary line');
    assert.match(r.stdout, /^settle: folded 4 segments \(62 records\) into the ledger \(1 orphaned segment closed\); pushed 10 batches \(62 records\); backlog 0 records\n$/);
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), 'no secret in the output');
    assertSettled(st, backend, all);
    for (const batch of backend.batches()) {
      assert.match(batch.batch_id, /^seg-\d{13}-\d+-[0-9a-f]{8}\.\d+$/);
      assert.ok(batch.ids.length >= 1 && batch.ids.length <= 7, 'batches of at most 7 records');
    }
    assert.deepStrictEqual(S.segments(st), [], 'every segment is gone once pushed');

    // a second run has nothing to do and changes no total
    const again = await S.runSettle(st, [], { env: S.backendEnv(backend, SECRET) });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /folded 0 segments \(0 records\).*pushed 0 batches \(0 records\); backlog 0 records/);
    assertSettled(st, backend, all);
    const quiet = await S.runSettle(st, ['--quiet'], { env: S.backendEnv(backend, SECRET) });
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout, '', '--quiet says nothing when there was nothing to do');
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('without BACKEND_URL segments are deleted right after folding', async () => {
  const st = S.makeState();
  try {
    const recs = Array.from({ length: 25 }, (_, i) => S.record(i, { tag: 'nb' }));
    S.writeSegment(st, { records: recs.slice(0, 10) });
    S.writeSegment(st, { records: recs.slice(10) });
    const r = await S.runSettle(st);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^settle: folded 2 segments \(25 records\) into the ledger; no billing backend; backlog 0 records\n$/);
    assert.deepStrictEqual(S.segments(st), []);
    assertSettled(st, null, recs);
  } finally {
    st.cleanup();
  }
});

test('--dry-run reports and changes nothing', async () => {
  const backend = await createBackend({ secret: SECRET });
  const st = S.makeState({ conf: '[settle]\nbatch = 4\n' });
  try {
    const recs = Array.from({ length: 10 }, (_, i) => S.record(i, { tag: 'dry' }));
    S.writeSegment(st, { records: recs });
    const before = snapshot(st.stateDir);
    const r = await S.runSettle(st, ['--dry-run'], { env: S.backendEnv(backend, SECRET) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^settle: dry run: would fold 1 segment \(10 records\) into the ledger; would push 3 batches \(10 records\); backlog 10 records\n$/);
    assert.deepStrictEqual(snapshot(st.stateDir), before, 'not a byte changed');
    assert.equal(backend.requests(), 0, 'nothing sent');
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('backend down for a while: records stay on disk, then arrive exactly once', async () => {
  const backend = await createBackend({ secret: SECRET });
  const st = S.makeState({ conf: '[settle]\nbatch = 5\nretries = 2\n' });
  const env = S.backendEnv(backend, SECRET);
  try {
    const recs = Array.from({ length: 23 }, (_, i) => S.record(i, { tag: 'down' }));
    S.writeSegment(st, { records: recs.slice(0, 12) });
    S.writeSegment(st, { records: recs.slice(12) });

    await backend.configure({ down: 'refuse' });
    let r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 75, 'EX_TEMPFAIL while the backend is unreachable');
    assert.match(r.stdout, /^settle: folded 2 segments \(23 records\) into the ledger; pushed 0 batches \(0 records\); backend unreachable, records kept for the next run; backlog 23 records\n$/);
    assert.deepStrictEqual(S.sorted(S.ledgerTotals(S.dumpLedger(st))), S.sorted(S.expectedLedger(recs)), 'the ledger does not wait for the backend');
    let s = S.statusJson(st, env);
    assert.equal(s.settled.segments, 2);
    assert.equal(s.settled.records, 23);
    assert.equal(s.backlog_records, 23);
    assert.equal(s.last_push_ok, null);
    assert.equal(typeof s.oldest_record_age_s, 'number');
    assert.match(s.last_error, /batch seg-/);
    const text = await S.runSettle(st, ['--status'], { env });
    assert.match(text.stdout, /settled +2 segments +23 records/);
    assert.match(text.stdout, /last successful push: never/);

    // it answers, but 503
    await backend.configure({ down: '503' });
    r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 75);
    assert.equal(backend.records().length, 0);
    assert.equal(backend.requests(), 3, 'one try and two retries, then it stops for this run');

    // back, but the first answer fails and one accepted batch loses its answer
    await backend.configure({ down: false, failFirst: 1, dropAfterAccept: 1 });
    r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /folded 0 segments \(0 records\) into the ledger; pushed 6 batches \(23 records\); backlog 0 records/);
    assertSettled(st, backend, recs);
    assert.equal(backend.duplicates().batches.length, 1, 'the batch whose answer was lost came again, with the same batch_id');
    assert.deepStrictEqual(S.segments(st), []);
    s = S.statusJson(st, env);
    assert.equal(s.backlog_records, 0);
    assert.equal(typeof s.last_push_ok, 'number');
    assert.equal(s.last_error, undefined);
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('the mock backend really checks the HMAC; a wrong secret keeps the records', async () => {
  const backend = await createBackend({ secret: SECRET });
  const st = S.makeState({ conf: '[settle]\nretries = 0\n' });
  try {
    const body = JSON.stringify({ batch_id: 'b-1', source: 'llmgate', records: [{ id: 'x1' }] });
    const post = (headers) => new Promise((resolve, reject) => {
      const req = http.request(backend.url + '/internal/usage', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(body);
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const good = sign(SECRET, ts, body);
    assert.equal(await post({ 'X-Llmgate-Timestamp': ts, 'X-Llmgate-Signature': good.replace(/.$/, (c) => (c === '0' ? '1' : '0')), 'X-Llmgate-Batch-Id': 'b-1' }), 401, 'one hex digit off');
    assert.equal(await post({ 'X-Llmgate-Timestamp': ts, 'X-Llmgate-Signature': sign('other-secret', ts, body), 'X-Llmgate-Batch-Id': 'b-1' }), 401, 'other key');
    const old = String(Number(ts) - 3600);
    assert.equal(await post({ 'X-Llmgate-Timestamp': old, 'X-Llmgate-Signature': sign(SECRET, old, body), 'X-Llmgate-Batch-Id': 'b-1' }), 401, 'stale timestamp');
    assert.equal(await post({ 'X-Llmgate-Timestamp': ts, 'X-Llmgate-Signature': good, 'X-Llmgate-Batch-Id': 'b-1' }), 200, 'right signature');
    assert.deepStrictEqual(backend.records(), ['x1']);
    backend.reset();

    const recs = Array.from({ length: 3 }, (_, i) => S.record(i, { tag: 'wrong' }));
    S.writeSegment(st, { records: recs });
    const r = await S.runSettle(st, [], { env: S.backendEnv(backend, 'not-the-secret-at-all') });
    assert.equal(r.code, 75);
    assert.match(r.stdout, /; backend refused a batch \(HTTP 401\), records kept for the next run; backlog 3 records\n$/);
    assert.equal(backend.records().length, 0);
    assert.equal(backend.rejected().length, 1, 'refused once; a 401 is not retried');
    assert.match(backend.rejected()[0].reason, /bad X-Llmgate-Signature/);
    assert.ok(!r.stderr.includes('not-the-secret-at-all'), 'the secret is not logged');
    assert.equal(S.segments(st).filter((n) => n.endsWith('.settled')).length, 1, 'records kept');
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('two runs at once: one settles, the other says so and exits 0', async () => {
  const backend = await createBackend({ secret: SECRET });
  const st = S.makeState({ conf: '[settle]\nbatch = 5\n' });
  const env = S.backendEnv(backend, SECRET);
  try {
    const recs = Array.from({ length: 30 }, (_, i) => S.record(i, { tag: 'two' }));
    S.writeSegment(st, { records: recs });
    await backend.configure({ delayMs: 250 });
    const first = S.spawnSettle(st, [], { env });
    // wait until the first run is pushing (it holds the lock)
    for (let i = 0; i < 100 && backend.requests() === 0; i++) await sleep(20);
    const second = await S.runSettle(st, [], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'settle: another settle run is in progress; nothing done\n');
    const r = await first.done;
    assert.equal(r.code, 0, r.stderr);
    assertSettled(st, backend, recs);
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('kill -9 at random moments: every record counted once in the ledger and delivered once', { timeout: 50000 }, async () => {
  const backend = await createBackend({ secret: SECRET });
  // many small commits and batches, so that kills land everywhere
  const st = S.makeState({ conf: '[settle]\nbatch = 3\nretries = 1\n' });
  const env = S.backendEnv(backend, SECRET);
  const all = [];
  let n = 0;
  const addSegments = (count, per) => {
    for (let s = 0; s < count; s++) {
      const recs = Array.from({ length: per }, () => S.record(n++, { tag: 'crash' }));
      all.push(...recs);
      S.writeSegment(st, { records: recs });
    }
  };
  try {
    addSegments(150, 4);   // more than two ledger commits' worth of segments
    await backend.configure({ delayMs: 5 });
    let killed = 0;
    for (let i = 0; i < 30; i++) {
      // the router keeps writing meanwhile
      if (i % 3 === 0) addSegments(2, 3);
      const child = S.spawnSettle(st, [], { env });
      await sleep(Math.floor(Math.random() * 51));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        killed++;
      }
      const r = await child.done;
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, `run ${i}: ${r.code} ${r.stderr}`);
    }
    assert.ok(killed >= 10, `most runs were killed mid-way (${killed})`);
    const r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /backlog 0 records/);
    assertSettled(st, backend, all);
    assert.deepStrictEqual(S.segments(st), []);
    const status = S.statusJson(st, env);
    assert.equal(status.backlog_records, 0);
  } finally {
    st.cleanup();
    await backend.close();
  }
});

test('CGI mode: POST with the internal secret settles; anything else is refused', async () => {
  const st = S.makeState();
  const cgi = (method, auth, extra = {}) => S.runSettle(st, [], {
    env: { REQUEST_METHOD: method, GATEWAY_INTERFACE: 'CGI/1.1', ...(auth !== undefined ? { HTTP_AUTHORIZATION: auth } : {}), ...extra },
  });
  const parse = (out) => {
    const [head, body] = out.split('\r\n\r\n');
    return { status: Number(/^Status: (\d+)/.exec(head)[1]), head, body: JSON.parse(body) };
  };
  try {
    const recs = Array.from({ length: 8 }, (_, i) => S.record(i, { tag: 'cgi' }));
    S.writeSegment(st, { records: recs });

    let r = parse((await cgi('POST', `Bearer ${SECRET}`)).stdout);
    assert.equal(r.status, 403, 'no secret configured: settlement over HTTP is off');
    assert.equal(r.body.error.code, 'settle_disabled');

    const withSecret = { INTERNAL_SECRET: SECRET };
    r = parse((await cgi('GET', `Bearer ${SECRET}`, withSecret)).stdout);
    assert.equal(r.status, 405);
    assert.match(r.head, /Allow: POST/);
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${SECRET}x`, `Basic ${SECRET}`, `Bearer ${SECRET.slice(0, -1)}`]) {
      const out = await cgi('POST', auth, withSecret);
      r = parse(out.stdout);
      assert.equal(r.status, 401, `refused: ${auth}`);
      assert.ok(!out.stdout.includes(SECRET) && !out.stderr.includes(SECRET));
    }
    assert.equal(S.segments(st).length, 1, 'nothing settled by refused requests');

    const ok = await cgi('POST', `Bearer ${SECRET}`, withSecret);
    r = parse(ok.stdout);
    assert.equal(r.status, 200, ok.stdout + ok.stderr);
    assert.match(r.head, /Content-Type: application\/json/);
    assert.equal(r.body.folded_records, 8);
    assert.equal(r.body.pushed_records, 0);
    assert.equal(r.body.backlog, 0);
    assert.ok(!ok.stdout.includes(SECRET) && !ok.stderr.includes(SECRET));
    assertSettled(st, null, recs);
  } finally {
    st.cleanup();
  }
});
