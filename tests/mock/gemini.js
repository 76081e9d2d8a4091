// Mock of the Gemini API (POST .../v1beta/models/{model}:generateContent,
// :countTokens and :streamGenerateContent, ?alt=sse or a JSON array) for the integration
// tests: the real wire format, and the request checks of the real API that a
// translating gateway could get wrong (unknown fields are refused, as
// Google's JSON parser does).
//
// Module:  const { handleGemini, createGeminiHandler } = require('./gemini.js');
//          handleGemini(req, res, body, record[, opts])
//          const handle = createGeminiHandler(opts); handle(req, res, body, record)
//   req, res  node:http request and response (the body already read)
//   body      the raw request body (string or Buffer) or the parsed object
//   record    the caller's record of this request, or null; the handler sets
//             record.status, record.eventsSent, pushes to record.eventTimes
//   opts      { keys: { "<key>": { status, retryAfter, message, times } },
//               trickleMs, answer, answerPieces, toolCall }  (as in
//               upstream.js: answer replaces "Hello from ...", answerPieces
//               splits it; toolCall { name, arguments }: call that function,
//               when declared and no functionResponse came, with those args,
//               else answer text)
//
// Auth: the "x-goog-api-key" header or the "key" query parameter. None →
// 403 PERMISSION_DENIED; a key starting with "bad" → 400 INVALID_ARGUMENT
// with reason API_KEY_INVALID (what Gemini answers for a wrong key). A 429
// carries google.rpc.RetryInfo (retryDelay), not a Retry-After header.
//
// Answers: "Hello from gemini mock model <model>" (one SSE event per word);
// with functionDeclarations (and mode not NONE) and no functionResponse in
// the last user turn, a functionCall of the first (or the only allowed)
// function with {"city":"Paris"}; after a functionResponse, "Tool said:
// <response JSON>". usageMetadata: promptTokenCount = 10 + characters/4,
// candidatesTokenCount, totalTokenCount; cachedContentTokenCount (min(8,
// prompt)) when there is a systemInstruction; thoughtsTokenCount 12 for
// models named *thinking*, *pro* or gemini-3*. Those models also put a
// thoughtSignature on functionCall parts, and gemini-3* models refuse a
// history whose functionCall parts lack it (as Gemini 3 does).
// generationConfig.maxOutputTokens below the answer length cuts it
// (MAX_TOKENS); candidateCount gives that many candidates; includeThoughts
// adds a thought part for the thinking models.
//
// Special model names: blocked (promptFeedback.blockReason SAFETY, no
// candidates), safety-stop (some text, then finishReason SAFETY),
// error-400, error-500 (INTERNAL), overloaded (503 UNAVAILABLE), rate-limit
// (429 RESOURCE_EXHAUSTED, retryDelay 3s), missing-model (404 NOT_FOUND),
// stream-error (an error object as an SSE event after the first chunk),
// cut-stream (the connection dies mid-stream).

'use strict';

const STATUS_OF_CODE = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

function geminiError(code, message, details) {
  const error = { code, message, status: STATUS_OF_CODE[code] || (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') };
  if (details) error.details = details;
  return JSON.stringify({ error });
}

const REQUEST_FIELDS = new Set(['contents', 'systemInstruction', 'system_instruction', 'tools', 'toolConfig',
  'tool_config', 'generationConfig', 'generation_config', 'safetySettings', 'safety_settings', 'cachedContent',
  'cached_content', 'labels']);
const GENERATION_FIELDS = new Set(['temperature', 'topP', 'topK', 'maxOutputTokens', 'stopSequences', 'candidateCount',
  'presencePenalty', 'frequencyPenalty', 'seed', 'responseMimeType', 'responseSchema', 'responseJsonSchema',
  'responseLogprobs', 'logprobs', 'thinkingConfig', 'responseModalities', 'mediaResolution', 'speechConfig']);
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];
const PART_FIELDS = new Set([...PART_DATA, 'thought', 'thoughtSignature', 'videoMetadata']);

const unknown = (path, name) => `Invalid JSON payload received. Unknown name "${name}" at '${path}': Cannot find field.`;

function thinks(model) {
  return /thinking|pro|^gemini-3/.test(model);
}

// The checks that matter for a translator; returns an error message or null.
function validate(body, model) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Invalid JSON payload received. Expected an object.';
  for (const k of Object.keys(body)) if (!REQUEST_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`;
  if (!Array.isArray(body.contents) || body.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  const declared = new Set();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'Invalid value at \'tools\': expected a list';
    for (const [i, t] of body.tools.entries()) {
      for (const k of Object.keys(t || {})) {
        if (!['functionDeclarations', 'function_declarations', 'googleSearch', 'codeExecution', 'urlContext'].includes(k)) return unknown(`tools[${i}]`, k);
      }
      for (const [j, d] of (t.functionDeclarations || []).entries()) {
        if (!d || typeof d.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/.test(d.name)) {
          return `* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name.`;
        }
        for (const k of Object.keys(d)) {
          if (!['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior'].includes(k)) {
            return unknown(`tools[${i}].function_declarations[${j}]`, k);
          }
        }
        if (d.parameters && d.parametersJsonSchema) return `* GenerateContentRequest.tools[${i}].function_declarations[${j}]: parameters and parametersJsonSchema are mutually exclusive`;
        if (d.parameters && Object.prototype.hasOwnProperty.call(d.parameters, 'additionalProperties')) {
          return unknown(`tools[${i}].function_declarations[${j}].parameters`, 'additionalProperties');
        }
        declared.add(d.name);
      }
    }
  }
  const fcc = body.toolConfig && body.toolConfig.functionCallingConfig;
  if (fcc) {
    if (!['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'].includes(fcc.mode)) return `Invalid value at 'tool_config.function_calling_config.mode' (${fcc.mode})`;
    for (const n of fcc.allowedFunctionNames || []) if (!declared.has(n)) return `* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: unknown function ${n}`;
  }
  const gc = body.generationConfig;
  if (gc !== undefined) {
    if (!gc || typeof gc !== 'object') return 'Invalid value at \'generation_config\'';
    for (const k of Object.keys(gc)) if (!GENERATION_FIELDS.has(k)) return unknown('generation_config', k);
    if (gc.candidateCount !== undefined && (!Number.isInteger(gc.candidateCount) || gc.candidateCount < 1 || gc.candidateCount > 8)) {
      return '* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8';
    }
    if (gc.stopSequences !== undefined && (!Array.isArray(gc.stopSequences) || gc.stopSequences.length > 5)) {
      return '* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences';
    }
  }
  const si = body.systemInstruction;
  if (si !== undefined && (!si || !Array.isArray(si.parts) || si.parts.some((p) => !p || typeof p.text !== 'string'))) {
    return '* GenerateContentRequest.system_instruction.parts: must be text parts';
  }
  let prevCalls = 0;
  for (const [i, c] of body.contents.entries()) {
    const where = `contents[${i}]`;
    for (const k of Object.keys(c || {})) if (k !== 'role' && k !== 'parts') return unknown(where, k);
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return `Please use a valid role: user, model.`;
    if (!Array.isArray(c.parts) || c.parts.length === 0) return `* GenerateContentRequest.${where}.parts: contents.parts must not be empty.`;
    let calls = 0;
    let responses = 0;
    for (const [k, p] of c.parts.entries()) {
      const pw = `${where}.parts[${k}]`;
      for (const f of Object.keys(p || {})) if (!PART_FIELDS.has(f)) return unknown(pw, f);
      const data = PART_DATA.filter((f) => p[f] !== undefined);
      if (data.length !== 1) return `* GenerateContentRequest.${pw}.data: required oneof field 'data' must have one initialized field`;
      if (p.inlineData && (typeof p.inlineData.mimeType !== 'string' || typeof p.inlineData.data !== 'string')) {
        return `* GenerateContentRequest.${pw}.inline_data: mime_type and data are required`;
      }
      if (p.fileData && (typeof p.fileData.fileUri !== 'string')) return `* GenerateContentRequest.${pw}.file_data.file_uri: required`;
      if (p.functionCall) {
        if (c.role !== 'model') return `* GenerateContentRequest.${pw}: function calls are only allowed in model turns`;
        if (typeof p.functionCall.name !== 'string') return `* GenerateContentRequest.${pw}.function_call.name: required`;
        if (/^gemini-3/.test(model) && !p.thoughtSignature) {
          return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${p.functionCall.name}\` , position ${k + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
        }
        calls += 1;
      }
      if (p.functionResponse) {
        const fr = p.functionResponse;
        if (typeof fr.name !== 'string' || !fr.response || typeof fr.response !== 'object' || Array.isArray(fr.response)) {
          return `* GenerateContentRequest.${pw}.function_response: name and a response object are required`;
        }
        responses += 1;
      }
    }
    if (responses && responses !== prevCalls) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
    prevCalls = calls;
  }
  return null;
}

function textOfParts(parts) {
  return (parts || []).map((p) => {
    if (typeof p.text === 'string') return p.text;
    if (p.functionCall) return JSON.stringify(p.functionCall.args || {});
    if (p.functionResponse) return JSON.stringify(p.functionResponse.response);
    return '';
  }).join('');
}

function promptTokens(body) {
  let n = body.systemInstruction ? textOfParts(body.systemInstruction.parts).length : 0;
  for (const c of body.contents) n += textOfParts(c.parts).length;
  return 10 + Math.floor(n / 4);
}

// What one candidate says: { thought, words, call, finish }.
function plan(body, model, opts = {}) {
  const gc = body.generationConfig || {};
  const last = body.contents[body.contents.length - 1];
  const fr = last && last.role !== 'model' ? (last.parts || []).find((p) => p.functionResponse) : null;
  const decls = (body.tools || []).flatMap((t) => t.functionDeclarations || []);
  const fcc = (body.toolConfig && body.toolConfig.functionCallingConfig) || {};
  const thought = thinks(model) && gc.thinkingConfig && gc.thinkingConfig.includeThoughts ? 'Considering the request.' : null;
  const scripted = opts.toolCall && decls.some((d) => d.name === opts.toolCall.name) ? opts.toolCall : null;
  if (decls.length && fcc.mode !== 'NONE' && !fr && (scripted || !opts.toolCall)) {
    const allowed = fcc.allowedFunctionNames && fcc.allowedFunctionNames[0];
    if (scripted) return { thought, words: [], call: { name: scripted.name, args: scripted.arguments }, finish: 'STOP' };
    const name = allowed || decls[0].name;
    return { thought, words: [], call: { name, args: { city: 'Paris' } }, finish: 'STOP' };
  }
  let words = fr ? ['Tool', ' said:', ` ${JSON.stringify(fr.functionResponse.response)}`]
    : opts.answer ? opts.answerPieces(opts.answer)
    : ['Hello', ' from', ' gemini', ' mock', ' model', ` ${model}`];
  let finish = 'STOP';
  if (model === 'safety-stop') { words = words.slice(0, 2); finish = 'SAFETY'; }
  if (Number.isInteger(gc.maxOutputTokens) && gc.maxOutputTokens < words.length) {
    words = words.slice(0, gc.maxOutputTokens);
    finish = 'MAX_TOKENS';
  }
  for (const s of gc.stopSequences || []) {
    const full = words.join('');
    const at = s ? full.indexOf(s) : -1;
    if (at >= 0) { words = [full.slice(0, at)]; break; }
  }
  return { thought, words, call: null, finish };
}

function createGeminiHandler(opts = {}) {
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
    const n = ++seq;
    const send = (status, text, extra = {}) => {
      rec.status = status;
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=UTF-8',
        'Content-Length': Buffer.byteLength(text),
        ...extra,
      });
      res.end(text);
    };
    const fail = (code, message, details) => send(code, geminiError(code, message, details));

    const url = new URL(String(req.url || '/'), 'http://mock');
    const m = /\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(url.pathname);
    if (!m) return fail(404, `Method not found: ${url.pathname}`);
    if (req.method !== 'POST') return fail(404, `Method not found: ${req.method} ${url.pathname}`);
    const model = decodeURIComponent(m[1]);
    const stream = m[2] === 'streamGenerateContent';
    const sse = url.searchParams.get('alt') === 'sse';

    const key = req.headers['x-goog-api-key'] || url.searchParams.get('key');
    if (!key) {
      return fail(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
    }
    const badKey = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' } }];
    if (/^bad/.test(key)) return fail(400, 'API key not valid. Please pass a valid API key.', badKey);
    const rule = takeRule(key);
    if (rule && rule.status && rule.status !== 200) {
      const msg = rule.message ? String(rule.message).split('{key}').join(key) : null;
      if (rule.status === 429) {
        return fail(429, msg || 'You exceeded your current quota, please check your plan and billing details.', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${rule.retryAfter != null ? rule.retryAfter : 1}s` },
        ]);
      }
      if (rule.status === 401 || rule.status === 400) return fail(400, msg || 'API key not valid. Please pass a valid API key.', badKey);
      return fail(rule.status, msg || `Mock error ${rule.status}`);
    }

    let body = rawBody;
    if (Buffer.isBuffer(body)) body = body.toString('utf8');
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { return fail(400, 'Invalid JSON payload received. Unexpected token.'); }
    }
    if (m[2] === 'countTokens') {
      // models.countTokens: {"contents": [...]} -> {"totalTokens"}; a count, no usageMetadata
      const text = JSON.stringify((body && body.contents) || []);
      return send(200, JSON.stringify({ totalTokens: 3 + Math.ceil(text.length / 4) }));
    }
    const bad = validate(body, model);
    if (bad) return fail(400, bad);

    switch (model) {
      case 'error-400': return fail(400, '* GenerateContentRequest.generation_config.temperature: must be between 0 and 2 (mock error-400)');
      case 'error-500': return fail(500, 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
      case 'overloaded': return fail(503, 'The model is overloaded. Please try again later.');
      case 'rate-limit':
        return fail(429, 'Resource has been exhausted (e.g. check quota).', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' },
        ]);
      case 'missing-model': return fail(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
      default: break;
    }

    const responseId = `mockResp${String(n).padStart(4, '0')}`;
    const modelVersion = model;
    const prompt = promptTokens(body);
    const cached = body.systemInstruction ? Math.min(8, prompt) : 0;
    const thoughts = thinks(model) ? 12 : 0;
    const count = (body.generationConfig && body.generationConfig.candidateCount) || 1;

    const usage = (candTokens, final) => {
      const u = { promptTokenCount: prompt };
      if (final) {
        u.candidatesTokenCount = candTokens;
        u.totalTokenCount = prompt + candTokens + thoughts;
        if (cached) u.cachedContentTokenCount = cached;
        if (thoughts) u.thoughtsTokenCount = thoughts;
        u.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
      } else {
        u.totalTokenCount = prompt;
      }
      return u;
    };

    if (model === 'blocked') {
      const out = {
        promptFeedback: {
          blockReason: 'SAFETY',
          safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH' }],
        },
        usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt },
        modelVersion, responseId,
      };
      if (!stream) return send(200, JSON.stringify(out));
      return streamOut([out]);
    }

    const p = plan(body, model, opts);
    const sig = thinks(model) ? `mockSig${n}` : null;
    const callPart = p.call ? { functionCall: p.call, ...(sig ? { thoughtSignature: sig } : {}) } : null;
    const candTokens = p.words.length + (p.call ? 3 : 0);
    const safety = p.finish === 'SAFETY'
      ? [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true }] : undefined;

    if (!stream) {
      const candidates = [];
      for (let i = 0; i < count; i++) {
        const parts = [];
        if (p.thought) parts.push({ text: p.thought, thought: true });
        if (p.words.length && p.words.join('')) parts.push({ text: p.words.join('') });
        if (callPart) parts.push(callPart);
        const c = { content: { parts, role: 'model' }, finishReason: p.finish, index: i };
        if (!parts.length) delete c.content;
        if (safety) c.safetyRatings = safety;
        candidates.push(c);
      }
      return send(200, JSON.stringify({ candidates, usageMetadata: usage(candTokens * count, true), modelVersion, responseId }));
    }

    // Streaming: one response per word; the last carries finishReason and
    // the full usage.
    const chunks = [];
    const pieces = [];
    if (p.thought) pieces.push({ text: p.thought, thought: true });
    for (const w of p.words) if (w) pieces.push({ text: w });
    if (callPart) pieces.push(callPart);
    if (!pieces.length) pieces.push(null);
    pieces.forEach((piece, k) => {
      const final = k === pieces.length - 1;
      const candidates = [];
      for (let i = 0; i < count; i++) {
        const c = { content: { parts: piece ? [piece] : [], role: 'model' }, index: i };
        if (final) c.finishReason = p.finish;
        if (final && safety) c.safetyRatings = safety;
        candidates.push(c);
      }
      chunks.push({ candidates, usageMetadata: usage(candTokens * count, final), modelVersion, responseId });
    });
    if (model === 'stream-error') {
      chunks.length = 1;
      chunks.push({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } });
    }
    return streamOut(chunks);

    function streamOut(list) {
      // alt=sse: "data: JSON\r\n\r\n" per response; otherwise one JSON array
      // written a response at a time.
      const lines = sse ? list.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`)
        : list.map((c, i) => `${i ? ',\r\n' : '['}${JSON.stringify(c)}${i === list.length - 1 ? ']' : ''}`);
      const cut = model === 'cut-stream';
      const limit = cut ? Math.min(2, lines.length) : lines.length;
      rec.status = 200;
      res.writeHead(200, {
        'Content-Type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8',
        'Cache-Control': 'no-cache',
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
    }
  };
}

const defaultHandler = createGeminiHandler();

// Handle one request with the module's default state (opts, when given,
// makes a one-off handler with those options).
function handleGemini(req, res, body, record, opts) {
  if (opts) return createGeminiHandler(opts)(req, res, body, record);
  return defaultHandler(req, res, body, record);
}

module.exports = { handleGemini, createGeminiHandler, validateGeminiRequest: validate };
