#!/usr/bin/env node
// Self-check of the Anthropic and Gemini mocks: serves them on an ephemeral
// port (/anthropic/... and /gemini/..., as upstream.js mounts them) and
// checks a few requests with fetch. Run: node tests/mock/dialects.selftest.js

'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');
const { createAnthropicHandler } = require('./anthropic.js');
const { createGeminiHandler } = require('./gemini.js');

const keys = { 'sk-ant-limited': { status: 429, retryAfter: 7, times: 1 }, 'g-limited': { status: 429, retryAfter: 5 } };
const anthropic = createAnthropicHandler({ keys });
const gemini = createGeminiHandler({ keys });

function sseEvents(text) {
  return text.split(/\r?\n\r?\n/).filter(Boolean).map((block) => {
    const ev = { event: '', data: '' };
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data += line.slice(6);
    }
    return ev;
  });
}

async function main() {
  const records = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = { path: req.url, eventTimes: [] };
      records.push(rec);
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.url.startsWith('/anthropic/')) return anthropic(req, res, raw, rec);
      if (req.url.startsWith('/gemini/')) return gemini(req, res, raw, rec);
      res.writeHead(404).end();
      return undefined;
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const checks = [];
  const check = async (name, fn) => { await fn(); checks.push(name); process.stdout.write(`ok ${checks.length} - ${name}\n`); };

  const ant = (body, headers = {}) => fetch(`${base}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
  const tools = [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];

  try {
    await check('anthropic: JSON answer with usage and cache reads', async () => {
      const r = await ant({ model: 'claude-x', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal(r.status, 200);
      const j = await r.json();
      assert.equal(j.type, 'message');
      assert.equal(j.stop_reason, 'end_turn');
      assert.equal(j.content[0].text, 'Hello from anthropic mock model claude-x');
      assert.equal(typeof j.usage.cache_read_input_tokens, 'number');
      assert.ok(j.usage.cache_read_input_tokens > 0);
    });

    await check('anthropic: tool_use when tools are given, text after the tool_result', async () => {
      let r = await ant({ model: 'claude-x', max_tokens: 64, tools, messages: [{ role: 'user', content: 'Weather?' }] });
      const j = await r.json();
      assert.equal(j.stop_reason, 'tool_use');
      const tu = j.content.find((b) => b.type === 'tool_use');
      assert.deepEqual(tu.input, { city: 'Paris' });
      r = await ant({
        model: 'claude-x', max_tokens: 64, tools, messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: j.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: tu.id, content: '18C' }] },
        ],
      });
      const k = await r.json();
      assert.equal(k.content[0].text, 'Tool said: 18C');
    });

    await check('anthropic: the documented SSE event sequence', async () => {
      const r = await ant({ model: 'claude-x', max_tokens: 64, stream: true, tools, messages: [{ role: 'user', content: 'Weather?' }] });
      assert.match(r.headers.get('content-type'), /text\/event-stream/);
      const evs = sseEvents(await r.text());
      const names = evs.map((e) => e.event);
      assert.deepEqual(names.slice(0, 3), ['message_start', 'content_block_start', 'ping']);
      assert.deepEqual(names.slice(-2), ['message_delta', 'message_stop']);
      for (const e of evs) assert.equal(JSON.parse(e.data).type, e.event);
      assert.ok(evs.some((e) => e.data.includes('input_json_delta')));
      assert.equal(JSON.parse(evs.at(-2).data).delta.stop_reason, 'tool_use');
    });

    await check('anthropic: errors in Anthropic shape; 429 with retry-after', async () => {
      let r = await ant({ model: 'claude-x', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }, { 'anthropic-version': '' });
      assert.equal(r.status, 400);
      assert.deepEqual(Object.keys(await r.json()), ['type', 'error']);
      r = await ant({ model: 'claude-x', messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal((await r.json()).error.message, 'max_tokens: Field required');
      r = await ant({ model: 'claude-x', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }, { 'x-api-key': 'sk-ant-limited' });
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.equal((await r.json()).error.type, 'rate_limit_error');
      r = await ant({ model: 'claude-x', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }, { 'x-api-key': 'sk-ant-limited' });
      assert.equal(r.status, 200, 'a rule with times: 1 applies once');
      r = await ant({ model: 'overloaded', max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal(r.status, 529);
      assert.equal((await r.json()).error.type, 'overloaded_error');
    });

    const gem = (model, body, { stream = false, query = '', headers = { 'x-goog-api-key': 'g-test' } } = {}) => fetch(
      `${base}/gemini/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}${query}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
    );
    const hi = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] };

    await check('gemini: generateContent with the key as a query parameter', async () => {
      const r = await gem('gemini-2.5-flash', { ...hi, systemInstruction: { parts: [{ text: 'Be brief.' }] } },
        { query: '?key=g-test', headers: {} });
      assert.equal(r.status, 200);
      const j = await r.json();
      assert.equal(j.candidates[0].finishReason, 'STOP');
      assert.equal(j.candidates[0].content.parts[0].text, 'Hello from gemini mock model gemini-2.5-flash');
      assert.ok(j.usageMetadata.cachedContentTokenCount > 0);
    });

    await check('gemini: streamGenerateContent?alt=sse, usage and finishReason at the end', async () => {
      const r = await gem('gemini-2.5-pro', hi, { stream: true });
      assert.match(r.headers.get('content-type'), /text\/event-stream/);
      const evs = sseEvents(await r.text()).map((e) => JSON.parse(e.data));
      assert.ok(evs.length > 2);
      assert.equal(evs.at(-1).candidates[0].finishReason, 'STOP');
      assert.equal(evs.at(-1).usageMetadata.thoughtsTokenCount, 12);
      assert.equal(evs.map((e) => e.candidates[0].content.parts[0].text).join(''), 'Hello from gemini mock model gemini-2.5-pro');
    });

    await check('gemini: functionCall with tools; gemini-3 wants the thought signature back', async () => {
      const body = {
        ...hi,
        tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object' } }] }],
      };
      let r = await gem('gemini-3-pro-preview', body);
      const j = await r.json();
      const part = j.candidates[0].content.parts[0];
      assert.equal(part.functionCall.name, 'get_weather');
      assert.ok(part.thoughtSignature);
      const next = (p) => ({
        ...body,
        contents: [...hi.contents, { role: 'model', parts: [p] },
          { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 18 } } }] }],
      });
      r = await gem('gemini-3-pro-preview', next({ functionCall: part.functionCall }));
      assert.equal(r.status, 400);
      assert.match((await r.json()).error.message, /thought_signature/);
      r = await gem('gemini-3-pro-preview', next(part));
      assert.equal(r.status, 200);
      assert.equal((await r.json()).candidates[0].content.parts[0].text, 'Tool said: {"temp":18}');
    });

    await check('gemini: blocked and safety-stop models', async () => {
      let r = await gem('blocked', hi);
      let j = await r.json();
      assert.equal(j.promptFeedback.blockReason, 'SAFETY');
      assert.equal(j.candidates, undefined);
      r = await gem('safety-stop', hi, { stream: true });
      const evs = sseEvents(await r.text()).map((e) => JSON.parse(e.data));
      assert.equal(evs.at(-1).candidates[0].finishReason, 'SAFETY');
      r = await gem('safety-stop', hi);
      j = await r.json();
      assert.equal(j.candidates[0].finishReason, 'SAFETY');
    });

    await check('gemini: errors in Gemini shape (no key, bad key, unknown field, 429 RetryInfo)', async () => {
      let r = await gem('gemini-2.5-flash', hi, { headers: {} });
      assert.equal(r.status, 403);
      assert.equal((await r.json()).error.status, 'PERMISSION_DENIED');
      r = await gem('gemini-2.5-flash', hi, { headers: { 'x-goog-api-key': 'bad-key' } });
      assert.equal(r.status, 400);
      let j = await r.json();
      assert.equal(j.error.details[0].reason, 'API_KEY_INVALID');
      r = await gem('gemini-2.5-flash', { ...hi, messages: [] });
      assert.equal(r.status, 400);
      assert.match((await r.json()).error.message, /Unknown name "messages"/);
      r = await gem('gemini-2.5-flash', hi, { headers: { 'x-goog-api-key': 'g-limited' } });
      assert.equal(r.status, 429);
      j = await r.json();
      assert.equal(j.error.status, 'RESOURCE_EXHAUSTED');
      assert.equal(j.error.details[0].retryDelay, '5s');
    });

    assert.ok(records.length > 10, 'requests were recorded');
    process.stdout.write(`1..${checks.length}\n`);
  } finally {
    server.close();
    if (server.closeAllConnections) server.closeAllConnections();
  }
}

main().catch((err) => {
  process.stdout.write(`not ok - ${err.stack || err}\n`);
  process.exitCode = 1;
});
