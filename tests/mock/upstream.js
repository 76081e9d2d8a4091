#!/usr/bin/env node
// Mock LLM upstream for the integration tests: speaks the OpenAI
// chat-completions wire format (JSON and SSE) the way DeepSeek, Moonshot
// (Kimi), Zhipu (GLM) and OpenAI serve it, records every request it gets, and
// misbehaves on demand (429/401 per key, slow, broken and hanging answers).
//
// Module:  const { createMock } = require('./upstream.js');
//          const m = await createMock({ port: 0 });
//          m.url, m.port, m.requests(), m.reset(), m.configure(opts), m.close()
// CLI:     node upstream.js [--port N] [--host 127.0.0.1]
//          prints "LISTENING <port>" then serves until killed.
//          GET /_mock/requests, POST /_mock/reset, POST /_mock/config
//
// Flavour = first path segment: deepseek, moonshot, zai, anything else = openai.
// POST .../responses: OpenAI's Responses API (tests/mock/responses.js).
// Special upstream model names: slow-first-byte, trickle, cut-stream,
// error-400, error-500, hang, garbage, and the ones that keep coming
// (any path and dialect, the model named in the body or, as Gemini does,
// in the path; each ends when the client closes):
//   drip-head       the response head one byte every dripMs, then the body
//   drip-body       the head at once, then a JSON body dripBytes bytes every
//                   dripMs
//   endless-stream  an event stream (whatever the request's "stream") that
//                   never ends: a content event every endlessMs, each with
//                   endlessPad characters of padding; it waits while the
//                   socket is full (rec.waitingDrain)
//
// configure() options (shallow-merged into the current config; reset() clears):
//   keys:          { "<key>": { status, retryAfter, message, times } }
//                  status 401/403 -> OpenAI "Incorrect API key provided: <key>"
//                  status 429     -> rate-limit error, Retry-After if retryAfter
//                  other          -> generic error body; message may hold {key}
//                  times          -> apply only to the next N requests with it
//   flavours:      { "<flavour>": { status, retryAfter, message, times } }
//   delayMs:       wait before headers for slow-first-byte (default 1500)
//   trickleEvents: content events for trickle (default 10)
//   trickleMs:     gap between trickle events (default 150)
//   dripMs:        gap between the pieces of drip-head and drip-body (200)
//   dripBytes:     bytes per drip-body piece (8)
//   endlessMs:     gap between endless-stream events (50)
//   endlessPad:    padding characters per endless-stream event (0)
//   toolCall:      { name, arguments }: a coding agent's tool round trip, in
//                  the chat, Anthropic and Responses dialects: a request
//                  offering a tool of that name gets a call of it with those
//                  arguments (a Responses custom tool: arguments.input as its
//                  input); one whose last turn is that call's result gets
//                  the text "Tool said: <result>"
//   answer:        text the chat answers say instead of "Hello from ...", two
//                  characters (code points) per stream event (also Gemini's)
//   embeddingDims: dimensions of /embeddings answers without "dimensions"
//                  (256): hashed character n-grams, deterministic per text;
//                  the chat model 'echo-context' answers with its system
//                  messages (the context a gateway added)

'use strict';

const { createAnthropicHandler } = require('./anthropic.js');
const { createGeminiHandler } = require('./gemini.js');
const { handleResponses } = require('./responses.js');

const http = require('node:http');
const https = require('node:https');

const DEFAULTS = Object.freeze({
  delayMs: 1500,
  trickleEvents: 10,
  trickleMs: 150,
  dripMs: 200,
  dripBytes: 8,
  endlessMs: 50,
  endlessPad: 0,
});

const KEEPS_COMING = new Set(['drip-head', 'drip-body', 'endless-stream']);

const MAX_BODY = 16 * 1024 * 1024;

function flavourOf(path) {
  const seg = path.split('?')[0].split('/').filter(Boolean)[0] || '';
  if (seg === 'deepseek' || seg === 'moonshot' || seg === 'zai') return seg;
  return 'openai';
}

function contentChars(messages) {
  let n = 0;
  if (!Array.isArray(messages)) return 0;
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    if (typeof m.content === 'string') n += m.content.length;
    else if (Array.isArray(m.content)) {
      for (const part of m.content) {
        if (part && typeof part.text === 'string') n += part.text.length;
      }
    }
  }
  return n;
}

// A deterministic embedding of text: its character bigrams and trigrams
// and its words (lower case, by code point, so Chinese and English alike),
// hashed (FNV-1a) into dim buckets with a sign, L2-normalised. Texts that
// share words or characters are near; unrelated ones nearly orthogonal.
function hashedEmbedding(text, dims) {
  const dim = Number.isInteger(dims) && dims > 0 && dims <= 4096 ? dims : 256;
  const v = new Array(dim).fill(0);
  const add = (g, w) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < g.length; i++) { h ^= g.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    v[h % dim] += (h & 0x80000000) ? -w : w;
  };
  const cps = Array.from(text.toLowerCase()).filter((c) => !/[\s\p{P}]/u.test(c));
  for (let n = 2; n <= 3; n++) for (let i = 0; i + n <= cps.length; i++) add(cps.slice(i, i + n).join(''), 1);
  for (const w of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w) add('w:' + w, 2);
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

// Deterministic answer text, split into words (one stream chunk per word).
function answerWords(flavour, model, count) {
  const words = ['Hello', 'from', flavour, 'mock', 'model', String(model)];
  let i = 1;
  while (count && words.length < count) words.push(`w${i++}`);
  if (count && words.length > count) words.length = count;
  return words.map((w, idx) => (idx === 0 ? w : ' ' + w));
}

// The model 'echo-context' answers with the system messages it was sent
// (the context a gateway added), or "(no context)".
function systemText(messages) {
  const text = (messages || []).filter((m) => m && (m.role === 'system' || m.role === 'developer'))
    .map((m) => (typeof m.content === 'string' ? m.content
      : Array.isArray(m.content) ? m.content.map((p) => (p && p.text) || '').join('') : '')).join('\n');
  return text || '(no context)';
}

// A configured answer in pieces of two code points (so a stream splits
// multi-byte UTF-8 text across events).
function answerPieces(text) {
  const cps = Array.from(text);
  const out = [];
  for (let i = 0; i < cps.length; i += 2) out.push(cps.slice(i, i + 2).join(''));
  return out;
}

const REASONING_WORDS = ['Let', ' me', ' think.'];

function isReasoner(model) {
  return /reasoner|thinking/.test(String(model));
}

function buildUsage(flavour, req, completionTokens, reasoningTokens) {
  const prompt = 10 + Math.floor(contentChars(req.messages) / 4);
  const total = prompt + completionTokens;
  const base = {
    prompt_tokens: prompt,
    completion_tokens: completionTokens,
    total_tokens: total,
  };
  switch (flavour) {
    case 'deepseek': {
      const hit = prompt >= 64 ? 64 : 0;
      const u = {
        ...base,
        prompt_tokens_details: { cached_tokens: hit },
        prompt_cache_hit_tokens: hit,
        prompt_cache_miss_tokens: prompt - hit,
      };
      if (reasoningTokens) u.completion_tokens_details = { reasoning_tokens: reasoningTokens };
      return u;
    }
    case 'moonshot':
      return { ...base, cached_tokens: 0 };
    case 'zai':
      return { ...base, prompt_tokens_details: { cached_tokens: 0 } };
    default:
      return {
        ...base,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoningTokens || 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      };
  }
}

function logprobsFor(token) {
  return {
    token,
    logprob: -0.25,
    bytes: Array.from(Buffer.from(token, 'utf8')),
    top_logprobs: [],
  };
}

function toolCallFor(req) {
  const tool = req.tools.find((t) => t && t.function && t.function.name) || req.tools[0];
  const name = (tool && tool.function && tool.function.name) || 'tool';
  return { id: 'call_mock_0', type: 'function', name, args: ['{"city":', '"Paris"}'] };
}

function errorBody(message, type, code, param = null) {
  return JSON.stringify({ error: { message, type, param, code } });
}

function keyErrorResponse(status, key, rule) {
  const msg = rule.message ? String(rule.message).split('{key}').join(key) : null;
  if (status === 401 || status === 403) {
    return errorBody(
      msg || `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error', 'invalid_api_key');
  }
  if (status === 429) {
    const wait = rule.retryAfter != null ? `${rule.retryAfter}s` : '20s';
    return errorBody(
      msg || `Rate limit reached for requests on this organization. Limit: 3 / min. Please try again in ${wait}.`,
      'requests', 'rate_limit_exceeded');
  }
  if (status >= 500) {
    return errorBody(msg || 'The server had an error while processing your request. Sorry about that!',
      'server_error', null);
  }
  return errorBody(msg || `Request rejected with status ${status}.`, 'invalid_request_error', null);
}

async function createMock(opts = {}) {
  const host = opts.host || '127.0.0.1';
  let config = { ...DEFAULTS };
  let records = [];
  let seq = 0;

  function configure(o = {}) {
    config = { ...config, ...o };
    return config;
  }
  function reset() {
    records = [];
    config = { ...DEFAULTS };
  }

  // Applies a per-key / per-flavour rule; returns it if it fires.
  function takeRule(table, name) {
    if (!table || !Object.prototype.hasOwnProperty.call(table, name)) return null;
    const rule = table[name];
    if (!rule) return null;
    if (rule.times != null) {
      if (rule.times <= 0) return null;
      rule.times -= 1;
    }
    return rule;
  }

  // opts.tls = { key, cert } (PEM): HTTPS; opts.keepAliveTimeout: ms an
  // idle connection stays open (default: node's 5 s); opts.dropAfterMs:
  // close every connection this long after an answer, without a word (as
  // a server or a middlebox that forgets idle connections does)
  const serverOpts = { noDelay: true, ...(opts.tls || {}) };
  let connections = 0;
  const server = (opts.tls ? https : http).createServer(serverOpts, (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      handle(req, res, raw);
    });
    req.on('error', () => {});
    if (opts.dropAfterMs) {
      const sock = req.socket;
      res.on('finish', () => setTimeout(() => sock.destroy(), opts.dropAfterMs));
    }
  });

  function json(res, status, text, extraHeaders = {}) {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...extraHeaders,
    });
    res.end(text);
  }

  function handle(req, res, raw) {
    const path = req.url;
    // Control endpoints (not recorded).
    if (path.startsWith('/_mock/')) {
      if (req.method === 'GET' && path === '/_mock/requests') return json(res, 200, JSON.stringify(records));
      if (req.method === 'POST' && path === '/_mock/reset') { reset(); return json(res, 200, '{"ok":true}'); }
      if (req.method === 'POST' && path === '/_mock/config') {
        let o;
        try { o = raw ? JSON.parse(raw) : {}; } catch { return json(res, 400, '{"ok":false}'); }
        configure(o);
        return json(res, 200, '{"ok":true}');
      }
      return json(res, 404, '{"ok":false}');
    }

    let body = null;
    try { body = raw ? JSON.parse(raw) : null; } catch { body = null; }
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    const rec = {
      id: ++seq,
      t: Date.now(),
      method: req.method,
      path,
      headers,
      body,
      raw,
      status: null,
      eventsSent: 0,
      eventTimes: [],
      finished: false,
      finishedAt: null,
      closedEarly: false,
      closedAt: null,
      usageReported: null,   // the usage object the client was sent, if any
    };
    records.push(rec);

    res.on('finish', () => { rec.finished = true; rec.finishedAt = Date.now(); });
    res.on('close', () => {
      if (!rec.finished) { rec.closedEarly = true; rec.closedAt = Date.now(); }
    });
    const send = (status, text, extra) => { rec.status = status; json(res, status, text, extra); };

    // the answers that keep coming, whatever the dialect (Gemini names the
    // model in the path)
    const named = (body && typeof body.model === 'string' && body.model) || (/\/models\/([^/:?]+)/.exec(path) || [])[1];
    if (KEEPS_COMING.has(named)) {
      const bare0 = path.split('?')[0];
      const text = /\/(embeddings|images\/generations)$/.test(bare0)
        ? JSON.stringify({ object: 'list', model: named, data: [], usage: { prompt_tokens: 1, total_tokens: 1 } })
        : JSON.stringify(completionFor({ messages: [], ...(body || {}), model: named }, flavourOf(path), rec));
      return keepsComing(res, rec, named, text);
    }

    // Anthropic's and Gemini's own wire formats (tests/mock/anthropic.js, gemini.js)
    const first = path.split('/')[1];
    if (first === 'anthropic') return createAnthropicHandler({ keys: config.keys || {}, toolCall: config.toolCall })(req, res, raw, rec);
    if (first === 'gemini') return createGeminiHandler({ keys: config.keys || {}, answer: config.answer, answerPieces, toolCall: config.toolCall })(req, res, raw, rec);

    const bare = path.split('?')[0];
    if (/\/responses$/.test(bare)) return handleResponses(req, res, body, rec, { toolCall: config.toolCall });   // tests/mock/responses.js
    if (/\/(embeddings|images\/generations|models)$/.test(bare)) return otherEndpoint(req, res, rec, body, bare, headers, send);
    if (!/\/chat\/completions$/.test(bare)) {
      return send(404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
    }
    if (req.method !== 'POST') {
      return send(405, errorBody(`Method ${req.method} not allowed`, 'invalid_request_error', null));
    }
    const auth = headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
    if (!m) {
      return send(401, errorBody(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error', null));
    }
    const key = m[1].trim();
    const flavour = flavourOf(path);

    const rule = takeRule(config.keys, key) || takeRule(config.flavours, flavour);
    if (rule && rule.status && rule.status !== 200) {
      const extra = {};
      if (rule.status === 429 && rule.retryAfter != null) extra['Retry-After'] = String(rule.retryAfter);
      return send(rule.status, keyErrorResponse(rule.status, key, rule), extra);
    }

    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return send(400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    }
    if (typeof body.model !== 'string' || !body.model) {
      return send(400, errorBody('you must provide a model parameter', 'invalid_request_error', null, 'model'));
    }
    if (!Array.isArray(body.messages)) {
      return send(400, errorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages'));
    }

    const model = body.model;
    const stream = body.stream === true;

    switch (model) {
      case 'error-400':
        return send(400, errorBody("Invalid value for 'temperature': expected a number between 0 and 2 (mock error-400).",
          'invalid_request_error', 'invalid_value', 'temperature'));
      case 'error-500':
        return send(500, errorBody('The server had an error while processing your request. Sorry about that!',
          'server_error', null));
      case 'garbage':
        rec.status = 200;
        res.writeHead(200, { 'Content-Type': stream ? 'text/event-stream' : 'application/json' });
        res.end('<html><body>502 Bad Gateway (not json at all)</body></html>\n');
        return undefined;
      case 'hang':
        // Never answer; the record is closed when the client goes away.
        return undefined;
      case 'slow-first-byte': {
        const timer = setTimeout(() => {
          if (res.destroyed) return;
          answer(req, res, rec, body, flavour, key);
        }, config.delayMs);
        res.on('close', () => clearTimeout(timer));
        return undefined;
      }
      default:
        return answer(req, res, rec, body, flavour, key);
    }
  }

  // OpenAI's embeddings and images endpoints (SiliconFlow's image answer has
  // its own shape), and GET .../models, as the providers serve them.
  function otherEndpoint(req, res, rec, body, bare, headers, send) {
    const auth = headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
    if (!m) return send(401, errorBody('Missing bearer authentication in header', 'invalid_request_error', null));
    const rule = takeRule(config.keys, m[1].trim());
    if (rule && rule.status && rule.status !== 200) {
      const extra = {};
      if (rule.status === 429 && rule.retryAfter != null) extra['Retry-After'] = String(rule.retryAfter);
      return send(rule.status, keyErrorResponse(rule.status, m[1].trim(), rule), extra);
    }
    const flavour = flavourOf(bare);
    if (bare.endsWith('/models')) {
      if (req.method !== 'GET') return send(405, errorBody('Method not allowed', 'invalid_request_error', null));
      return send(200, JSON.stringify({ object: 'list', data: [{ id: `${flavour}-model`, object: 'model', created: 1700000000, owned_by: flavour }] }));
    }
    if (req.method !== 'POST') return send(405, errorBody('Method not allowed', 'invalid_request_error', null));
    if (!body || typeof body.model !== 'string') return send(400, errorBody('you must provide a model parameter', 'invalid_request_error', null, 'model'));
    if (bare.endsWith('/embeddings')) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const prompt = inputs.reduce((n, t) => n + Math.ceil(String(t).length / 4), 0);
      rec.usageReported = { prompt_tokens: prompt, total_tokens: prompt };
      return send(200, JSON.stringify({
        object: 'list', model: body.model,
        data: inputs.map((t, i) => ({ object: 'embedding', index: i, embedding: hashedEmbedding(String(t), body.dimensions || config.embeddingDims) })),
        usage: rec.usageReported,
      }));
    }
    // images
    const n = Number.isInteger(body.n) ? body.n : 1;
    if (bare.split('/')[1] === 'siliconflow') {
      return send(200, JSON.stringify({ images: Array.from({ length: n }, (_, i) => ({ url: `https://example.invalid/img/${i}.png` })), timings: { inference: 0.5 }, seed: 42 }));
    }
    const out = { created: Math.floor(Date.now() / 1000), data: Array.from({ length: n }, () => ({ b64_json: 'iVBORw0KGgo=' })) };
    if (/^gpt-image/.test(body.model)) {
      rec.usageReported = { input_tokens: 12, output_tokens: 1056, total_tokens: 1068 };
      out.usage = rec.usageReported;
    }
    return send(200, JSON.stringify(out));
  }

  // A plain chat completion (for the models that keep coming).
  function completionFor(body, flavour, rec) {
    const words = answerWords(flavour, body.model, 0);
    return {
      id: `chatcmpl-mock${rec.id}`, object: 'chat.completion', created: Math.floor(rec.t / 1000), model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, logprobs: null, finish_reason: 'stop' }],
      usage: buildUsage(flavour, body, words.length, 0),
    };
  }

  // drip-head, drip-body, endless-stream: an answer that keeps coming, a
  // little at a time, until it is whole (text is the JSON body) or, for
  // endless-stream, until the client goes away. rec.bytesSent counts.
  function keepsComing(res, rec, model, text) {
    rec.status = 200;
    rec.bytesSent = 0;
    let timer = null;
    res.on('close', () => { if (timer) clearTimeout(timer); });
    if (model === 'drip-head') {
      // written to the socket byte by byte: node's own writer sends a head whole
      const sock = res.socket;
      const all = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Mock-Padding: ${'p'.repeat(64)}\r\n`
        + `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
      const drip = () => {
        timer = null;
        if (sock.destroyed) return;
        if (rec.bytesSent >= all.length) { rec.finished = true; rec.finishedAt = Date.now(); sock.end(); return; }
        sock.write(all.subarray(rec.bytesSent, rec.bytesSent + 1));
        rec.bytesSent += 1;
        timer = setTimeout(drip, config.dripMs);
      };
      sock.on('close', () => { if (timer) clearTimeout(timer); });
      return drip();
    }
    if (model === 'drip-body') {
      const all = Buffer.from(text);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': all.length });
      res.flushHeaders();
      const drip = () => {
        timer = null;
        if (res.destroyed) return;
        if (rec.bytesSent >= all.length) { res.end(); return; }
        const n = Math.max(1, config.dripBytes);
        res.write(all.subarray(rec.bytesSent, rec.bytesSent + n));
        rec.bytesSent += n;
        timer = setTimeout(drip, config.dripMs);
      };
      return drip();
    }
    // endless-stream
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const id = `chatcmpl-mock${rec.id}`;
    const pad = 'x'.repeat(config.endlessPad);
    const next = () => {
      timer = null;
      if (res.destroyed || res.writableEnded) return;
      const delta = rec.eventsSent === 0 ? { role: 'assistant', content: '' } : { content: ` w${rec.eventsSent}${pad}` };
      const line = `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(rec.t / 1000), model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
      const more = res.write(line);
      rec.bytesSent += Buffer.byteLength(line);
      rec.eventsSent += 1;
      // a reader that does not keep up holds the stream back (TCP's
      // back-pressure): rec.waitingDrain while the socket is full
      if (!more) {
        rec.waitingDrain = true;
        return res.once('drain', () => { rec.waitingDrain = false; timer = setTimeout(next, config.endlessMs); });
      }
      timer = setTimeout(next, config.endlessMs);
    };
    return next();
  }

  // config.toolCall in a chat: { call } (the scripted tool call), { text }
  // (the answer to its result), or null (not scripted: the usual answer).
  function scriptedTurn(body) {
    const tc = config.toolCall;
    if (!tc || !Array.isArray(body.messages)) return null;
    const last = body.messages[body.messages.length - 1];
    if (last && last.role === 'tool') {
      const c = typeof last.content === 'string' ? last.content : contentChars([last]) ? last.content.map((p) => p.text || '').join('') : '';
      return { text: `Tool said: ${c}` };
    }
    const offered = Array.isArray(body.tools) && body.tools.some((t) => t && t.function && t.function.name === tc.name);
    if (!offered) return null;
    const args = JSON.stringify(tc.arguments);
    return { call: { id: 'call_mock_0', type: 'function', name: tc.name, args: [args.slice(0, 5), args.slice(5)] } };
  }

  function answer(req, res, rec, body, flavour, key) {
    const model = body.model;
    const stream = body.stream === true;
    const includeUsage = !!(body.stream_options && body.stream_options.include_usage === true);
    const trickle = model === 'trickle';
    let words = model === 'echo-context' ? answerPieces(systemText(body.messages))
      : config.answer && !trickle ? answerPieces(config.answer)
        : answerWords(flavour, model, trickle ? config.trickleEvents : 0);
    const reasoning = isReasoner(model) ? REASONING_WORDS : [];
    const script = scriptedTurn(body);
    const hasTools = script ? !!script.call : Array.isArray(body.tools) && body.tools.length > 0;
    const tool = script ? script.call : hasTools ? toolCallFor(body) : null;
    if (script && script.text) words = answerPieces(script.text);
    const logprobs = body.logprobs === true;
    const id = `chatcmpl-mock${rec.id}`;
    const created = Math.floor(rec.t / 1000);
    const completionTokens = hasTools ? tool.args.length + 1 : words.length + reasoning.length;
    const usage = buildUsage(flavour, body, completionTokens, reasoning.length);
    const finishReason = hasTools ? 'tool_calls' : 'stop';

    if (!stream) {
      const message = { role: 'assistant', content: hasTools ? null : words.join('') };
      if (reasoning.length) message.reasoning_content = reasoning.join('');
      if (hasTools) {
        message.tool_calls = [{
          id: tool.id, type: 'function',
          function: { name: tool.name, arguments: tool.args.join('') },
        }];
      }
      const choice = { index: 0, message, logprobs: null, finish_reason: finishReason };
      if (logprobs && !hasTools) choice.logprobs = { content: words.map(logprobsFor), refusal: null };
      const out = {
        id, object: 'chat.completion', created, model,
        choices: [choice], usage,
        system_fingerprint: 'fp_mock',
      };
      if (model === 'cut-stream') {
        rec.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' });
        res.write(JSON.stringify(out).slice(0, 40));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      const text = JSON.stringify(out);
      if (trickle) {
        const timer = setTimeout(() => {
          if (!res.destroyed) { rec.status = 200; rec.usageReported = usage; json(res, 200, text); }
        }, config.trickleEvents * config.trickleMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      rec.status = 200;
      rec.usageReported = usage;
      json(res, 200, text);
      return;
    }

    // Streaming.
    const chunk = (choices, extra = {}) => {
      const c = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices, ...extra };
      if (flavour === 'openai' && includeUsage && !('usage' in c)) c.usage = null;
      return c;
    };
    const events = [];
    const roleDelta = flavour === 'openai' ? { role: 'assistant', content: '', refusal: null } : { role: 'assistant', content: '' };
    events.push(chunk([{ index: 0, delta: roleDelta, logprobs: null, finish_reason: null }]));
    for (const r of reasoning) {
      events.push(chunk([{ index: 0, delta: { content: null, reasoning_content: r }, logprobs: null, finish_reason: null }]));
    }
    if (hasTools) {
      events.push(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: tool.id, type: 'function', function: { name: tool.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
      for (const a of tool.args) {
        events.push(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] }, logprobs: null, finish_reason: null }]));
      }
    } else {
      for (const w of words) {
        events.push(chunk([{
          index: 0, delta: { content: w },
          logprobs: logprobs ? { content: [logprobsFor(w)], refusal: null } : null,
          finish_reason: null,
        }]));
      }
    }
    // Finish chunk and usage, per flavour.
    switch (flavour) {
      case 'moonshot':
        events.push(chunk([{ index: 0, delta: {}, finish_reason: finishReason, usage }]));
        break;
      case 'zai':
        events.push(chunk([{ index: 0, finish_reason: finishReason, delta: { role: 'assistant', content: '' } }], { usage }));
        break;
      case 'deepseek':
        events.push(chunk([{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: finishReason }],
          includeUsage ? { usage } : {}));
        break;
      default:
        events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]));
        if (includeUsage) events.push(chunk([], { usage }));
    }

    const usageAt = events.findIndex((e) => e.usage || (e.choices[0] && e.choices[0].usage));
    const lines = events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
    lines.push('data: [DONE]\n\n');

    rec.status = 200;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });

    const cut = model === 'cut-stream';
    // For cut-stream: role chunk + 2 content chunks, then the socket dies.
    const limit = cut ? 1 + reasoning.length + 2 : lines.length;
    const gap = trickle ? config.trickleMs : 0;
    let i = 0;
    let timer = null;
    const step = () => {
      timer = null;
      if (res.destroyed || res.writableEnded) return;
      if (i >= limit) {
        if (cut) { res.socket && res.socket.destroy(); res.destroy(); return; }
        res.end();
        return;
      }
      res.write(lines[i]);
      if (i === usageAt) rec.usageReported = usage;
      i += 1;
      rec.eventsSent = i;
      rec.eventTimes.push(Date.now());
      if (gap) timer = setTimeout(step, gap);
      else if (cut && i >= limit) timer = setTimeout(step, 30);
      else setImmediate(step);
    };
    res.on('close', () => { if (timer) clearTimeout(timer); });
    step();
  }

  if (opts.keepAliveTimeout) server.keepAliveTimeout = opts.keepAliveTimeout;
  server.on(opts.tls ? 'secureConnection' : 'connection', () => { connections += 1; });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = server.address().port;

  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://${opts.urlHost || host}:${port}`,
    connections: () => connections,
    requests: () => records.slice(),
    reset,
    configure,
    config: () => config,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      if (server.closeAllConnections) server.closeAllConnections();
    }),
  };
}

module.exports = { createMock, flavourOf, answerWords };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = { port: 0, host: '127.0.0.1' };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port' && i + 1 < args.length) opt.port = Number(args[++i]);
    else if (args[i] === '--host' && i + 1 < args.length) opt.host = args[++i];
    else {
      process.stderr.write('usage: upstream.js [--port N] [--host ADDR]\n');
      process.exit(2);
    }
  }
  if (!Number.isInteger(opt.port) || opt.port < 0 || opt.port > 65535) {
    process.stderr.write('upstream.js: bad --port\n');
    process.exit(2);
  }
  createMock(opt).then((m) => {
    process.stdout.write(`LISTENING ${m.port}\n`);
    const stop = () => { m.close().then(() => process.exit(0)); setTimeout(() => process.exit(0), 1000).unref(); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }, (err) => {
    process.stderr.write(`upstream.js: ${err.message}\n`);
    process.exit(1);
  });
}
