// Admission slots ([server] hot_threads, common/admit.h): of a router's
// threads only hot_threads take new requests at once, and a request hands
// its slot on when its upstream keeps it waiting or streams. Here one
// slot and three threads: requests waiting on slow upstreams, or streaming,
// must not keep a quick one out.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-admit-0123456789abcdef';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let mock;
let gw;
const url = () => `${gw.url}/v1/chat/completions`;
const post = (model, extra) => request('POST', url(), { headers: bearer(GW_KEY), body: chatBody(model, extra) });

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, OPENAI_API_KEY: 'sk-oa-SECRET-adm' },
    conf: buildConf({ server: { threads: 3, hot_threads: 1 } }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

describe('one admission slot, three threads', () => {
  it('says so when it starts', () => {
    assert.match(gw.errorLog(), /serving with 3 threads \(1 taking new requests/);
  });

  it('a quick request is answered while two others wait on a slow upstream', async () => {
    mock.configure({ delayMs: 1200 });
    const done = [];
    const slow = [0, 1].map((i) => post('openai/slow-first-byte').then((r) => { done.push(`slow${i}`); return r; }));
    await sleep(150);
    const quick = await post('gpt-4o-mini');
    done.push('quick');
    assert.equal(quick.status, 200, quick.text);
    assert.deepEqual(done, ['quick'], 'the quick one came back before either slow one');
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200, r.text);
  });

  it('a quick request is answered while two streams are in the middle', async () => {
    mock.configure({ trickleEvents: 8, trickleMs: 150 });
    const open = [0, 1].map(() => stream(url(), {
      headers: bearer(GW_KEY), body: chatBody('openai/trickle', { stream: true }), timeoutMs: 10000,
    }));
    await sleep(300);
    const t0 = Date.now();
    const quick = await post('gpt-4o-mini');
    const took = Date.now() - t0;
    assert.equal(quick.status, 200, quick.text);
    const streams = await Promise.all(open);
    const ended = Date.now() - t0;
    for (const s of streams) assert.equal(s.status, 200);
    assert.ok(took < ended, `the quick one (${took} ms) did not wait for the streams (${ended} ms)`);
    assert.equal(mock.requests().filter((r) => r.body && r.body.model === 'trickle').length, 2);
  });

  it('many quick requests at once are all answered', async () => {
    const all = await Promise.all(Array.from({ length: 24 }, () => post('gpt-4o-mini')));
    for (const r of all) assert.equal(r.status, 200, r.text);
  });
});
