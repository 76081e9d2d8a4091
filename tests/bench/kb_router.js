// kb_router.js — the knowledge base measured in a running router (part of
// make bench-kb): lighttpd + llmgate-router + the mock upstream answering
// embeddings of 1,024 dimensions; documents uploaded and attached through
// /v1/files and /v1/vector_stores until a store holds CHUNKS chunks (10,000)
// and a second one a tenth of them; then top-5 searches through
// POST /v1/vector_stores/{id}/search on each, the router's memory (VmRSS,
// RssAnon: its heap, RssFile: file pages such as the mapped vectors) read
// from /proc before and after. Prints the figures; exits 1 when the heap
// grows by more than 4 MiB between the small and the big store.
//
//   LLMGATE_BUILDDIR=_build node tests/bench/kb_router.js [chunks]

'use strict';

const fs = require('node:fs');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { request } = require('../lib/client.js');

const CHUNKS = Number(process.argv[2] || 10000);
const KEY = 'gk-kb-bench-0123456789abcdef';
const auth = { Authorization: `Bearer ${KEY}` };

function mem(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st) || [])[1] || 0);
  return { rss: get('VmRSS'), anon: get('RssAnon'), file: get('RssFile') };
}

// A document of n paragraphs (about 2.5 paragraphs to a chunk of 600 characters).
function doc(d, n) {
  let t = '';
  for (let p = 0; p < n; p++) {
    for (let s = 0; s < 8; s++) t += s % 2 ? `文档${d}第${p}段第${s}句，仓库与物流的说明。` : `Doc ${d} part ${p} sentence ${s} about shipping. `;
    t += '\n\n';
  }
  return t;
}

async function upload(name, text) {
  const b = `----kbbench${Date.now()}`;
  const body = Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n--${b}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`), Buffer.from(text), Buffer.from(`\r\n--${b}--\r\n`)]);
  const r = await request('POST', `${gwUrl}/v1/files`, { headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${b}` }, body, timeoutMs: 60000 });
  if (r.status !== 200) throw new Error(r.text);
  return r.json.id;
}

let gwUrl;

async function search(store, n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = Date.now();
    const r = await request('POST', `${gwUrl}/v1/vector_stores/${store}/search`,
      { headers: auth, body: { query: `Doc ${i * 7} part ${i % 40} sentence about shipping 仓库`, max_num_results: 5 } });
    if (r.status !== 200 || r.json.data.length !== 5) throw new Error(r.text);
    ms.push(Date.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[n >> 1], p95: ms[Math.floor(n * 0.95)] };
}

(async () => {
  const mock = await startMock();
  mock.configure({ embeddingDims: 1024 });
  const gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: KEY, RAG_BASE_URL: `${mock.url}/siliconflow/v1`, RAG_API_KEY: 'sk-bench', RAG_MODEL: 'BAAI/bge-m3',
      LLMGATE_LOG_LEVEL: 'warn' },
    conf: buildConf({ server: { max_body: 8388608, log_level: 'warn', threads: 2, hot_threads: 1 } }) + '[rag]\nmax_file_bytes = 8388608\n',
  });
  gwUrl = gw.url;
  try {
    const mk = async (name) => (await request('POST', `${gw.url}/v1/vector_stores`, { headers: auth, body: { name } })).json.id;
    const small = await mk('small');
    const big = await mk('big');
    let total = 0;
    let smallTotal = 0;
    let bytes = 0;
    const t0 = Date.now();
    for (let d = 0; total < CHUNKS; d++) {
      const text = doc(d, 250);
      bytes += Buffer.byteLength(text);
      const id = await upload(`doc${d}.txt`, text);
      const r = await request('POST', `${gw.url}/v1/vector_stores/${total < CHUNKS / 10 ? small : big}/files`,
        { headers: auth, body: { file_id: id }, timeoutMs: 120000 });
      if (r.status !== 200) throw new Error(r.text);
      if (total < CHUNKS / 10) smallTotal += r.json.chunks;
      total += r.json.chunks;
    }
    const secs = (Date.now() - t0) / 1000;
    // the small store's documents in the big one too: big holds every chunk
    for (const f of (await request('GET', `${gw.url}/v1/vector_stores/${small}/files`, { headers: auth })).json.data) {
      await request('POST', `${gw.url}/v1/vector_stores/${big}/files`, { headers: auth, body: { file_id: f.id }, timeoutMs: 120000 });
    }
    const pid = gw.routerPids()[0];
    console.log(`router: ${total} chunks of 1024 dimensions through the API in ${secs.toFixed(1)} s: ` +
      `${(total / secs).toFixed(0)} chunks/s, the mock's embeddings included (${(bytes / total).toFixed(0)} bytes of text a chunk)`);
    const m0 = mem(pid);
    const s1 = await search(small, 30);
    const m1 = mem(pid);
    const s2 = await search(big, 60);
    const m2 = mem(pid);
    console.log(`router search top-5 over ${smallTotal} chunks: median ${s1.median} ms, p95 ${s1.p95} ms; over ${total} chunks: ` +
      `median ${s2.median} ms, p95 ${s2.p95} ms (HTTP, the query's embedding by the mock included)`);
    console.log(`router memory (kB): before searching rss ${m0.rss} heap ${m0.anon}; after ${smallTotal} chunks rss ${m1.rss} heap ${m1.anon}; ` +
      `after ${total} chunks rss ${m2.rss} heap ${m2.anon} (file pages ${m2.file})`);
    if (m2.anon - m1.anon > 4096) {
      console.log('FAIL: the router\'s heap grew with the corpus');
      process.exitCode = 1;
    }
  } finally {
    await gw.stop();
    await mock.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
