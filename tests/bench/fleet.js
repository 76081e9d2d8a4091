// tests/bench/fleet.js — what sharing state through Redis adds to a
// request: the latency of one gateway on its own (GDBM, limits kept by the
// node) against three gateways sharing one Redis on loopback (limits,
// keys, cool-downs in Redis), in the same run, each with its own lighttpd,
// state folder and spool, in front of the same mock upstream. The gateway
// key has a token budget and a requests-per-minute limit, so each request
// takes its reservation and its record through Redis (the common path).
// make bench runs it after the main table.
//
//   node tests/bench/fleet.js [--requests N] [--concurrency C] [--rounds R]
//
// A third row sends the same load to one node of the fleet alone: the
// Redis round trips without the spreading over three nodes.
// Rounds alternate (one node, three nodes, one node, ...) so that a drift
// of the machine touches both; the figures are over every request of every
// round. Prints the table and writes tests/bench/results/fleet.txt.

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startMock, startGateway, mockEnv, keysTool, REPO_ROOT } = require('../lib/harness.js');
const { startRedis } = require('../lib/servers-db.js');

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const REQUESTS = arg('--requests', 1000);
const CONCURRENCY = arg('--concurrency', 2);
const ROUNDS = arg('--rounds', 2);
const BODY = JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] });

// n requests, c at a time, the i-th to urls[i % urls.length]; each one's
// time in ms (whole response), and the count of answers that were not 200
async function load(urls, key, n, c) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c * urls.length });
  const times = [];
  let next = 0;
  let errors = 0;
  const one = (url) => new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(`${url}/v1/chat/completions`, {
      method: 'POST', agent,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(BODY);
  });
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await one(urls[i % urls.length]);
  };
  await Promise.all(Array.from({ length: c }, worker));
  agent.destroy();
  return { times, errors };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function newKey(gw, others) {
  const r = await keysTool(gw, ['create', '--name', 'bench', '--tokens', '1000000000000', '--rpm', '100000000']);
  if (r.code !== 0) throw new Error(`llmgate-keys: ${r.stderr}`);
  const key = r.stdout.trim();
  // the other nodes learn it through Redis
  for (const n of others) {
    for (let i = 0; ; i++) {
      const { errors } = await load([n.url], key, 1, 1);
      if (!errors) break;
      if (i > 100) throw new Error('the key did not reach every node');
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return key;
}

async function main() {
  const redis = await startRedis({});
  if (redis.skip) {
    console.log(`fleet: skipped: ${redis.skip}`);
    return;
  }
  const mock = await startMock();
  const env = { ...mockEnv(mock), OPENAI_API_KEY: 'sk-bench-openai', LLMGATE_LOG_LEVEL: 'warn' };
  const single = await startGateway({ env });
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startGateway({ env, conf: `[shared]\nredis = ${redis.url}\n` }));
  const setups = ['single', 'one', 'fleet'];
  try {
    const k1 = await newKey(single, []);
    const k3 = await newKey(nodes[0], nodes.slice(1));
    const runs = Object.fromEntries(setups.map((w) => [w, { times: [], errors: 0 }]));
    const urls = { single: [single.url], one: [nodes[0].url], fleet: nodes.map((n) => n.url) };
    const keys = { single: k1, one: k3, fleet: k3 };
    for (const w of setups) await load(urls[w], keys[w], 200, CONCURRENCY);   // warm up
    for (let r = 0; r < ROUNDS; r++) {
      for (const w of setups) {
        const { times, errors } = await load(urls[w], keys[w], REQUESTS, CONCURRENCY);
        runs[w].times.push(...times);
        runs[w].errors += errors;
      }
    }
    const row = (w) => {
      const s = runs[w].times.slice().sort((a, b) => a - b);
      return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), errors: runs[w].errors };
    };
    const a = row('single');
    const o = row('one');
    const b = row('fleet');
    const plus = (x) => (x >= 0 ? '+' : '') + x.toFixed(2);
    const f = (x) => x.toFixed(2).padStart(7);
    const lines = [
      `llmgate fleet benchmark  ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
      `machine  ${os.cpus().length} CPUs, ${os.cpus()[0].model.trim()}; ${ROUNDS} round(s) of ${REQUESTS} requests, ${CONCURRENCY} at a time, alternating`,
      '',
      'setup                                       requests      p50      p99  errors',
      '------------------------------------------  --------  -------  -------  ------',
      `1 node, GDBM (limits kept by the node)      ${String(a.n).padStart(8)}  ${f(a.p50)}  ${f(a.p99)}  ${String(a.errors).padStart(6)}`,
      `1 node of the fleet alone (Redis)           ${String(o.n).padStart(8)}  ${f(o.p50)}  ${f(o.p99)}  ${String(o.errors).padStart(6)}`,
      `3 nodes, one Redis on loopback              ${String(b.n).padStart(8)}  ${f(b.p50)}  ${f(b.p99)}  ${String(b.errors).padStart(6)}`,
      `added: 3 nodes + Redis against 1 on GDBM              ${plus(b.p50 - a.p50).padStart(7)}  ${plus(b.p99 - a.p99).padStart(7)}`,
      `added: the same load on one node, Redis against GDBM  ${plus(o.p50 - a.p50).padStart(7)}  ${plus(o.p99 - a.p99).padStart(7)}`,
      '',
      'Times in ms, whole response, from a keep-alive client on the same machine; each gateway is lighttpd +',
      'llmgate-router with its own state folder; the key has a token budget and an RPM limit, so every',
      'request of the three nodes reserves and records in Redis (one Lua script each).',
    ];
    const text = lines.join('\n') + '\n';
    process.stdout.write(text);
    const out = path.join(REPO_ROOT, 'tests', 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'fleet.txt'), text);
    if (a.errors || b.errors) process.exitCode = 3;
  } finally {
    for (const n of [single, ...nodes]) await n.stop();
    await mock.close();
    await redis.destroy();
  }
}

main().catch((e) => { console.error(`fleet: ${e.stack || e}`); process.exit(1); });
