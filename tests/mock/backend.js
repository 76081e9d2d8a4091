#!/usr/bin/env node
// Mock billing backend for the settlement tests: takes llmgate-settle's
// usage batches the way a real backend should (docs/settlement.md), checks
// the HMAC signature and the timestamp, keeps every batch and record id it
// got, dedups by batch_id, reports duplicates, and misbehaves on demand.
//
// Module:  const { createBackend } = require('./backend.js');
//          const b = await createBackend({ port: 0, secret: 's3cret' });
//          b.url, b.port, b.records(), b.batches(), b.duplicates(),
//          b.rejected(), b.requests(), b.configure(opts), b.reset(), b.close()
// CLI:     node backend.js [--port N] [--host 127.0.0.1] [--secret S]
//          (the secret also from INTERNAL_SECRET); prints "LISTENING <port>"
//          then serves until killed. GET /_mock/state, POST /_mock/reset,
//          POST /_mock/config (JSON body: configure() options).
//
// configure() options (merged into the current ones; reset() clears them):
//   down:            false | '503' (answer 503) | 'refuse' (stop listening:
//                    connections are refused until down is false again, or
//                    for refuseMs if given: the CLI's only way back)
//   delayMs:         wait this long before answering each batch
//   failFirst:       answer the next N batches with failStatus (default 503)
//   failStatus:      status for failFirst
//   dropAfterAccept: take the next N batches, then cut the connection
//                    without an answer (the sender must send them again)
//   maxSkewS:        accepted clock difference of X-Llmgate-Timestamp (300)
//
// A batch is accepted when the signature is right, the timestamp is within
// maxSkewS, and the body is {"batch_id", "source", "records": [...]} with
// batch_id equal to X-Llmgate-Batch-Id. A batch_id seen before is answered
// 200 again without counting its records (duplicates().batches); a record
// id that arrives in two different batches is a real duplicate
// (duplicates().records).

'use strict';

const http = require('node:http');
const crypto = require('node:crypto');

const MAX_BODY = 64 * 1024 * 1024;
const DEFAULTS = Object.freeze({
  down: false,
  delayMs: 0,
  failFirst: 0,
  failStatus: 503,
  dropAfterAccept: 0,
  maxSkewS: 300,
  refuseMs: 0,
});

function sign(secret, ts, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  if (x.length !== y.length) return false;
  return crypto.timingSafeEqual(x, y);
}

async function createBackend(opts = {}) {
  const host = opts.host || '127.0.0.1';
  const path = opts.path || '/internal/usage';
  const secret = opts.secret !== undefined ? opts.secret : process.env.INTERNAL_SECRET || '';
  let config = { ...DEFAULTS };
  let batches = [];          // accepted batches, in order: { batch_id, ids, at }
  let recordsById = new Map();  // id -> { record, batch_id }
  let dupBatches = [];       // batch ids received again
  let dupRecords = [];       // record ids received in a second, different batch
  let rejected = [];         // { reason, batch_id }
  let requests = 0;
  let listening = false;
  let closed = false;
  let refuseTimer = null;
  const sockets = new Set();

  function reset() {
    const refusing = config.down === 'refuse';
    clearTimeout(refuseTimer);
    config = { ...DEFAULTS };
    if (refusing && !closed) startListening().catch(() => {});
    batches = [];
    recordsById = new Map();
    dupBatches = [];
    dupRecords = [];
    rejected = [];
    requests = 0;
  }

  function send(res, status, obj) {
    if (res.destroyed || res.writableEnded) return;
    const body = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  function state() {
    return {
      requests,
      batches: batches.map((b) => ({ batch_id: b.batch_id, ids: b.ids.slice() })),
      records: [...recordsById.keys()],
      duplicates: { batches: dupBatches.slice(), records: dupRecords.slice() },
      rejected: rejected.slice(),
      config: { ...config },
    };
  }

  // Check one batch; returns { status, body, accept } with accept() doing the bookkeeping.
  function verify(req, raw) {
    const ts = req.headers['x-llmgate-timestamp'];
    const sig = req.headers['x-llmgate-signature'];
    const hid = req.headers['x-llmgate-batch-id'];
    const reject = (status, reason, batchId) => {
      rejected.push({ reason, batch_id: batchId || hid || null });
      return { status, body: { error: { message: reason, type: 'invalid_request' } } };
    };
    if (!String(req.headers['content-type'] || '').startsWith('application/json')) return reject(415, 'content type is not application/json');
    if (!ts || !/^\d+$/.test(ts)) return reject(401, 'missing or malformed X-Llmgate-Timestamp');
    if (Math.abs(Date.now() / 1000 - Number(ts)) > config.maxSkewS) return reject(401, 'stale X-Llmgate-Timestamp');
    if (!secret) return reject(500, 'mock has no secret to check signatures with');
    if (!sig || !safeEqual(sig, sign(secret, ts, raw))) return reject(401, 'bad X-Llmgate-Signature');
    let body;
    try { body = JSON.parse(raw.toString('utf8')); } catch { return reject(400, 'body is not JSON'); }
    if (!body || typeof body.batch_id !== 'string' || !Array.isArray(body.records)) return reject(400, 'body lacks batch_id or records');
    if (body.source !== 'llmgate') return reject(400, 'source is not llmgate');
    if (body.batch_id !== hid) return reject(400, 'X-Llmgate-Batch-Id does not match batch_id', body.batch_id);
    for (const r of body.records) {
      if (!r || typeof r !== 'object' || typeof r.id !== 'string') return reject(400, 'a record without an id', body.batch_id);
    }
    return { status: 200, body: null, batch: body };
  }

  function accept(batch) {
    if (batches.some((b) => b.batch_id === batch.batch_id)) {
      dupBatches.push(batch.batch_id);
      return { accepted: 0, duplicate: true };
    }
    const ids = [];
    for (const r of batch.records) {
      if (recordsById.has(r.id)) dupRecords.push(r.id);
      else recordsById.set(r.id, { record: r, batch_id: batch.batch_id });
      ids.push(r.id);
    }
    batches.push({ batch_id: batch.batch_id, ids, at: Date.now() });
    return { accepted: ids.length, duplicate: false };
  }

  function configure(o) {
    const before = config.down;
    config = { ...config, ...o };
    if (before !== 'refuse' && config.down === 'refuse') {
      if (config.refuseMs > 0) {
        clearTimeout(refuseTimer);
        refuseTimer = setTimeout(() => { if (config.down === 'refuse' && !closed) configure({ down: false }); }, config.refuseMs);
      }
      return stopListening();
    }
    if (before === 'refuse' && config.down !== 'refuse') return startListening();
    return Promise.resolve();
  }

  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      if (url.startsWith('/_mock/')) {
        if (req.method === 'GET' && url === '/_mock/state') return send(res, 200, state());
        if (req.method === 'POST' && url === '/_mock/reset') { reset(); return send(res, 200, { ok: true }); }
        if (req.method === 'POST' && url === '/_mock/config') {
          let o;
          try { o = JSON.parse(raw.toString('utf8') || '{}'); } catch { return send(res, 400, { error: 'bad JSON' }); }
          send(res, 200, { ok: true });
          await configure(o);
          return undefined;
        }
        return send(res, 404, { error: 'unknown mock path' });
      }
      requests += 1;
      if (req.method !== 'POST' || url !== path) return send(res, 404, { error: { message: `no such route: ${req.method} ${url}` } });
      if (config.delayMs) await new Promise((r) => setTimeout(r, config.delayMs));
      if (config.down === '503') return send(res, 503, { error: { message: 'backend down (mock)' } });
      if (config.failFirst > 0) {
        config.failFirst -= 1;
        return send(res, config.failStatus, { error: { message: 'failing on purpose (mock)' } });
      }
      const v = verify(req, raw);
      if (!v.batch) return send(res, v.status, v.body);
      const result = accept(v.batch);
      if (config.dropAfterAccept > 0) {
        config.dropAfterAccept -= 1;
        res.socket && res.socket.destroy();
        return undefined;
      }
      return send(res, 200, { batch_id: v.batch.batch_id, ...result });
    });
  });
  server.keepAliveTimeout = 1000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  let port = opts.port || 0;
  function startListening() {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        port = server.address().port;
        listening = true;
        resolve();
      });
    });
  }
  function stopListening() {
    if (!listening) return Promise.resolve();
    listening = false;
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }

  await startListening();

  return {
    port,
    url: `http://${host}:${port}`,
    path,
    state,
    records: () => [...recordsById.keys()],
    recordBodies: () => [...recordsById.values()].map((v) => v.record),
    batches: () => batches.map((b) => ({ batch_id: b.batch_id, ids: b.ids.slice() })),
    duplicates: () => ({ batches: dupBatches.slice(), records: dupRecords.slice() }),
    rejected: () => rejected.slice(),
    requests: () => requests,
    configure,
    reset,
    close: () => {
      closed = true;
      clearTimeout(refuseTimer);
      return stopListening();
    },
  };
}

module.exports = { createBackend, sign };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = { port: 0, host: '127.0.0.1' };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port' && i + 1 < args.length) opt.port = Number(args[++i]);
    else if (args[i] === '--host' && i + 1 < args.length) opt.host = args[++i];
    else if (args[i] === '--secret' && i + 1 < args.length) opt.secret = args[++i];
    else {
      process.stderr.write('usage: backend.js [--port N] [--host ADDR] [--secret S]\n');
      process.exit(2);
    }
  }
  if (!Number.isInteger(opt.port) || opt.port < 0 || opt.port > 65535) {
    process.stderr.write('backend.js: bad --port\n');
    process.exit(2);
  }
  createBackend(opt).then((b) => {
    process.stdout.write(`LISTENING ${b.port}\n`);
    const stop = () => { b.close().then(() => process.exit(0)); setTimeout(() => process.exit(0), 1000).unref(); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }, (err) => {
    process.stderr.write(`backend.js: ${err.message}\n`);
    process.exit(1);
  });
}
