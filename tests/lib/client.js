// Minimal HTTP and SSE clients for the integration tests (node:http, no
// keep-alive, bounded by a timeout), plus small polling and body helpers.

'use strict';

const http = require('node:http');

const DEFAULT_TIMEOUT_MS = 15000;

// Every answer seen by request() and stream() in this process (headers and
// body as text), so a test can scan all of them for leaked secrets.
const seen = [];
function transcript() {
  return seen.slice();
}
function remember(headers, text) {
  seen.push(JSON.stringify(headers || {}) + '\n' + text);
}

// request(method, url, { headers, body, timeoutMs }) ->
//   { status, headers, text, json (parsed or undefined), ms }
// body: a string/Buffer is sent as is, anything else as JSON.
function request(method, url, opts = {}) {
  const { headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS, localAddress } = opts;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let payload = null;
    const h = { ...headers };
    if (body !== undefined) {
      payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = http.request(url, { method, headers: h, agent: false, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        remember(res.headers, text);
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json, ms: Date.now() - started });
      });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${url}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    if (payload !== null) req.write(payload);
    req.end();
  });
}

// Parses SSE text into events [{ event, data }].
function parseSse(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    const ev = { event: null, data: null };
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') ev.event = value;
    }
    if (!data.length) continue;
    ev.data = data.join('\n');
    out.push(ev);
  }
  return out;
}

// stream(url, { headers, body, timeoutMs, stopAfter }) posts `body` and reads
// the answer as SSE, event by event as they arrive.
//   -> { status, headers, events: [{ data, json, t }], text, done, aborted,
//        complete (response ended normally), error }
// t is Date.now() when the event was fully received. With stopAfter = n the
// client destroys its connection as soon as n content-bearing events arrived.
// Non-SSE answers (errors) come back with events = [] and text/json set.
function stream(url, opts = {}) {
  const { headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS, stopAfter = 0 } = opts;
  return new Promise((resolve) => {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    const h = { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...headers, 'Content-Length': Buffer.byteLength(payload) };
    const result = { status: 0, headers: {}, events: [], text: '', json: undefined, done: false, aborted: false, complete: false, error: null };
    let buf = '';
    let settled = false;
    let contentEvents = 0;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      remember(result.headers, result.text);
      try { result.json = JSON.parse(result.text); } catch { /* SSE */ }
      resolve(result);
    };
    const req = http.request(url, { method: 'POST', headers: h, agent: false }, (res) => {
      result.status = res.statusCode;
      result.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (d) => {
        result.text += d;
        buf += d;
        let m;
        while ((m = /\r?\n\r?\n/.exec(buf))) {
          const block = buf.slice(0, m.index + m[0].length);
          buf = buf.slice(m.index + m[0].length);
          for (const ev of parseSse(block)) {
            const item = { data: ev.data, event: ev.event, json: undefined, t: Date.now() };
            if (ev.data === '[DONE]') result.done = true;
            else { try { item.json = JSON.parse(ev.data); } catch { /* keep raw */ } }
            result.events.push(item);
            if (item.json && hasContent(item.json)) contentEvents += 1;
            if (stopAfter && contentEvents >= stopAfter && !result.aborted) {
              result.aborted = true;
              req.destroy();
              res.destroy();
              finish();
              return;
            }
          }
        }
      });
      res.on('end', () => { result.complete = true; finish(); });
      res.on('error', (e) => { result.error = e; finish(); });
      res.on('close', () => finish());
    });
    const timer = setTimeout(() => {
      result.error = new Error(`stream ${url}: not finished within ${timeoutMs} ms`);
      req.destroy();
      finish();
    }, timeoutMs);
    req.on('error', (e) => { if (!result.aborted) result.error = e; finish(); });
    req.write(payload);
    req.end();
  });
}

function hasContent(chunk) {
  const c = chunk && Array.isArray(chunk.choices) && chunk.choices[0];
  return !!(c && c.delta && typeof c.delta.content === 'string' && c.delta.content.length);
}

// Joins the content deltas of parsed stream events.
function joinContent(events) {
  let s = '';
  for (const e of events) {
    const c = e.json && Array.isArray(e.json.choices) && e.json.choices[0];
    if (c && c.delta && typeof c.delta.content === 'string') s += c.delta.content;
  }
  return s;
}

// Polls fn() (sync or async) every intervalMs until it returns a truthy
// value or timeoutMs passes; returns the last value.
async function waitFor(fn, { timeoutMs = 3000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function chatBody(model, extra = {}) {
  return { model, messages: [{ role: 'user', content: 'Say hello to the test suite.' }], ...extra };
}

// The usage the mock computes for a request body (see tests/mock/upstream.js).
function expectedPromptTokens(body) {
  let n = 0;
  for (const m of body.messages || []) {
    if (typeof m.content === 'string') n += m.content.length;
    else if (Array.isArray(m.content)) for (const p of m.content) if (p && typeof p.text === 'string') n += p.text.length;
  }
  return 10 + Math.floor(n / 4);
}

function bearer(key) {
  return { Authorization: `Bearer ${key}` };
}

module.exports = {
  request,
  stream,
  parseSse,
  joinContent,
  hasContent,
  waitFor,
  chatBody,
  expectedPromptTokens,
  bearer,
  transcript,
};
