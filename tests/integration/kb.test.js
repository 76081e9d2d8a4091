// Knowledge bases: OpenAI's files and vector stores API (the official SDK
// and plain HTTP), the Chinese and English corpus of tests/fixtures/kb
// (the document holding the answer among the top 3 for at least 90% of
// the questions), retrieval in chat (X-Llmgate-Vector-Stores on
// /v1/chat/completions and /v1/messages, the file_search tool on
// /v1/responses; the mock upstream is seen to receive the chunk in its
// prompt, for OpenAI-format, Anthropic and Gemini upstreams, streamed and
// not), isolation between two keys, upload errors with nothing indexed,
// and the embedding calls recorded against the uploading key. The
// embedding provider is defined by RAG_BASE_URL / RAG_API_KEY / RAG_MODEL
// alone; the mock answers embeddings from hashed character n-grams.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { request, stream, joinContent, transcript } = require('../lib/client.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const OpenAI = require('openai').default || require('openai');
const { toFile } = require('openai');

const KEY_A = 'gk-kb-a-0123456789abcdef';
const KEY_B = 'gk-kb-b-0123456789abcdef';
const RAG_KEY = 'sk-rag-SECRET-0123456789';
const UP_KEYS = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-kb', ANTHROPIC_API_KEY: 'sk-ant-SECRET-kb', GEMINI_API_KEY: 'gm-SECRET-kb' };
const RAG_MODEL = 'BAAI/bge-large-zh-v1.5';
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'kb');
const QUESTIONS = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'questions.json'), 'utf8'));

let mock;
let gw;
let sdkA;
let corpus;   // { store, fileOf: name -> id }

const auth = (key) => ({ Authorization: `Bearer ${key}` });

// The gateway's config; more: lines added to its [rag] section.
const conf = (more) => buildConf({ providers: { anthropic: { models: 'echo-context' } }, aliases: { 'kb-assistant': 'deepseek/deepseek-chat' } }) +
  `[rag]\nchunk_size = 300\nchunk_overlap = 40\ntop_k = 3\nmin_score = 5\nmax_file_bytes = 65536\n${more}`;

// A multipart/form-data body with a file and a purpose.
function multipart(filename, content, { purpose = 'assistants', type = 'application/octet-stream' } = {}) {
  const b = `----kbtest${Math.random().toString(16).slice(2)}`;
  const head = `--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n` +
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.from(content), Buffer.from(`\r\n--${b}--\r\n`)]);
  return { body, headers: { 'Content-Type': `multipart/form-data; boundary=${b}` } };
}

function upload(key, filename, content, opts) {
  const m = multipart(filename, content, opts);
  return request('POST', `${gw.url}/v1/files`, { headers: { ...auth(key), ...m.headers }, body: m.body });
}

function spoolRecords() {
  const dir = path.join(gw.stateDir, 'spool');
  return fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

// Every upstream request's text (what the model was sent).
const upstreamTexts = () => mock.requests().map((r) => r.raw || JSON.stringify(r.body));

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: {
      ...mockEnv(mock), ...UP_KEYS, AUTH_KEY: `${KEY_A},${KEY_B}`,
      RAG_BASE_URL: `${mock.url}/siliconflow/v1`, RAG_API_KEY: RAG_KEY, RAG_MODEL,
    },
    conf: conf(''),
  });
  sdkA = new OpenAI({ apiKey: KEY_A, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 20000 });
  // the corpus, uploaded and attached with plain HTTP by key A
  const vs = await request('POST', `${gw.url}/v1/vector_stores`, { headers: auth(KEY_A), body: { name: 'corpus' } });
  assert.equal(vs.status, 200, vs.text);
  corpus = { store: vs.json.id, fileOf: {} };
  for (const name of fs.readdirSync(path.join(FIXTURES, 'docs'))) {
    const up = await upload(KEY_A, name, fs.readFileSync(path.join(FIXTURES, 'docs', name)));
    assert.equal(up.status, 200, `${name}: ${up.text}`);
    const at = await request('POST', `${gw.url}/v1/vector_stores/${corpus.store}/files`,
      { headers: auth(KEY_A), body: { file_id: up.json.id } });
    assert.equal(at.status, 200, `${name}: ${at.text}`);
    assert.equal(at.json.status, 'completed');
    corpus.fileOf[name] = up.json.id;
  }
});

after(async () => {
  if (gw) {
    assertNoSecrets([...transcript(), gw.errorLog()], [KEY_A, KEY_B, RAG_KEY, ...Object.values(UP_KEYS)]);
    await gw.stop();
  }
  if (mock) await mock.close();
});

describe('knowledge bases', () => {
  it('the corpus: the right document in the top 3 for at least 90% of the questions', async () => {
    let hits = 0;
    const misses = [];
    for (const q of QUESTIONS) {
      const r = await request('POST', `${gw.url}/v1/vector_stores/${corpus.store}/search`,
        { headers: auth(KEY_A), body: { query: q.question, max_num_results: 3 } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.object, 'vector_store.search_results.page');
      const names = r.json.data.map((d) => d.filename);
      if (names.includes(q.file)) hits++;
      else misses.push(`${q.question} -> ${names.join(', ')}`);
    }
    const rate = hits / QUESTIONS.length;
    assert.ok(QUESTIONS.length >= 20, 'tens of questions');
    assert.ok(rate >= 0.9, `top-3 rate ${rate}; misses:\n${misses.join('\n')}`);
  });

  it('embedding calls are recorded against the uploading key, through the rag provider', () => {
    const recs = spoolRecords().filter((r) => r.endpoint === 'embeddings');
    assert.ok(recs.length >= QUESTIONS.length, `embedding records: ${recs.length}`);
    const ids = new Set(recs.map((r) => r.id));
    assert.equal(ids.size, recs.length, 'each embedding record has its own id');
    for (const r of recs) {
      assert.equal(r.provider, 'rag');
      assert.equal(r.model, RAG_MODEL);
      assert.ok(r.prompt > 0, 'tokens as the upstream reported them');
    }
    const up = mock.requests().find((x) => /\/siliconflow\/v1\/embeddings$/.test(x.path));
    assert.equal(up.headers.authorization, `Bearer ${RAG_KEY}`);
  });

  it('chat with X-Llmgate-Vector-Stores: the chunk reaches the upstream, OpenAI format, streamed and not', async () => {
    const q = QUESTIONS.find((x) => x.file === 'bikes.txt');
    for (const streamed of [false, true]) {
      mock.reset();
      const body = { model: 'deepseek-chat', messages: [{ role: 'user', content: q.question }], stream: streamed };
      const headers = { ...auth(KEY_A), 'X-Llmgate-Vector-Stores': corpus.store };
      if (streamed) {
        const s = await stream(`${gw.url}/v1/chat/completions`, { headers, body });
        assert.equal(s.status, 200);
        assert.ok(joinContent(s.events).length > 0);
      } else {
        const r = await request('POST', `${gw.url}/v1/chat/completions`, { headers, body });
        assert.equal(r.status, 200, r.text);
      }
      const chat = mock.requests().find((x) => /chat\/completions$/.test(x.path));
      const sys = chat.body.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
      assert.match(sys, new RegExp(q.answer), 'the chunk with the answer is in the prompt');
      assert.match(sys, /source: bikes\.txt/);
      assert.equal(chat.body.messages.at(-1).content, q.question, 'the question stays last');
    }
  });

  it('/v1/messages to an Anthropic upstream: the chunk in its system prompt', async () => {
    mock.reset();
    const q = QUESTIONS.find((x) => x.file === 'zh-vpn.md');
    const r = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': KEY_A, 'anthropic-version': '2023-06-01', 'X-Llmgate-Vector-Stores': corpus.store },
      body: { model: 'echo-context', max_tokens: 100, messages: [{ role: 'user', content: q.question }] },
    });
    assert.equal(r.status, 200, r.text);
    const up = mock.requests().find((x) => /\/anthropic\/v1\/messages$/.test(x.path));
    assert.ok(JSON.stringify(up.body.system).includes(q.answer), 'the Anthropic upstream got the chunk as system');
  });

  it('/v1/responses with the file_search tool, to a Gemini model, streamed', async () => {
    mock.reset();
    const q = QUESTIONS.find((x) => x.file === 'zh-fire.html');
    const s = await stream(`${gw.url}/v1/responses`, {
      headers: auth(KEY_A),
      body: { model: 'gemini-2.0-flash', input: q.question, stream: true,
        tools: [{ type: 'file_search', vector_store_ids: [corpus.store] }] },
    });
    assert.equal(s.status, 200);
    assert.ok(s.events.some((e) => e.event === 'response.completed'));
    const up = mock.requests().find((x) => /\/gemini\//.test(x.path));
    assert.ok(JSON.stringify(up.body.systemInstruction).includes(q.answer), 'the Gemini upstream got the chunk');
    assert.ok(!JSON.stringify(up.body).includes('x_llmgate'), 'no private member upstream');
    assert.ok(!JSON.stringify(up.body).includes('file_search'));
  });

  it('/v1/responses with file_search, the official SDK: a file_search_call item before the message, results when included', async () => {
    const q = QUESTIONS.find((x) => x.file === 'printer.md');
    const tools = [{ type: 'file_search', vector_store_ids: [corpus.store] }];
    mock.reset();
    const r = await sdkA.responses.create({ model: 'deepseek-chat', input: q.question, tools, include: ['file_search_call.results'] });
    assert.deepEqual(r.output.map((o) => o.type), ['file_search_call', 'message']);
    const fsc = r.output[0];
    assert.match(fsc.id, /^fs_/);
    assert.equal(fsc.status, 'completed');
    assert.deepEqual(fsc.queries, [q.question]);
    assert.ok(fsc.results.length >= 1 && fsc.results.length <= 3);
    const hit = fsc.results.find((x) => x.file_id === corpus.fileOf['printer.md']);
    assert.ok(hit, 'the file holding the answer is among the results');
    assert.equal(hit.filename, 'printer.md');
    assert.ok(hit.text.includes(q.answer) || fsc.results.some((x) => x.text.includes(q.answer)));
    assert.ok(hit.score > 0 && hit.score <= 1);
    assert.ok(!JSON.stringify(mock.requests().at(-1).body).includes('x_llmgate'), 'no private member upstream');
    // without include: the item, no results
    const plain = await sdkA.responses.create({ model: 'deepseek-chat', input: q.question, tools });
    assert.equal(plain.output[0].type, 'file_search_call');
    assert.equal(plain.output[0].results, null);
    assert.equal((await sdkA.responses.retrieve(plain.id)).output[0].type, 'file_search_call', 'kept with the response');
    const next = await sdkA.responses.create({ model: 'deepseek-chat', previous_response_id: plain.id, input: 'thanks' });
    assert.equal(next.status, 'completed', 'a stored file_search_call item continues (previous_response_id)');
    const back = await sdkA.responses.create({ model: 'deepseek-chat', input: [...plain.output, { role: 'user', content: 'thanks' }] });
    assert.equal(back.status, 'completed', 'and is taken back as input');
    // streamed: the documented events, in order, then the message
    const st = sdkA.responses.stream({ model: 'deepseek-chat', input: q.question, tools, include: ['file_search_call.results'] });
    const types = [];
    for await (const ev of st) types.push(ev.type);
    const fin = await st.finalResponse();
    const fsEvents = types.filter((t) => /file_search_call|output_item/.test(t)).slice(0, 5);
    assert.deepEqual(fsEvents, ['response.output_item.added', 'response.file_search_call.in_progress',
      'response.file_search_call.searching', 'response.file_search_call.completed', 'response.output_item.done']);
    assert.ok(types.indexOf('response.output_item.done') < types.indexOf('response.output_text.delta'));
    assert.deepEqual(fin.output.map((o) => o.type), ['file_search_call', 'message']);
    assert.ok(fin.output[0].results.some((x) => x.file_id === corpus.fileOf['printer.md']));
    assert.ok(fin.output[1].content[0].text.length > 0);
  });

  it('[rag] stores and models: chats to that public model search the store, others do not', async () => {
    fs.writeFileSync(gw.confPath, conf(`stores = ${corpus.store}\nmodels = kb-assistant\n`));
    const q = QUESTIONS.find((x) => x.file === 'printer.md');
    const ask = async (model) => {
      mock.reset();
      const r = await request('POST', `${gw.url}/v1/chat/completions`,
        { headers: auth(KEY_A), body: { model, messages: [{ role: 'user', content: q.question }] } });
      assert.equal(r.status, 200, r.text);
      return JSON.stringify(mock.requests().find((x) => /chat\/completions$/.test(x.path)).body.messages);
    };
    let seen = '';
    for (let i = 0; i < 100 && !seen.includes(q.answer); i++) {   // the router reloads its config within a second
      seen = await ask('kb-assistant');
      if (!seen.includes(q.answer)) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(seen.includes(q.answer), 'the public model kb-assistant got the chunk');
    assert.ok(!(await ask('deepseek-chat')).includes(q.answer), 'another model did not');
    fs.writeFileSync(gw.confPath, conf(''));
  });

  it('[rag] stores and keys: chats by that gateway key (by id or by name) search the store, another key\'s do not', async () => {
    const idA = `env-${require('node:crypto').createHash('sha256').update(KEY_A).digest('hex').slice(0, 8)}`;
    const q = QUESTIONS.find((x) => x.file === 'printer.md');
    const ask = async (key) => {
      mock.reset();
      const r = await request('POST', `${gw.url}/v1/chat/completions`,
        { headers: auth(key), body: { model: 'deepseek-chat', messages: [{ role: 'user', content: q.question }] } });
      assert.equal(r.status, 200, r.text);
      return JSON.stringify(mock.requests().find((x) => /chat\/completions$/.test(x.path)).body.messages);
    };
    for (const keys of [idA, 'AUTH_KEY #1']) {
      fs.writeFileSync(gw.confPath, conf(`stores = ${corpus.store}\nkeys = ${keys}\n`));
      let seen = '';
      for (let i = 0; i < 100 && !seen.includes(q.answer); i++) {   // the router reloads its config within a second
        seen = await ask(KEY_A);
        if (!seen.includes(q.answer)) await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(seen.includes(q.answer), `key A (listed as ${keys}) got the chunk`);
      assert.ok(!(await ask(KEY_B)).includes(q.answer), 'key B did not');
      fs.writeFileSync(gw.confPath, conf(''));
    }
  });

  it('the official OpenAI SDK: files and vectorStores', async () => {
    const file = await sdkA.files.create({ file: await toFile(Buffer.from('The submarine sandwich shop opens at 7 am.'), 'sub.txt'), purpose: 'assistants' });
    assert.equal(file.object, 'file');
    assert.equal(file.filename, 'sub.txt');
    assert.equal((await sdkA.files.retrieve(file.id)).id, file.id);
    const list = [];
    for await (const f of sdkA.files.list()) list.push(f.id);
    assert.ok(list.includes(file.id));
    const vs = await sdkA.vectorStores.create({ name: 'sdk' });
    assert.equal(vs.object, 'vector_store');
    const vf = await sdkA.vectorStores.files.createAndPoll(vs.id, { file_id: file.id });
    assert.equal(vf.status, 'completed');
    const files = [];
    for await (const f of sdkA.vectorStores.files.list(vs.id)) files.push(f.id);
    assert.deepEqual(files, [file.id]);
    assert.equal((await sdkA.vectorStores.retrieve(vs.id)).file_counts.completed, 1);
    const page = await sdkA.vectorStores.search(vs.id, { query: 'when does the sandwich shop open', max_num_results: 2 });
    const results = [];
    for await (const x of page) results.push(x);
    assert.equal(results[0].file_id, file.id);
    assert.match(results[0].content[0].text, /7 am/);
    const stores = [];
    for await (const s of sdkA.vectorStores.list()) stores.push(s.id);
    assert.ok(stores.includes(vs.id) && stores.includes(corpus.store));
    assert.equal((await sdkA.vectorStores.files.delete(file.id, { vector_store_id: vs.id })).deleted, true);
    assert.equal((await sdkA.vectorStores.delete(vs.id)).deleted, true);
    assert.equal((await sdkA.files.delete(file.id)).deleted, true);
    await assert.rejects(sdkA.vectorStores.retrieve(vs.id), (e) => e.status === 404);
  });

  it('isolation: another key sees none of it (404), not in chat either', async () => {
    const s = corpus.store;
    for (const [m, p, body] of [['GET', `vector_stores/${s}`], ['DELETE', `vector_stores/${s}`],
      ['GET', `vector_stores/${s}/files`], ['POST', `vector_stores/${s}/search`, { query: 'parking' }],
      ['GET', `files/${corpus.fileOf['parking.txt']}`], ['DELETE', `files/${corpus.fileOf['parking.txt']}`]]) {
      const r = await request(m, `${gw.url}/v1/${p}`, { headers: auth(KEY_B), body });
      assertError(r, 404);
    }
    const lb = await request('GET', `${gw.url}/v1/vector_stores`, { headers: auth(KEY_B) });
    assert.deepEqual(lb.json.data, []);
    const fb = await request('GET', `${gw.url}/v1/files`, { headers: auth(KEY_B) });
    assert.deepEqual(fb.json.data, []);
    mock.reset();
    const r = await request('POST', `${gw.url}/v1/chat/completions`, {
      headers: { ...auth(KEY_B), 'X-Llmgate-Vector-Stores': s },
      body: { model: 'deepseek-chat', messages: [{ role: 'user', content: 'parking?' }] },
    });
    assertError(r, 404, { code: 'vector_store_not_found' });
    const m = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': KEY_B, 'anthropic-version': '2023-06-01', 'X-Llmgate-Vector-Stores': s },
      body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'parking?' }] },
    });
    assert.equal(m.status, 404);
    assert.equal(m.json.type, 'error', 'in Anthropic\'s shape on /v1/messages');
    assert.match(m.json.error.message, /No vector store found/);
    assert.equal(mock.requests().length, 0, 'nothing went upstream');
    // and key B may not attach key A's file to a store of its own
    const own = await request('POST', `${gw.url}/v1/vector_stores`, { headers: auth(KEY_B), body: { name: 'b' } });
    const at = await request('POST', `${gw.url}/v1/vector_stores/${own.json.id}/files`,
      { headers: auth(KEY_B), body: { file_id: corpus.fileOf['parking.txt'] } });
    assertError(at, 404);
  });

  it('wrong methods and paths: 405 with Allow, 404', async () => {
    const r = await request('PUT', `${gw.url}/v1/vector_stores`, { headers: auth(KEY_A), body: {} });
    assertError(r, 405);
    assert.equal(r.headers.allow, 'GET, POST');
    assertError(await request('GET', `${gw.url}/v1/vector_stores/${corpus.store}/nope`, { headers: auth(KEY_A) }), 404);
    assertError(await request('GET', `${gw.url}/v1/vector_stores/${corpus.store}/search`, { headers: auth(KEY_A) }), 405);
    assertError(await request('POST', `${gw.url}/v1/vector_stores/${corpus.store}/search`,
      { headers: auth(KEY_A), body: { query: '' } }), 400, { code: 'missing_required_parameter' });
  });

  it('upload errors: clear, in OpenAI shape, nothing stored', async () => {
    const before = (await request('GET', `${gw.url}/v1/files`, { headers: auth(KEY_B) })).json.data.length;
    const cases = [
      ['image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), 400, 'unsupported_file', /unsupported file type/],
      ['big.txt', 'x'.repeat(70000), 413, 'file_too_large', /65536 bytes/],
      ['broken.pdf', '%PDF-1.4\nthis is no pdf at all\n', 400, 'invalid_file', /PDF could not be read/],
      ['empty.md', '  \n\n\t \n', 400, 'invalid_file', /no text/],
      ['latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9]), 400, 'invalid_file', /not UTF-8/],
      ['bad.json', '{"a": ', 400, 'invalid_file', /not valid JSON/],
    ];
    for (const [name, content, status, code, msg] of cases) {
      const r = await upload(KEY_B, name, content);
      const e = assertError(r, status, { code });
      assert.match(e.message, msg, name);
    }
    assertError(await upload(KEY_B, 'ok.txt', 'hello', { purpose: 'fine-tune' }), 400, { code: 'invalid_value' });
    const bad = await request('POST', `${gw.url}/v1/files`, {
      headers: { ...auth(KEY_B), 'Content-Type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nbroken',
    });
    assertError(bad, 400, { code: 'invalid_multipart' });
    const after = (await request('GET', `${gw.url}/v1/files`, { headers: auth(KEY_B) })).json.data.length;
    assert.equal(after, before, 'no file kept');
  });

  it('a PDF through pdftotext; an embedding upstream failing leaves nothing indexed', async () => {
    const pdf = fs.readFileSync(path.join(FIXTURES, 'canal.pdf'));
    const up = await upload(KEY_B, 'canal.pdf', pdf);
    assert.equal(up.status, 200, up.text);
    const txt = await request('GET', `${gw.url}/v1/files/${up.json.id}/content`, { headers: auth(KEY_B) });
    assert.match(txt.text, /lock gates/);
    const vs = await request('POST', `${gw.url}/v1/vector_stores`, { headers: auth(KEY_B), body: { name: 'pdf' } });
    await mock.configure({ keys: { [RAG_KEY]: { status: 500, times: 10 } } });
    const at = await request('POST', `${gw.url}/v1/vector_stores/${vs.json.id}/files`,
      { headers: auth(KEY_B), body: { file_id: up.json.id } });
    assertError(at, 502, { code: 'embedding_failed' });
    const files = await request('GET', `${gw.url}/v1/vector_stores/${vs.json.id}/files`, { headers: auth(KEY_B) });
    assert.deepEqual(files.json.data, [], 'nothing half indexed');
    await mock.configure({ keys: {} });
    const ok = await request('POST', `${gw.url}/v1/vector_stores/${vs.json.id}/files`,
      { headers: auth(KEY_B), body: { file_id: up.json.id } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.chunks >= 1);
  });
});
