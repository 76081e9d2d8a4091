// Native passthrough under /api/{provider}/... (the one-balance form), with
// the official @google/genai SDK against Gemini; OpenAI and Anthropic native
// paths; path tricks refused; the client's credentials never forwarded;
// embeddings and images routed by model; usage recorded for all of them.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');
const OpenAI = require('openai');
const { GoogleGenAI } = require('@google/genai');
const { startMock, startGateway, mockEnv, keysTool, sleep } = require('../lib/harness.js');
const { request, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-pass-0123456789abcdef';
const KEYS = {
  GEMINI_API_KEY: 'gem-pass-SECRET-1', ANTHROPIC_API_KEY: 'sk-ant-pass-SECRET-1',
  OPENAI_API_KEY: 'sk-oai-pass-SECRET-1', SILICONFLOW_API_KEY: 'sk-sf-pass-SECRET-1',
};

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({ env: { ...mockEnv(mock), ...KEYS, AUTH_KEY: GW_KEY }, conf: buildConf() });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const last = () => mock.requests().at(-1);

// A raw HTTP/1.1 request, so that the path is sent exactly as written.
function rawRequest(port, method, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve({ status: Number((/^HTTP\/1\.1 (\d+)/.exec(data) || [])[1]), text: data }));
    s.on('error', reject);
    const h = Object.entries({ Host: '127.0.0.1', Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`${method} ${target} HTTP/1.1\r\n${h}\r\n`);
  });
}

describe('Gemini natively through /api/google-ai-studio', () => {
  let ai;
  before(() => {
    ai = new GoogleGenAI({ apiKey: GW_KEY, httpOptions: { baseUrl: `${gw.url}/api/google-ai-studio` } });
  });

  it('generateContent with @google/genai: the gateway key swapped for a pool key', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'Hello from the SDK' });
    assert.ok(r.text && r.text.length > 0);
    assert.ok(r.usageMetadata.totalTokenCount > 0);
    const up = last();
    assert.equal(up.path, '/gemini/v1beta/models/gemini-2.0-flash:generateContent');
    assert.equal(up.headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
    assert.ok(!JSON.stringify(up.headers).includes(GW_KEY), 'the gateway key is not forwarded');
    assert.equal(up.body.contents[0].parts[0].text, 'Hello from the SDK', 'the body went through untouched');
  });

  it('streamGenerateContent with @google/genai', async () => {
    let text = '';
    for await (const ch of await ai.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'Stream it' })) text += ch.text || '';
    assert.ok(text.length > 0);
    assert.match(last().path, /:streamGenerateContent\?alt=sse$/);
  });

  it('a key in ?key= is the gateway key too, and is not passed on', async () => {
    const r = await request('POST', `${gw.url}/api/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent?key=${GW_KEY}`,
      { body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(last().path, '/gemini/v1beta/models/gemini-2.0-flash:generateContent');
    assert.equal(last().headers['x-goog-api-key'], KEYS.GEMINI_API_KEY);
  });
});

describe('OpenAI and Anthropic natively', () => {
  it('/api/openai/v1/chat/completions: the body untouched, Bearer swapped', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'native' }], stream: false, custom_field: 7 };
    const r = await request('POST', `${gw.url}/api/openai/v1/chat/completions`, { headers: bearer(GW_KEY), body });
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(last().path, '/openai/v1/chat/completions');
    assert.equal(last().headers.authorization, `Bearer ${KEYS.OPENAI_API_KEY}`);
    assert.deepEqual(last().body, body);
  });

  it('GET /api/openai/v1/models is passed too', async () => {
    const r = await request('GET', `${gw.url}/api/openai/v1/models`, { headers: bearer(GW_KEY) });
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'list');
    assert.equal(last().method, 'GET');
  });

  it('/api/anthropic/v1/messages with x-api-key', async () => {
    const r = await request('POST', `${gw.url}/api/anthropic/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.type, 'message');
    assert.equal(last().path, '/anthropic/v1/messages');
    assert.equal(last().headers['x-api-key'], KEYS.ANTHROPIC_API_KEY);
  });

  it('an upstream 4xx reaches the client with its status, scrubbed', async () => {
    const r = await request('POST', `${gw.url}/api/openai/v1/chat/completions`, { headers: bearer(GW_KEY), body: { model: 'error-400', messages: [] } });
    assert.equal(r.status, 400);
    assert.ok(!r.text.includes(KEYS.OPENAI_API_KEY));
  });
});

describe('passthrough security', () => {
  const tricks = [
    '/api/openai/v1/../../../etc/passwd',
    '/api/openai/v1/%2e%2e/%2e%2e/admin',
    '/api/openai/v1%2fchat/completions',
    '/api/openai//evil.example/v1/models',
    '/api/openai/v1/models%5c..%5c',
    '/api/openai/@evil.example/v1/models',
    '/api/openai/http://evil.example/v1/models',
    '/api/openai/v1/%252e%252e/models',
    '/api/openai/v1/./models',
  ];
  for (const t of tricks) {
    it(`refused: ${t}`, async () => {
      const before = mock.requests().length;
      const r = await rawRequest(gw.port, 'GET', t, { Authorization: `Bearer ${GW_KEY}` });
      assert.ok(r.status === 400 || r.status === 404, `${t}: ${r.status}`);
      assert.equal(mock.requests().length, before, 'nothing reached an upstream');
    });
  }

  it('the client\'s own provider credentials are never forwarded', async () => {
    const r = await request('POST', `${gw.url}/api/openai/v1/chat/completions`, {
      headers: { ...bearer(GW_KEY), 'x-api-key': 'sk-client-own-key-000000', 'x-goog-api-key': 'client-goog-key-0000' },
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(r.status, 200);
    const h = JSON.stringify(last().headers);
    assert.ok(!h.includes('sk-client-own-key') && !h.includes('client-goog-key'));
    assert.equal(last().headers.authorization, `Bearer ${KEYS.OPENAI_API_KEY}`);
  });

  it('no gateway key, or a revoked one: refused on passthrough', async () => {
    assert.equal((await request('GET', `${gw.url}/api/openai/v1/models`)).status, 401);
    const made = await keysTool(gw, ['create', '--name', 'temp']);
    const key = made.stdout.trim();
    const id = /created key (k_[0-9a-f]+)/.exec(made.stderr)[1];
    for (let i = 0; i < 40 && (await request('GET', `${gw.url}/api/openai/v1/models`, { headers: bearer(key) })).status !== 200; i++) await sleep(50);
    assert.equal((await keysTool(gw, ['revoke', id])).code, 0);
    let status = 200;
    for (let i = 0; i < 40 && status === 200; i++) {
      status = (await request('GET', `${gw.url}/api/openai/v1/models`, { headers: bearer(key) })).status;
      if (status === 200) await sleep(50);
    }
    assert.equal(status, 401);
  });

  it('an unknown provider is not a passthrough', async () => {
    const r = await request('GET', `${gw.url}/api/nowhere/models`, { headers: bearer(GW_KEY) });
    assert.equal(r.status, 404);
  });
});

describe('embeddings and images', () => {
  let oai;
  before(() => { oai = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 }); });

  it('SiliconFlow embeddings by model name', async () => {
    const r = await oai.embeddings.create({ model: 'BAAI/bge-large-zh-v1.5', input: ['你好', 'hello world'] });
    assert.equal(r.data.length, 2);
    assert.ok(Array.isArray(r.data[0].embedding));
    assert.equal(last().path, '/siliconflow/v1/embeddings');
    assert.equal(last().headers.authorization, `Bearer ${KEYS.SILICONFLOW_API_KEY}`);
  });

  it('OpenAI embeddings', async () => {
    const r = await oai.embeddings.create({ model: 'text-embedding-3-small', input: 'one' });
    assert.ok(r.usage.prompt_tokens > 0);
    assert.equal(last().path, '/openai/v1/embeddings');
  });

  it('images: SiliconFlow Kolors and OpenAI gpt-image-1', async () => {
    const sf = await request('POST', `${gw.url}/v1/images/generations`, { headers: bearer(GW_KEY), body: { model: 'Kwai-Kolors/Kolors', prompt: 'a cat' } });
    assert.equal(sf.status, 200);
    assert.ok(sf.json.images[0].url);
    assert.equal(last().path, '/siliconflow/v1/images/generations');
    const im = await oai.images.generate({ model: 'gpt-image-1', prompt: 'a dog' });
    assert.ok(im.data[0].b64_json);
  });

  it('a chat-only provider is refused clearly', async () => {
    await assert.rejects(oai.embeddings.create({ model: 'claude-haiku-4-5', input: 'x' }), (e) => e.status === 400);
  });

  it('usage records name each endpoint', async () => {
    await sleep(5500);
    const dir = path.join(gw.stateDir, 'spool');
    const recs = fs.readdirSync(dir).filter((n) => /\.(ready|open)$/.test(n))
      .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    const emb = recs.filter((r) => r.endpoint === 'embeddings' && r.status === 200);
    assert.ok(emb.length >= 2 && emb.every((r) => r.prompt > 0), JSON.stringify(emb));
    const img = recs.filter((r) => r.endpoint === 'images' && r.model === 'gpt-image-1');
    assert.equal(img[0].completion, 1056);
    const pass = recs.filter((r) => r.endpoint === 'passthrough' && r.provider === 'gemini' && r.status === 200);
    assert.ok(pass.length >= 2 && pass.every((r) => r.model === 'gemini-2.0-flash' && r.prompt > 0), JSON.stringify(pass));
    const text = JSON.stringify(recs) + gw.errorLog();
    for (const k of [...Object.values(KEYS), GW_KEY]) assert.ok(!text.includes(k));
  });
});
