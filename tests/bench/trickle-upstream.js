#!/usr/bin/env node
// A trickling OpenAI-compatible upstream for the benchmark: every POST
// .../chat/completions gets an SSE stream of `--events` content chunks sent
// `--interval` ms apart (the first at once), then a finish chunk, a usage
// chunk and [DONE]. Each content chunk's text is a stamp
// "[s=<stream> i=<event> t=<send time>]" with the send time in ms of the
// system's monotonic clock (process.hrtime), so a client on the same machine
// can tell how long each event took to reach it. Send times are also kept
// here and written to --log as JSON lines when /_stats is read.
//
//   node trickle-upstream.js [--port 0] [--events 20] [--interval 50] [--log FILE]
//   prints "LISTENING <port>", serves on 127.0.0.1 until SIGTERM/SIGINT.
//   GET /_stats -> {"streams","finished","aborted","open","maxOpen","events"}
//   POST /_reset   clears the counters and the kept send times.
//   POST /_reset?hold=N  also holds every stream after its first event until
//                  N streams are open (or 120 s passed): the rest of the
//                  events then go out `--interval` apart, so that N streams
//                  really are open at once however long opening them takes.

'use strict';

const http = require('node:http');
const fs = require('node:fs');
const { chunk, USAGE } = require('./fixtures.js');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const PORT = Number(arg('--port', '0'));
const EVENTS = Math.max(1, Number(arg('--events', '20')));
const INTERVAL = Math.max(0, Number(arg('--interval', '50')));
const LOG = arg('--log', '');
const MAX_BODY = 1 << 20;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const HOLD_MAX_MS = 120000;
let stats;
let sends; // stream id -> [send time per event]
let hold = 0;
let held = []; // streams waiting for `hold` open streams
let holdTimer = null;
function release() {
  hold = 0;
  if (holdTimer) clearTimeout(holdTimer);
  holdTimer = null;
  const h = held;
  held = [];
  for (const go of h) go();
}
function reset(n = 0) {
  release();
  stats = { streams: 0, finished: 0, aborted: 0, open: 0, maxOpen: 0, events: 0 };
  sends = new Map();
  hold = n;
  if (n) holdTimer = setTimeout(release, HOLD_MAX_MS);
}
reset();
let nextId = 1;

function stream(req, res, model) {
  const sid = nextId++;
  const times = [];
  sends.set(sid, times);
  stats.streams++;
  stats.open++;
  if (stats.open > stats.maxOpen) stats.maxOpen = stats.open;
  let i = 0;
  let timer = null;
  let done = false;
  const finish = (aborted) => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    stats.open--;
    if (aborted) stats.aborted++;
    else stats.finished++;
  };
  res.on('close', () => finish(!res.writableFinished));
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
  });
  let start = nowMs();
  const tick = () => {
    if (done) return;
    const t = nowMs();
    const delta = { content: `[s=${sid} i=${i} t=${t.toFixed(3)}]` };
    if (i === 0) delta.role = 'assistant';
    res.write(`data: ${chunk(model, delta, null)}\n\n`);
    times.push(t);
    stats.events++;
    i++;
    if (i === 1 && hold && EVENTS > 1) {
      // held until `hold` streams are open; then paced from that moment
      const go = () => {
        if (done) return;
        start = nowMs() - INTERVAL;
        timer = setTimeout(tick, 0);
      };
      held.push(go);
      if (stats.open >= hold) release();
      return;
    }
    if (i < EVENTS) {
      // Scheduled against the stream's start, so gaps do not drift.
      timer = setTimeout(tick, Math.max(0, start + i * INTERVAL - nowMs()));
      return;
    }
    res.end(`data: ${chunk(model, {}, 'stop')}\n\ndata: ${chunk(model, null, null, USAGE)}\n\ndata: [DONE]\n\n`);
    finish(false);
  };
  tick();
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60000 }, (req, res) => {
  const url = req.url.split('?')[0];
  if (req.method === 'GET' && url === '/_stats') {
    if (LOG) {
      const lines = [];
      for (const [sid, times] of sends) lines.push(JSON.stringify({ stream: sid, sent: times }));
      try { fs.appendFileSync(LOG, lines.join('\n') + (lines.length ? '\n' : '')); } catch { /* ignore */ }
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'POST' && url === '/_reset') {
    const m = /[?&]hold=(\d+)/.exec(req.url);
    reset(m ? Number(m[1]) : 0);
    res.writeHead(204);
    res.end();
    req.resume();
    return;
  }
  if (req.method !== 'POST' || !url.endsWith('/chat/completions')) {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":"unknown_url"}}');
    req.resume();
    return;
  }
  const parts = [];
  let size = 0;
  req.on('data', (d) => {
    size += d.length;
    if (size <= MAX_BODY) parts.push(d);
  });
  req.on('end', () => {
    let model = 'bench-trickle';
    try {
      const j = JSON.parse(Buffer.concat(parts).toString('utf8'));
      if (typeof j.model === 'string') model = j.model;
    } catch { /* the stream does not depend on the body */ }
    stream(req, res, model);
  });
});
server.headersTimeout = 60000;
server.requestTimeout = 0;
server.maxConnections = 65536;

server.listen({ port: PORT, host: '127.0.0.1', backlog: 65535 }, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
