// [server] streams = threads: the mode a router uses when asked to, or when
// its C library has no swapcontext (musl, OpenWrt). Every other file runs
// with the default (events); the files about the stream path, admission and
// the open-stream cap run here again with each stream holding its worker
// thread to its end.

'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const FILES = ['stream.test.js', 'streams.test.js', 'admission.test.js', 'upstream.test.js'];

test('the stream-path files with [server] streams = threads', { timeout: 280000 }, async () => {
  const args = ['--test', '--test-reporter=tap', '--test-concurrency=1', '--test-timeout=120000',
    ...FILES.map((f) => path.join(__dirname, f))];
  // a run of its own, not a part of this one (node:test marks its children)
  const env = { ...process.env, LLMGATE_TEST_STREAMS: 'threads' };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => child.on('close', resolve));
  const count = (name) => Number((out.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) || [])[1]);
  assert.ok(count('pass') >= FILES.length, `tests passed in threads mode:\n${out.slice(-4000)}`);
  assert.equal(count('fail'), 0, out.slice(-4000));
  assert.equal(code, 0, out.slice(-4000));
});
