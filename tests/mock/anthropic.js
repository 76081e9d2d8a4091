// Mock of Anthropic's Messages API (POST .../v1/messages) for the
// integration tests: the real wire format in JSON and SSE, with the request
// checks the real API makes that a translating gateway could get wrong.
//
// Module:  const { handleAnthropic, createAnthropicHandler } = require('./anthropic.js');
//          handleAnthropic(req, res, body, record[, opts])
//          const handle = createAnthropicHandler(opts); handle(req, res, body, record)
//   req, res  node:http request and response (the body already read)
//   body      the raw request body (string or Buffer) or the parsed object
//   record    the caller's record of this request, or null; the handler sets
//             record.status, record.eventsSent, record.usageReported (the
//             answer's usage; a stream's message_delta gives its output_tokens)
//             and pushes to record.eventTimes
//   opts      { keys: { "<key>": { status, retryAfter, message, times } },
//               trickleMs, toolCall: { name, arguments } }  (keys as in upstream.js; a rule with times
//               counts down and stops applying at 0)
//
// Auth: "x-api-key" (not Authorization: Bearer); "anthropic-version" is
// required. A key starting with "bad" is refused (401).
//
// Answers: the text "Hello from anthropic mock model <model>" (one text_delta
// per word); with tools (and tool_choice not none) and no tool_result in the
// last user turn, a text block then a tool_use block calling the first tool
// with {"city":"Paris"} (stop_reason tool_use); after a tool_result, the
// text "Tool said: <its content>". opts.toolCall (a coding agent's round
// trip): when the request offers a tool of that name, the tool_use calls it
// with those arguments instead. usage: input_tokens = 10 + characters/4;
// when the request has a system prompt, 64 of them are served from the cache
// (cache_read_input_tokens) and input_tokens holds the rest;
// cache_creation_input_tokens 0.
//
// Special model names: error-400, error-500 (api_error), overloaded (529),
// rate-limit (429 with retry-after: 3), stream-error (an error event after
// the first text delta), cut-stream (the connection dies mid-stream),
// *thinking* (a thinking block first), max-tokens (stop_reason max_tokens).
// With thinking enabled, a turn answering tool calls whose calling turn does
// not start with a signed thinking block is refused (400), as the real API
// refuses it.
// stop_sequences that occur in the answer cut it (stop_reason stop_sequence).
//
// POST .../v1/messages/count_tokens: the same checks without max_tokens,
// answered {"input_tokens": 10 + characters/4}. context_management is
// refused (400) unless anthropic-beta names a context-management beta, as
// the real API does. The headers each request came with are in its record
// (upstream.js: /_mock/requests).

'use strict';

const MODEL_WORDS = ['Hello', 'from', 'anthropic', 'mock', 'model'];

function anthropicError(type, message) {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

const TYPE_OF_STATUS = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
  403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large',
  429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

function typeOfStatus(status) {
  return TYPE_OF_STATUS[status] || (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => {
    if (!b || typeof b !== 'object') return '';
    if (typeof b.text === 'string') return b.text;
    if (b.type === 'tool_result') return textOf(b.content);
    if (b.type === 'tool_use') return JSON.stringify(b.input || {});
    return '';
  }).join('');
}

function promptChars(body) {
  let n = textOf(body.system);
  for (const m of body.messages) n += textOf(m.content);
  return n.length;
}

// The checks of the real API that matter for a translator; returns an error
// message or null.
function validate(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Request body must be a JSON object.';
  if (typeof body.model !== 'string' || !body.model) return 'model: Field required';
  if (!Number.isInteger(body.max_tokens)) return 'max_tokens: Field required';
  if (body.max_tokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
  if (body.temperature !== undefined && (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 1)) {
    return 'temperature: Input should be less than or equal to 1';
  }
  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system) || body.system.some((b) => !b || b.type !== 'text' || typeof b.text !== 'string')) {
      return 'system: Input should be a valid string or a list of text blocks';
    }
  }
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s) => typeof s !== 'string'))) {
    return 'stop_sequences: Input should be a valid list of strings';
  }
  const toolNames = new Set();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (const [i, t] of body.tools.entries()) {
      if (!t || typeof t.name !== 'string' || !t.input_schema || typeof t.input_schema !== 'object') {
        return `tools.${i}: name and input_schema are required`;
      }
      if (t.input_schema.type !== 'object') return `tools.${i}.input_schema.type: Input should be 'object'`;
      toolNames.add(t.name);
    }
  }
  if (body.tool_choice !== undefined) {
    const tc = body.tool_choice;
    if (!tc || !['auto', 'any', 'tool', 'none'].includes(tc.type)) return 'tool_choice: Input tag does not match any of the expected tags';
    if (tc.type === 'tool' && !toolNames.has(tc.name)) return `tool_choice: Tool '${tc.name}' not found in tools`;
  }
  let prevToolUses = new Set();
  for (const [i, m] of body.messages.entries()) {
    if (!m || (m.role !== 'user' && m.role !== 'assistant')) return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m.content === 'string') {
      if (m.content === '' && !(m.role === 'assistant' && i === body.messages.length - 1)) {
        return `messages.${i}: user messages must have non-empty content`;
      }
      prevToolUses = new Set();
      continue;
    }
    if (!Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid string or list`;
    if (m.content.length === 0) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    const uses = new Set();
    let seenOther = false;
    for (const [k, b] of m.content.entries()) {
      const where = `messages.${i}.content.${k}`;
      if (!b || typeof b.type !== 'string') return `${where}.type: Field required`;
      switch (b.type) {
        case 'text':
          if (typeof b.text !== 'string' || b.text.trim() === '') return `${where}: text content blocks must contain non-whitespace text`;
          seenOther = true;
          break;
        case 'image': {
          const s = b.source || {};
          if (m.role !== 'user') return `${where}: image blocks are only allowed in user messages`;
          if (s.type === 'base64') {
            if (!/^image\/(jpeg|png|gif|webp)$/.test(s.media_type)) return `${where}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
            if (typeof s.data !== 'string' || !s.data) return `${where}.source.data: Field required`;
          } else if (s.type === 'url') {
            if (typeof s.url !== 'string' || !/^https?:\/\//.test(s.url)) return `${where}.source.url: Input should be a valid URL`;
          } else {
            return `${where}.source: Input tag does not match any of the expected tags: 'base64', 'url'`;
          }
          seenOther = true;
          break;
        }
        case 'tool_use':
          if (m.role !== 'assistant') return `${where}: tool_use blocks are only allowed in assistant messages`;
          if (typeof b.id !== 'string' || typeof b.name !== 'string') return `${where}: id and name are required`;
          if (!b.input || typeof b.input !== 'object' || Array.isArray(b.input)) return `${where}.input: Input should be a valid dictionary`;
          uses.add(b.id);
          break;
        case 'tool_result':
          if (m.role !== 'user') return `${where}: tool_result blocks are only allowed in user messages`;
          if (seenOther) return `messages.${i}: tool_result blocks must come first in the message content`;
          if (!prevToolUses.has(b.tool_use_id)) {
            return `messages.${i}.content.${k}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. ` +
              'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.';
          }
          break;
        case 'thinking':
        case 'redacted_thinking':
          if (m.role !== 'assistant') return `${where}: thinking blocks are only allowed in assistant messages`;
          break;
        default:
          return `${where}.type: Input tag '${b.type}' found using 'type' does not match any of the expected tags`;
      }
    }
    if (uses.size && toolNames.size === 0) return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
    prevToolUses = m.role === 'assistant' ? uses : new Set();
  }
  return thinkingInToolLoop(body);
}

// With thinking on, a turn that answers tool calls needs the calling turn to
// start with its (signed) thinking block, as the real API says.
function thinkingInToolLoop(body) {
  if (!body.thinking || !['enabled', 'adaptive'].includes(body.thinking.type)) return null;
  const msgs = body.messages;
  const last = msgs[msgs.length - 1];
  if (!Array.isArray(last.content) || !last.content.some((b) => b && b.type === 'tool_result')) return null;
  const i = msgs.length - 2;
  const first = i >= 0 && Array.isArray(msgs[i].content) ? msgs[i].content[0] : null;
  if (first && (first.type === 'thinking' || first.type === 'redacted_thinking') && (first.signature || first.data)) return null;
  return `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first ? first.type : 'text'}\`. `
    + 'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks).';
}

function lastToolResult(body) {
  const last = body.messages[body.messages.length - 1];
  if (!last || last.role !== 'user' || !Array.isArray(last.content)) return null;
  const tr = last.content.find((b) => b && b.type === 'tool_result');
  return tr ? textOf(tr.content) : null;
}

// The answer as content blocks (text split into deltas) and a stop reason.
function plan(body, toolCall) {
  const model = body.model;
  const blocks = [];
  if (/thinking/.test(model)) blocks.push({ type: 'thinking', parts: ['Let me', ' think.'], signature: 'EqQBmocksig' });
  const toolResult = lastToolResult(body);
  const useTool = Array.isArray(body.tools) && body.tools.length > 0 &&
    !(body.tool_choice && body.tool_choice.type === 'none') && toolResult === null;
  let stop = 'end_turn';
  let stopSequence = null;
  if (useTool) {
    const scripted = toolCall && body.tools.find((t) => t.name === toolCall.name);
    const tool = scripted || ((body.tool_choice && body.tool_choice.type === 'tool')
      ? body.tools.find((t) => t.name === body.tool_choice.name) : body.tools[0]);
    if (!(body.tool_choice && body.tool_choice.type === 'any') && !(body.tool_choice && body.tool_choice.type === 'tool')) {
      blocks.push({ type: 'text', parts: ["I'll", ' check.'] });
    }
    const args = scripted ? JSON.stringify(toolCall.arguments) : null;
    blocks.push({ type: 'tool_use', id: 'toolu_mock_01', name: tool.name,
      parts: scripted ? ['', args.slice(0, 5), args.slice(5)] : ['', '{"city":', ' "Paris"}'] });
    stop = 'tool_use';
  } else {
    let words = toolResult !== null
      ? ['Tool', ' said:', ` ${toolResult}`]
      : [...MODEL_WORDS, model].map((w, i) => (i ? ' ' + w : w));
    if (model === 'max-tokens') { words = words.slice(0, 2); stop = 'max_tokens'; }
    if (Array.isArray(body.stop_sequences)) {
      const full = words.join('');
      for (const s of body.stop_sequences) {
        const at = s ? full.indexOf(s) : -1;
        if (at >= 0) {
          const kept = [];
          let len = 0;
          for (const w of words) {
            if (len + w.length > at) { if (at > len) kept.push(w.slice(0, at - len)); break; }
            kept.push(w);
            len += w.length;
          }
          words = kept.length ? kept : [''];
          stop = 'stop_sequence';
          stopSequence = s;
          break;
        }
      }
    }
    blocks.push({ type: 'text', parts: words });
  }
  return { blocks, stop, stopSequence };
}

function usageFor(body, outputTokens) {
  const prompt = 10 + Math.floor(promptChars(body) / 4);
  const cached = body.system ? Math.min(64, prompt) : 0;
  return {
    input_tokens: prompt - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: outputTokens,
  };
}

function blockJson(b) {
  switch (b.type) {
    case 'thinking': return { type: 'thinking', thinking: b.parts.join(''), signature: b.signature };
    case 'tool_use': return { type: 'tool_use', id: b.id, name: b.name, input: JSON.parse(b.parts.join('')) };
    default: return { type: 'text', text: b.parts.join('') };
  }
}

function createAnthropicHandler(opts = {}) {
  let seq = 0;
  const keys = opts.keys || {};

  function takeRule(key) {
    if (!Object.prototype.hasOwnProperty.call(keys, key)) return null;
    const rule = keys[key];
    if (!rule) return null;
    if (rule.times != null) {
      if (rule.times <= 0) return null;
      rule.times -= 1;
    }
    return rule;
  }

  return function handle(req, res, rawBody, record) {
    const rec = record || { eventTimes: [] };
    if (!Array.isArray(rec.eventTimes)) rec.eventTimes = [];
    const id = ++seq;
    const reqId = `req_mock${String(id).padStart(6, '0')}`;
    const send = (status, text, extra = {}) => {
      rec.status = status;
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'request-id': reqId,
        ...extra,
      });
      res.end(text);
    };
    const fail = (status, message, extra) => send(status, anthropicError(typeOfStatus(status), message), extra);

    const path = String(req.url || '').split('?')[0];
    const counting = /\/v1\/messages\/count_tokens$/.test(path);
    if (!counting && !/\/v1\/messages$/.test(path)) return fail(404, `Not found: ${path}`);
    if (req.method !== 'POST') return fail(405, `Method ${req.method} not allowed`);

    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || !key) {
      return fail(401, 'x-api-key header is required');
    }
    if (/^bad/.test(key)) return fail(401, 'invalid x-api-key');
    const rule = takeRule(key);
    if (rule && rule.status && rule.status !== 200) {
      const extra = {};
      if (rule.status === 429) extra['retry-after'] = String(rule.retryAfter != null ? rule.retryAfter : 1);
      const msg = rule.message ? String(rule.message).split('{key}').join(key)
        : rule.status === 429 ? 'Number of request tokens has exceeded your per-minute rate limit'
          : rule.status === 401 ? 'invalid x-api-key' : `Mock error ${rule.status}`;
      return fail(rule.status, msg, extra);
    }
    if (!req.headers['anthropic-version']) return fail(400, 'anthropic-version: header is required');

    let body = rawBody;
    if (Buffer.isBuffer(body)) body = body.toString('utf8');
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { return fail(400, 'There was an error parsing the body of your request: invalid JSON'); }
    }
    // count_tokens takes a messages request without max_tokens
    const bad = validate(counting && body && typeof body === 'object' && !Array.isArray(body) ? { max_tokens: 1, ...body } : body);
    if (bad) return fail(400, bad);
    const betas = String(req.headers['anthropic-beta'] || '').split(',').map((b) => b.trim());
    if (body.context_management !== undefined && !betas.some((b) => b.startsWith('context-management-'))) {
      return fail(400, 'context_management: Extra inputs are not permitted');
    }
    if (counting) return send(200, JSON.stringify({ input_tokens: 10 + Math.floor(promptChars(body) / 4) }));

    switch (body.model) {
      case 'error-400': return fail(400, 'temperature: Input should be a valid number (mock error-400)');
      case 'error-500': return fail(500, 'Internal server error');
      case 'overloaded': return fail(529, 'Overloaded');
      case 'rate-limit': return fail(429, 'Number of requests has exceeded your rate limit', { 'retry-after': '3' });
      default: break;
    }

    const { blocks, stop, stopSequence } = plan(body, opts.toolCall);
    const outputTokens = blocks.reduce((n, b) => n + b.parts.filter(Boolean).length, 0) + 1;
    const usage = usageFor(body, outputTokens);
    const msgId = `msg_mock${String(id).padStart(4, '0')}`;

    if (record) record.usageReported = usage;   // a stream: message_start's, output_tokens at the end
    if (body.stream !== true) {
      return send(200, JSON.stringify({
        id: msgId, type: 'message', role: 'assistant', model: body.model,
        content: blocks.map(blockJson), stop_reason: stop, stop_sequence: stopSequence, usage,
      }));
    }

    // Streaming: the documented event sequence.
    const events = [];
    const ev = (name, data) => events.push(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    ev('message_start', {
      type: 'message_start',
      message: {
        id: msgId, type: 'message', role: 'assistant', content: [], model: body.model,
        stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 },
      },
    });
    blocks.forEach((b, index) => {
      const start = b.type === 'thinking' ? { type: 'thinking', thinking: '' }
        : b.type === 'tool_use' ? { type: 'tool_use', id: b.id, name: b.name, input: {} }
          : { type: 'text', text: '' };
      ev('content_block_start', { type: 'content_block_start', index, content_block: start });
      if (index === 0) ev('ping', { type: 'ping' });
      for (const p of b.parts) {
        const delta = b.type === 'thinking' ? { type: 'thinking_delta', thinking: p }
          : b.type === 'tool_use' ? { type: 'input_json_delta', partial_json: p }
            : { type: 'text_delta', text: p };
        ev('content_block_delta', { type: 'content_block_delta', index, delta });
        if (body.model === 'stream-error' && b.type === 'text') {
          ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
          break;
        }
      }
      if (b.type === 'thinking') {
        ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } });
      }
      ev('content_block_stop', { type: 'content_block_stop', index });
    });
    ev('message_delta', {
      type: 'message_delta', delta: { stop_reason: stop, stop_sequence: stopSequence },
      usage: { output_tokens: outputTokens },
    });
    ev('message_stop', { type: 'message_stop' });

    let lines = events;
    if (body.model === 'stream-error') {
      const at = events.findIndex((e) => e.startsWith('event: error'));
      lines = events.slice(0, at + 1);
    }
    const cut = body.model === 'cut-stream';
    const limit = cut ? Math.min(4, lines.length) : lines.length;

    rec.status = 200;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'request-id': reqId,
    });
    let i = 0;
    let timer = null;
    const gap = opts.trickleMs || 0;
    const step = () => {
      timer = null;
      if (res.destroyed || res.writableEnded) return;
      if (i >= limit) {
        if (cut) { if (res.socket) res.socket.destroy(); res.destroy(); return; }
        res.end();
        return;
      }
      res.write(lines[i]);
      i += 1;
      rec.eventsSent = i;
      rec.eventTimes.push(Date.now());
      if (gap) timer = setTimeout(step, gap);
      else if (cut && i >= limit) timer = setTimeout(step, 30);
      else setImmediate(step);
    };
    res.on('close', () => { if (timer) clearTimeout(timer); });
    step();
    return undefined;
  };
}

const defaultHandler = createAnthropicHandler();

// Handle one request with the module's default state (opts, when given,
// makes a one-off handler with those options).
function handleAnthropic(req, res, body, record, opts) {
  if (opts) return createAnthropicHandler(opts)(req, res, body, record);
  return defaultHandler(req, res, body, record);
}

module.exports = { handleAnthropic, createAnthropicHandler, validateAnthropicRequest: validate };
