// tests/bench/smallmem.js — does the whole stack fit a small router? lighttpd
// + llmgate-router + llmgate-admin (conf/lighttpd.conf, the settings of
// conf/llmgate-small.conf) started inside a memory cgroup capped at 32 MB,
// measured idle and then under 16 concurrent streams (make bench runs it;
// needs root and the cgroup memory controller, v1 or v2).
//
//   node tests/bench/smallmem.js [--cap-mb 32] [--streams 16]
//
// Prints the resident memory of the stack's processes (summed, so shared
// library pages count once per process: an upper bound), the cgroup's own
// count (each page once, page cache included) and its peak, and whether
// every stream completed under the cap. Exit 3 when a stream failed or the
// cap was hit.

'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { startMock, REPO_ROOT } = require('../lib/harness.js');
const { startServer } = require('../lib/servers.js');
const { request, stream, chatBody, bearer } = require('../lib/client.js');

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CAP_MB = arg('--cap-mb', 32);
const STREAMS = arg('--streams', 16);
const GW_KEY = 'gk-smallmem-0123456789abcdef';

// A memory cgroup of our own, capped: v2 (memory.max) or v1.
function makeCgroup() {
  const name = `llmgate-bench-${process.pid}`;
  const v2 = '/sys/fs/cgroup/cgroup.controllers';
  if (fs.existsSync(v2)) {
    const dir = path.join('/sys/fs/cgroup', name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'memory.max'), String(CAP_MB << 20));
    try { fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0'); } catch { /* no swap accounting */ }
    return {
      dir,
      usage: () => Number(fs.readFileSync(path.join(dir, 'memory.current'), 'utf8')),
      peak: () => { try { return Number(fs.readFileSync(path.join(dir, 'memory.peak'), 'utf8')); } catch { return NaN; } },
      hits: () => Number((/max (\d+)/.exec(fs.readFileSync(path.join(dir, 'memory.events'), 'utf8')) || [0, 0])[1]),
    };
  }
  const dir = path.join('/sys/fs/cgroup/memory', name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(CAP_MB << 20));
  try { fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(CAP_MB << 20)); } catch { /* no swap accounting */ }
  return {
    dir,
    usage: () => Number(fs.readFileSync(path.join(dir, 'memory.usage_in_bytes'), 'utf8')),
    peak: () => Number(fs.readFileSync(path.join(dir, 'memory.max_usage_in_bytes'), 'utf8')),
    hits: () => Number(fs.readFileSync(path.join(dir, 'memory.failcnt'), 'utf8')),
  };
}

// The summed VmRSS of the cgroup's processes, in bytes, and their names.
function rss(cg) {
  let total = 0;
  const names = new Set();
  const each = {};
  for (const pid of fs.readFileSync(path.join(cg.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number((/VmRSS:\s+(\d+)/.exec(st) || [0, 0])[1]);
      const name = (/Name:\s+(\S+)/.exec(st) || [0, '?'])[1];
      total += kb * 1024;
      names.add(name);
      each[name] = (each[name] || 0) + kb * 1024;
    } catch { /* gone */ }
  }
  return { total, each, names: [...names].sort().join(' + ') };
}

const mb = (b) => (b / 1048576).toFixed(1) + ' MB';

async function main() {
  const mock = await startMock();
  mock.configure({ trickleEvents: 20, trickleMs: 50 });
  let cg;
  try {
    cg = makeCgroup();
  } catch (e) {
    console.log(`smallmem: skipped (no memory cgroup to make: ${e.code || e.message}; run as root)`);
    await mock.close();
    return 0;
  }
  process.env.LLMGATE_SERVER_CGROUP = cg.dir;
  // the small-device settings, with the mock as upstream and the test's
  // own state folder (servers.js sets LLMGATE_STATE_DIR)
  const small = fs.readFileSync(path.join(REPO_ROOT, 'conf', 'llmgate-small.conf'), 'utf8').replace(/^state_dir = .*$/m, '');
  const conf = `${small}\n[auth]\nkeys = ${GW_KEY}\n\n[provider.openai]\nbase_url = ${mock.url}/openai/v1\nkeys = sk-oa-smallmem\n`;
  let s;
  let status = 0;
  try {
    s = await startServer('lighttpd', { conf });
    await request('GET', `${s.url}/admin/api/setup`);
    const first = await request('POST', `${s.base}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('openai/gpt-4o-mini') });
    if (first.status !== 200) throw new Error(`a chat: ${first.status} ${first.text}`);
    const idle = rss(cg);
    const idleCg = cg.usage();
    let peakRss = idle.total;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, rss(cg).total);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const results = await Promise.all(Array.from({ length: STREAMS }, () =>
      stream(`${s.base}/v1/chat/completions`, { headers: bearer(GW_KEY), body: chatBody('openai/trickle', { stream: true }), timeoutMs: 60000 })));
    sampling = false;
    await sampler;
    const done = results.filter((r) => r.status === 200 && r.done).length;
    const hits = cg.hits();
    console.log(`memory of the stack (${idle.names}), cgroup cap ${CAP_MB} MB, conf/llmgate-small.conf:`);
    console.log(`  idle:            ${mb(idle.total).padStart(9)} resident (summed), ${mb(idleCg)} in the cgroup`);
    console.log(`                   ${Object.entries(idle.each).map(([n, b]) => `${n} ${mb(b)}`).join(', ')}`);
    console.log(`  ${String(STREAMS).padStart(2)} streams:      ${mb(peakRss).padStart(9)} resident at most,  ${mb(cg.peak())} cgroup peak; ${done}/${STREAMS} completed, cap hit ${hits} times`);
    if (done !== STREAMS || hits > 0) status = 3;
  } finally {
    if (s) await s.stop();
    await mock.close();
    for (let i = 0; i < 50; i++) {
      try { fs.rmdirSync(cg.dir); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
  }
  return status;
}

main().then((code) => process.exit(code), (e) => { console.error(`smallmem: ${e.stack || e}`); process.exit(1); });
