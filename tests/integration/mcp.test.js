// The MCP endpoint with the official MCP TypeScript SDK client
// (@modelcontextprotocol/sdk) over both transports: Streamable HTTP at /mcp
// and HTTP+SSE at /sse: initialize, list tools, call each tool (ask_model
// recorded like any chat), a bad key refused; malformed and out-of-order
// messages answered with JSON-RPC errors (raw fetch), sessions and
// protocol versions.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, keysTool, usageRecords } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { waitFor } = require('../lib/client.js');
const { assertNoSecrets } = require('../lib/checks.js');
const { default: OpenAI, toFile } = require('openai');

let Client, StreamableHTTPClientTransport, SSEClientTransport;
try {
  ({ Client } = require('@modelcontextprotocol/sdk/client/index.js'));
  ({ StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js'));
  ({ SSEClientTransport } = require('@modelcontextprotocol/sdk/client/sse.js'));
} catch (e) {
  throw new Error(`npm package "@modelcontextprotocol/sdk" missing: run "npm ci" in tests/ (${e.message})`);
}

const GW_KEY = 'gk-mcp-0123456789abcdef';
const DS_KEY = 'sk-ds-SECRET-mcp-0123456789';
const RAG_KEY = 'sk-rag-SECRET-mcp-0123456789';
const auth = (key = GW_KEY) => ({ Authorization: `Bearer ${key}` });

let mock;
let gw;
const seen = [];

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: {
      ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: DS_KEY,
      // an embedding provider, for search_knowledge
      RAG_BASE_URL: `${mock.url}/siliconflow/v1`, RAG_API_KEY: RAG_KEY, RAG_MODEL: 'BAAI/bge-large-zh-v1.5',
    },
    // stream_ping_s 1: a /sse stream's client gone is seen at the next
    // ping (the web server finds out when it writes to it)
    conf: buildConf({ server: { stream_ping_s: 1 } }) + '[mcp]\nsse_per_key = 2\nsse_max = 3\nsse_idle_s = 60\n',
  });
});

after(async () => {
  if (gw) {
    assertNoSecrets([...seen, gw.errorLog()], [GW_KEY, DS_KEY, RAG_KEY], 'answers and error log');
    await gw.stop();
  }
  if (mock) await mock.close();
});

const spoolRecords = () => usageRecords(gw);

function streamable(key = GW_KEY) {
  return new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: auth(key) } });
}
function sse(key = GW_KEY) {
  return new SSEClientTransport(new URL(`${gw.url}/sse`), { requestInit: { headers: auth(key) } });
}

// initialize, list tools, call each tool; the session ends with close
async function exercise(transport, what) {
  const client = new Client({ name: `llmgate-test-${what}`, version: '1.0.0' });
  await client.connect(transport);
  try {
    assert.equal(client.getServerVersion().name, 'llmgate');
    assert.ok(client.getServerCapabilities().tools, 'tools capability');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ask_model', 'list_models', 'my_usage', 'search_knowledge']);
    for (const t of tools) assert.equal(t.inputSchema.type, 'object', `${t.name} declares its input schema`);
    assert.deepEqual(tools.find((t) => t.name === 'ask_model').inputSchema.required, ['model', 'prompt']);

    mock.reset();
    const recordsBefore = spoolRecords().filter((r) => r.endpoint === 'mcp').length;
    const asked = await client.callTool({ name: 'ask_model', arguments: { model: 'deepseek-chat', prompt: `Hi over ${what}`, max_tokens: 50 } });
    seen.push(JSON.stringify(asked));
    assert.ok(!asked.isError, JSON.stringify(asked));
    assert.equal(asked.content[0].text, 'Hello from deepseek mock model deepseek-chat');
    const up = mock.requests();
    assert.equal(up.length, 1);
    assert.equal(up[0].headers.authorization, `Bearer ${DS_KEY}`);
    assert.deepEqual(up[0].body.messages, [{ role: 'user', content: `Hi over ${what}` }]);
    assert.equal(up[0].body.max_tokens, 50);
    const recs = spoolRecords().filter((r) => r.endpoint === 'mcp');
    assert.equal(recs.length, recordsBefore + 1, 'the chat is recorded once, endpoint "mcp"');
    assert.equal(recs.at(-1).model, 'deepseek-chat');
    assert.match(recs.at(-1).key_id, /^env-/);

    const models = await client.callTool({ name: 'list_models', arguments: {} });
    assert.ok(models.structuredContent.models.some((m) => m.id === 'deepseek-chat'), JSON.stringify(models));

    const usage = await client.callTool({ name: 'my_usage', arguments: {} });
    const u = usage.structuredContent;
    assert.match(u.key_id, /^env-/);
    assert.ok(u.tokens.spent > 0, JSON.stringify(u));
    assert.equal(u.tokens.limit, null);

    const missing = await client.callTool({ name: 'ask_model', arguments: { model: 'no-such-model', prompt: 'x' } });
    assert.equal(missing.isError, true);
    assert.match(missing.content[0].text, /does not exist/);

    await assert.rejects(client.callTool({ name: 'ask_model', arguments: { model: 'deepseek-chat' } }),
      (e) => e.code === -32602 && /'prompt' is required/.test(e.message));
    await assert.rejects(client.callTool({ name: 'nope', arguments: {} }), (e) => e.code === -32602);
  } finally {
    await client.close();
  }
}

// raw JSON-RPC over fetch
async function post(body, headers = {}) {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...auth(), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  seen.push(text);
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
const initMsg = (v = '2025-06-18') => ({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

describe('MCP over Streamable HTTP (/mcp), the SDK client', () => {
  it('initialize, list tools, call each tool', async () => {
    const t = streamable();
    await exercise(t, 'streamable');
  });

  it('a bad key is refused', async () => {
    const client = new Client({ name: 'bad', version: '1' });
    await assert.rejects(client.connect(streamable('gk-wrong-0123456789')), (e) => e.code === 401 || /401/.test(e.message));
  });

  it('a key\'s allow-list and budget: ask_model refused as a tool error, my_usage shows what remains', async () => {
    const made = await keysTool(gw, ['create', '--name', 'mcp-limited', '--models', 'deepseek-r*', '--tokens-month', '100000']);
    assert.equal(made.code, 0, made.stderr);
    const key = made.stdout.match(/sk-lg-[A-Za-z0-9_-]+/)[0];
    const client = new Client({ name: 'limited', version: '1' });
    await client.connect(streamable(key));
    try {
      // llmgate-keys writes the key, then its limits: the router may see the
      // first write alone for a moment (until its next look at state.db)
      const usage = async () => (await client.callTool({ name: 'my_usage', arguments: {} })).structuredContent;
      assert.ok(await waitFor(async () => (await usage()).models_allowed === 'deepseek-r*', { timeoutMs: 5000 }));
      mock.reset();
      const r = await client.callTool({ name: 'ask_model', arguments: { model: 'deepseek-chat', prompt: 'x' } });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /HTTP 403.*may not use model 'deepseek-chat'/);
      assert.equal(mock.requests().length, 0, 'nothing upstream');
      const u = await usage();
      assert.equal(u.key_name, 'mcp-limited');
      assert.equal(u.tokens_month.limit, 100000);
      assert.equal(u.tokens_month.remaining, 100000 - u.tokens_month.spent);
      assert.equal(u.models_allowed, 'deepseek-r*');
      const models = (await client.callTool({ name: 'list_models', arguments: {} })).structuredContent.models;
      assert.ok(models.length > 0 && models.every((m) => m.id.startsWith('deepseek-r')), JSON.stringify(models));
    } finally {
      await client.close();
    }
  });

  it('the session ends with DELETE (terminateSession)', async () => {
    const t = streamable();
    const client = new Client({ name: 'del', version: '1' });
    await client.connect(t);
    const sid = t.sessionId;
    assert.match(sid, /^[0-9a-f]{32}$/);
    await t.terminateSession();
    const after = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': sid });
    assert.equal(after.status, 404);
    assert.equal(after.json.error.code, -32001);
    await client.close();
  });
});

describe('MCP over HTTP+SSE (/sse), the SDK client', () => {
  it('initialize, list tools, call each tool', async () => {
    await exercise(sse(), 'sse');
  });

  it('a bad key is refused', async () => {
    const client = new Client({ name: 'bad', version: '1' });
    await assert.rejects(client.connect(sse('gk-wrong-0123456789')));
  });

  it('streams per key are capped (sse_per_key = 2), closed ones free their places', async () => {
    // a stream closed by its client is seen gone within a second
    const connect = async (name) => {
      const c = await waitFor(async () => {
        const client = new Client({ name, version: '1' });
        try { await client.connect(sse()); return client; } catch { await client.close(); return null; }
      }, { timeoutMs: 10000, intervalMs: 200 });
      assert.ok(c, `${name} connected`);
      return c;
    };
    const a = await connect('a');
    let b;
    try {
      b = await connect('b');
      const res = await fetch(`${gw.url}/sse`, { headers: { ...auth(), Accept: 'text/event-stream' } });
      seen.push(await res.text());
      assert.equal(res.status, 429);
    } finally {
      await a.close();
      if (b) await b.close();
    }
    await (await connect('c')).close();
  });
});

describe('MCP: raw JSON-RPC (fetch)', () => {
  let sid;
  before(async () => {
    const r = await post(initMsg());
    assert.equal(r.status, 200, r.text);
    sid = r.headers.get('mcp-session-id');
    assert.match(sid, /^[0-9a-f]{32}$/);
  });

  it('protocol versions: the asked one when spoken, else the newest', async () => {
    for (const [asked, agreed] of [['2025-06-18', '2025-06-18'], ['2025-03-26', '2025-03-26'], ['2025-11-25', '2025-11-25'], ['1999-01-01', '2025-11-25']]) {
      const r = await post(initMsg(asked));
      assert.equal(r.json.result.protocolVersion, agreed);
    }
    const bad = await post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '1999-01-01' });
    assert.equal(bad.status, 400);
  });

  it('malformed and wrong messages get JSON-RPC errors', async () => {
    const h = { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' };
    const cases = [
      ['{"jsonrpc":"2.0","id":1,"method":', -32700, null],
      ['[]', -32600, null],
      [{ jsonrpc: '1.0', id: 4, method: 'ping' }, -32600, 4],
      [{ jsonrpc: '2.0', id: 5 }, -32600, 5],
      [{ jsonrpc: '2.0', id: null, method: 'ping' }, -32600, null],
      [{ jsonrpc: '2.0', id: 6, method: 'resources/list' }, -32601, 6],
      [{ jsonrpc: '2.0', id: 7, method: 'tools/call', params: [] }, -32602, 7],
      [{ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'ask_model', arguments: { model: 'm', prompt: 'p', extra: 1 } } }, -32602, 8],
      [{ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'ask_model', arguments: { model: 'm', prompt: 'p', max_tokens: 1.5 } } }, -32602, 9],
      ['{"jsonrpc":"2.0","id":10,"id":11,"method":"ping"}', -32600, null],
    ];
    mock.reset();
    for (const [body, code, id] of cases) {
      const r = await post(body, h);
      // a message that cannot be read at all (id null) is a 400, the error its body
      assert.equal(r.status, id === null ? 400 : 200, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.jsonrpc, '2.0');
      assert.equal(r.json.error.code, code, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.id, id);
    }
    assert.equal(mock.requests().length, 0, 'nothing upstream');
    const batch = await post([{ jsonrpc: '2.0', id: 20, method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 21, method: 'nope' }], h);
    assert.deepEqual(batch.json.map((m) => m.id), [20, 21]);
    assert.equal(batch.json[1].error.code, -32601);
    const note = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, h);
    assert.equal(note.status, 202);
    assert.equal(note.text, '');
  });

  it('transport errors: no session 400, unknown session 404, GET 405, wrong content type 415, bad key 401', async () => {
    const ping = { jsonrpc: '2.0', id: 30, method: 'ping' };
    assert.equal((await post(ping)).status, 400);
    assert.equal((await post(ping, { 'Mcp-Session-Id': 'f'.repeat(32) })).status, 404);
    const other = await post(ping, { 'Mcp-Session-Id': sid, Authorization: 'Bearer gk-wrong-0123456789' });
    assert.equal(other.status, 401);
    assert.equal(other.json.error.code, -32001);
    const get = await fetch(`${gw.url}/mcp`, { headers: { ...auth(), Accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    await get.text();
    const ct = await post(JSON.stringify(ping), { 'Content-Type': 'text/plain', 'Mcp-Session-Id': sid });
    assert.equal(ct.status, 415);
  });

  it('an event stream answer when the client takes only that', async () => {
    const r = await post({ jsonrpc: '2.0', id: 40, method: 'ping' }, { 'Mcp-Session-Id': sid, Accept: 'text/event-stream' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(r.text, 'event: message\ndata: {"jsonrpc":"2.0","id":40,"result":{}}\n\n');
  });
});

describe('search_knowledge', () => {
  it('finds a passage of the key\'s own knowledge base; another key\'s base is not found', async () => {
    const sdk = new OpenAI({ apiKey: GW_KEY, baseURL: `${gw.url}/v1` });
    const file = await sdk.files.create({
      file: await toFile(Buffer.from('The lighthouse on Gull Island is painted red and white.\n\n月光图书馆周一闭馆。'), 'notes.txt'),
      purpose: 'assistants',
    });
    const vs = await sdk.vectorStores.create({ name: 'mcp-kb', file_ids: [file.id] });
    const client = new Client({ name: 'llmgate-test-kb', version: '1.0.0' });
    await client.connect(streamable());
    try {
      const r = await client.callTool({ name: 'search_knowledge', arguments: { vector_store_id: vs.id, query: 'What colour is the lighthouse on Gull Island?', max_num_results: 2 } });
      assert.ok(!r.isError, JSON.stringify(r));
      const hits = r.structuredContent.data;
      assert.ok(Array.isArray(hits) && hits.length >= 1, JSON.stringify(r));
      assert.match(hits[0].content[0].text, /red and white/);
      assert.equal(hits[0].file_id, file.id);
      const embeds = spoolRecords().filter((x) => x.endpoint === 'embeddings');
      assert.ok(embeds.length >= 2, 'the document and the question were embedded and recorded');
      assert.ok(embeds.every((x) => /^env-/.test(x.key_id)));
    } finally {
      await client.close();
    }
    // a second key: the store is not its own
    const made = await keysTool(gw, ['create', '--name', 'other']);
    assert.equal(made.code, 0, made.stderr);
    const other = made.stdout.trim();
    assert.ok(await waitFor(async () => (await fetch(`${gw.url}/v1/models`, { headers: auth(other) })).status === 200, { timeoutMs: 5000 }));
    const c2 = new Client({ name: 'llmgate-test-kb2', version: '1.0.0' });
    await c2.connect(streamable(other));
    try {
      const r = await c2.callTool({ name: 'search_knowledge', arguments: { vector_store_id: vs.id, query: 'lighthouse' } });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /No such knowledge base/);
      await assert.rejects(c2.callTool({ name: 'search_knowledge', arguments: { query: 'lighthouse' } }), (e) => e.code === -32602);
    } finally {
      await c2.close();
    }
  });
});
