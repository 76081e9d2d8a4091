// Mock of OpenAI's Responses API (POST .../v1/responses) for the
// integration tests: the documented wire format, kept small.
//
// Module:  const { handleResponses } = require('./responses.js');
//          handleResponses(req, res, body, rec[, opts])
//   req, res  node:http request and response (the body already read)
//   body      the parsed request body, or null
//   rec       the caller's record of this request (upstream.js): sets
//             rec.status, rec.eventsSent, rec.usageReported
//   opts      { toolCall: { name, arguments } } (without it: the first
//             function tool, {"city":"Paris"}): a request offering a
//             function or custom tool of that name (namespaced ones too)
//             gets one function_call (arguments as JSON text) or
//             custom_tool_call (input: arguments.input) output item instead
//             of the text, streamed with response.function_call_arguments.*
//             or response.custom_tool_call_input.* events; a request whose
//             last input item is a call's output gets the text "Tool said:
//             <output>"
//
// Auth: "Authorization: Bearer KEY" is required (401 otherwise).
//
// Answer (no tools, or after a tool's output, see opts): one message output item with the text "Hello from responses mock
// model <model>" (one response.output_text.delta per word). usage:
// input_tokens = 10 + characters of the input / 4, 3 of them cached;
// output_tokens = words + 4 reasoning tokens; total_tokens their sum.
// Non-streaming: the response object. "stream": true: the event sequence
// response.created, response.in_progress, response.output_item.added,
// response.content_part.added, response.output_text.delta..., 
// response.output_text.done, response.content_part.done,
// response.output_item.done, response.completed (with usage); each as
// "event: <type>" and "data: <json with type and sequence_number>", no
// [DONE].

'use strict';

function errorBody(message, type, code = null, param = null) {
  return JSON.stringify({ error: { message, type, param, code } });
}

function inputChars(input) {
  if (typeof input === 'string') return input.length;
  if (!Array.isArray(input)) return 0;
  let n = 0;
  for (const item of input) {
    if (!item || typeof item !== 'object') continue;
    if (typeof item.content === 'string') n += item.content.length;
    else if (Array.isArray(item.content)) {
      for (const p of item.content) if (p && typeof p.text === 'string') n += p.text.length;
    }
  }
  return n;
}

// The tool of that name the request offers ({ type, namespace }), or null.
function offeredTool(tools, name, namespace) {
  for (const t of Array.isArray(tools) ? tools : []) {
    if (!t) continue;
    if (t.type === 'namespace') {
      const inner = offeredTool(t.tools, name, t.name);
      if (inner) return inner;
    } else if ((t.type === 'function' || t.type === 'custom') && t.name === name) {
      return { type: t.type, namespace };
    }
  }
  return null;
}

function outputText(o) {
  if (typeof o === 'string') return o;
  if (Array.isArray(o)) return o.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

// The turn with tools: { call: item } or { text }, or null (no tools: the
// usual text). Without opts.toolCall, the first function tool is called
// with {"city":"Paris"}, as the chat mock does.
function scripted(body, tc, rec) {
  if (!tc) {
    const first = Array.isArray(body.tools) && body.tools.find((t) => t && t.type === 'function' && t.name);
    if (!first) return null;
    tc = { name: first.name, arguments: { city: 'Paris' } };
  }
  const last = Array.isArray(body.input) ? body.input[body.input.length - 1] : null;
  if (last && /_call_output$/.test(last.type || '')) return { text: `Tool said: ${outputText(last.output)}` };
  const t = offeredTool(body.tools, tc.name);
  if (!t) return null;
  const call = { id: `fc_mock${rec.id}`, call_id: `call_mock${rec.id}`, name: tc.name, status: 'completed' };
  if (t.namespace) call.namespace = t.namespace;
  if (t.type === 'custom') return { call: { type: 'custom_tool_call', ...call, input: String(tc.arguments.input) } };
  return { call: { type: 'function_call', ...call, arguments: JSON.stringify(tc.arguments) } };
}

function handleResponses(req, res, body, rec, opts = {}) {
  const send = (status, text) => {
    rec.status = status;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method !== 'POST') return send(405, errorBody(`Method ${req.method} not allowed`, 'invalid_request_error'));
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || !/^Bearer\s+\S/i.test(auth.trim())) {
    return send(401, errorBody("You didn't provide an API key.", 'invalid_request_error'));
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return send(400, errorBody('We could not parse the JSON body of your request.', 'invalid_request_error'));
  }
  if (typeof body.model !== 'string' || !body.model) {
    return send(400, errorBody('Missing required parameter: \'model\'.', 'invalid_request_error', 'missing_required_parameter', 'model'));
  }
  const turn = scripted(body, opts.toolCall, rec);
  const words = turn && turn.text ? [turn.text]
    : turn ? [] : ['Hello', ' from', ' responses', ' mock', ' model', ` ${body.model}`];
  const text = words.join('');
  const input = 10 + Math.ceil((inputChars(body.input) + (typeof body.instructions === 'string' ? body.instructions.length : 0)) / 4);
  const reasoning = 4;
  const output = (turn && turn.call ? 3 : words.length) + reasoning;
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 3 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
  const created = Math.floor(rec.t / 1000);
  const id = `resp_mock${rec.id}`;
  const msgId = `msg_mock${rec.id}`;
  const base = (status, extra) => ({
    id, object: 'response', created_at: created, status, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, model: body.model,
    output: [], parallel_tool_calls: true, previous_response_id: null, reasoning: { effort: null, summary: null },
    store: body.store !== false, temperature: 1, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [],
    top_p: 1, truncation: 'disabled', usage: null, user: null, metadata: body.metadata || {}, ...extra,
  });
  const part = { type: 'output_text', text, annotations: [] };
  const item = { id: msgId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const done = base('completed', { output: [turn && turn.call ? turn.call : item], usage });
  if (body.stream !== true) {
    rec.usageReported = usage;
    return send(200, JSON.stringify(done));
  }
  rec.status = 200;
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let seq = 0;
  const ev = (type, fields) => {
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
    rec.eventsSent = (rec.eventsSent || 0) + 1;
  };
  ev('response.created', { response: base('in_progress') });
  ev('response.in_progress', { response: base('in_progress') });
  if (turn && turn.call) {
    const c = turn.call;
    const custom = c.type === 'custom_tool_call';
    const whole = custom ? c.input : c.arguments;
    const kind = custom ? 'response.custom_tool_call_input' : 'response.function_call_arguments';
    ev('response.output_item.added', { output_index: 0, item: { ...c, status: 'in_progress', [custom ? 'input' : 'arguments']: '' } });
    for (const piece of [whole.slice(0, 5), whole.slice(5)]) ev(`${kind}.delta`, { item_id: c.id, output_index: 0, delta: piece });
    ev(`${kind}.done`, { item_id: c.id, output_index: 0, [custom ? 'input' : 'arguments']: whole });
    ev('response.output_item.done', { output_index: 0, item: c });
    rec.usageReported = usage;
    ev('response.completed', { response: done });
    res.end();
    return undefined;
  }
  ev('response.output_item.added', { output_index: 0, item: { id: msgId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
  ev('response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
  for (const w of words) ev('response.output_text.delta', { item_id: msgId, output_index: 0, content_index: 0, delta: w });
  ev('response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text });
  ev('response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part });
  ev('response.output_item.done', { output_index: 0, item });
  rec.usageReported = usage;
  ev('response.completed', { response: done });
  res.end();
  return undefined;
}

module.exports = { handleResponses };
