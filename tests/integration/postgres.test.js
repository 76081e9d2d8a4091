// Usage in PostgreSQL: llmgate-settle of three gateways writing into one
// real PostgreSQL server (started here on loopback) with kill -9 at random
// moments: every record once, the totals equal to the records, fleet.db
// on every node equal to the whole fleet's totals; the database down and
// back; the schema made by --init-db; no password in any message.

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const S = require('../lib/settle.js');
const { startPostgres } = require('../lib/servers-db.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const COST_SCALE = 1e12;

let pg;
test.before(async () => { pg = await startPostgres(); });
test.after(async () => { if (pg && !pg.skip) await pg.destroy(); });

function skip(t) {
  if (pg.skip) { t.skip(pg.skip); return true; }
  return false;
}

// llmgate_totals as the Map expectedLedger() builds.
function dbTotals() {
  const m = new Map();
  for (const [k, ...v] of pg.query('SELECT k, requests, prompt, completion, cached, reasoning, cost_units, errors, cache_hits, estimated FROM llmgate_totals')) {
    const [requests, prompt, completion, cached, reasoning, costUnits, errors, cacheHits, estimated] = v.map(Number);
    m.set(k, { requests, prompt, completion, cached, reasoning, cost_units: costUnits, errors, cache_hits: cacheHits, estimated });
  }
  return m;
}

function fleetTotals(st) {
  const { execFileSync } = require('node:child_process');
  const out = execFileSync(S.SETTLE, ['--dump-fleet'], { env: S.settleEnv(st, {}), encoding: 'utf8' });
  const m = new Map();
  for (const line of out.split('\n')) if (line) { const o = JSON.parse(line); m.set(o.key, o); }
  return S.ledgerTotals(m);
}

test('--init-db makes the schema once; a second run changes nothing', async (t) => {
  if (skip(t)) return;
  const st = S.makeState();
  try {
    const env = { DATABASE_URL: pg.url };
    let r = await S.runSettle(st, ['--init-db'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /schema at version 1 \(1 migration applied now\)/);
    r = await S.runSettle(st, ['--init-db'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(0 migrations applied now\)/);
    assert.deepEqual(pg.query('SELECT version FROM llmgate_schema'), [['1']]);
  } finally { st.cleanup(); }
});

test('three gateways settle into one database under kill -9: every record once, totals exact, fleet.db on each node', { timeout: 110000 }, async (t) => {
  if (skip(t)) return;
  const nodes = [0, 1, 2].map(() => S.makeState({ conf: '[settle]\nbatch = 3\n' }));
  const env = { DATABASE_URL: pg.url };
  const all = [];
  const own = [[], [], []];
  let n = 0;
  const add = (i, segs, per) => {
    for (let s = 0; s < segs; s++) {
      const recs = Array.from({ length: per }, () => S.record(n++, { tag: `node${i}` }));
      all.push(...recs);
      own[i].push(...recs);
      S.writeSegment(nodes[i], { records: recs });
    }
  };
  const before = Number(pg.query('SELECT count(*) FROM llmgate_usage')[0][0]);
  try {
    for (let i = 0; i < 3; i++) add(i, 20, 5);
    let killed = 0;
    for (let round = 0; round < 12; round++) {
      if (round % 3 === 0) for (let i = 0; i < 3; i++) add(i, 2, 3);
      // the three nodes' runs overlap, as cron on three machines would
      const kids = nodes.map((st) => S.spawnSettle(st, [], { env }));
      await sleep(Math.floor(Math.random() * 80));
      for (const k of kids) {
        if (Math.random() < 0.7 && k.exitCode === null && k.signalCode === null) { k.kill('SIGKILL'); killed++; }
      }
      for (const k of kids) {
        const r = await k.done;
        assert.ok(r.signal === 'SIGKILL' || r.code === 0, `round ${round}: ${r.code} ${r.stdout} ${r.stderr}`);
      }
    }
    assert.ok(killed >= 5, `runs were killed mid-way (${killed})`);
    for (const st of nodes) {
      const r = await S.runSettle(st, [], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /backlog 0 records/);
      assert.deepStrictEqual(S.segments(st), [], 'every segment done with (folded and in the database)');
    }
    // every record once
    const rows = pg.query("SELECT id FROM llmgate_usage WHERE id LIKE 'req_node%'").map((r) => r[0]);
    assert.equal(rows.length, all.length);
    assert.equal(new Set(rows).size, all.length);
    assert.equal(Number(pg.query('SELECT count(*) FROM llmgate_usage')[0][0]) - before, all.length);
    // totals equal to the records, in the database and each node's own ledger
    const want = S.sorted(S.expectedLedger(all));
    assert.deepStrictEqual(S.sorted(dbTotals()), want);
    for (let i = 0; i < 3; i++) {
      assert.deepStrictEqual(S.sorted(S.ledgerTotals(S.dumpLedger(nodes[i]))), S.sorted(S.expectedLedger(own[i])));
    }
    // fleet.db: the last node to run has the whole fleet
    assert.deepStrictEqual(S.sorted(fleetTotals(nodes[2])), want);
    // a record's columns as the ledger reads it
    const r0 = all[0];
    const [p, c, cu, err] = pg.query(`SELECT prompt_tokens, completion_tokens, cost_units, error FROM llmgate_usage WHERE id = '${r0.id}'`)[0];
    assert.deepEqual([Number(p), Number(c), Number(cu), err], [r0.prompt, r0.completion, Math.round(r0.cost * COST_SCALE), r0.status >= 400 ? 't' : 'f']);
  } finally {
    for (const st of nodes) st.cleanup();
  }
});

test('the database down: settle keeps the records (exit 75) and writes them once it is back; no password in any message', { timeout: 60000 }, async (t) => {
  if (skip(t)) return;
  const st = S.makeState();
  const recs = Array.from({ length: 6 }, (_, i) => S.record(i, { tag: 'down' }));
  S.writeSegment(st, { records: recs });
  const env = { DATABASE_URL: pg.url };
  try {
    await pg.stop();
    let r = await S.runSettle(st, ['--verbose'], { env });
    assert.equal(r.code, 75, r.stdout + r.stderr);
    assert.match(r.stdout, /database unavailable, records kept/);
    assert.ok(!(r.stdout + r.stderr).includes(pg.password), 'the password never appears');
    assert.equal(S.segments(st).length, 1, 'the segment is kept (folded, waiting for the database)');
    assert.ok(S.segments(st)[0].endsWith('.settled'));
    // in the ledger already
    assert.equal(S.dumpLedger(st).get(`key:${recs[0].key_id}`) !== undefined, true);
    await pg.start();
    // a wrong password is refused without the password in the message
    const bad = pg.url.replace(pg.password, 'not-the-password-1234');
    r = await S.runSettle(st, ['--verbose'], { env: { DATABASE_URL: bad } });
    assert.equal(r.code, 75);
    assert.match(r.stderr + r.stdout, /authentication failed|password/);
    assert.ok(!(r.stdout + r.stderr).includes('not-the-password-1234'));
    r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /wrote 6 records to the database/);
    assert.deepStrictEqual(S.segments(st), []);
    assert.equal(Number(pg.query("SELECT count(*) FROM llmgate_usage WHERE id LIKE 'req_down_%'")[0][0]), 6);
  } finally {
    if (!pg.proc) await pg.start();
    st.cleanup();
  }
});

test('a run killed between the mark and the delete: the next run finishes the segment, inserting nothing again', async (t) => {
  if (skip(t)) return;
  const st = S.makeState();
  const recs = Array.from({ length: 4 }, (_, i) => S.record(i, { tag: 'marked' }));
  const env = { DATABASE_URL: pg.url };
  try {
    const name = S.writeSegment(st, { records: recs });
    let r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // as if killed after "<segment>.pg" was written: the segment and its mark are back
    fs.writeFileSync(path.join(st.spoolDir, `${name}.settled`), recs.map((x) => JSON.stringify(x) + '\n').join(''));
    fs.writeFileSync(path.join(st.spoolDir, `${name}.pg`), '1\n');
    r = await S.runSettle(st, [], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /backlog 0 records/);
    assert.deepStrictEqual(S.segments(st), []);
    assert.deepStrictEqual(fs.readdirSync(st.spoolDir).filter((n) => n.endsWith('.pg')), []);
    assert.equal(Number(pg.query("SELECT count(*) FROM llmgate_usage WHERE id LIKE 'req_marked_%'")[0][0]), 4);
  } finally { st.cleanup(); }
});
