// curl against the gateway: a plain and a streamed chat completion.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { parseSse } = require('../lib/client.js');

const GW_KEY = 'gk-curl-0123456789abcdef';

let mock;
let gw;

function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, ZAI_API_KEY: 'zai-SECRET-curl' },
    conf: buildConf(),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

describe('curl', () => {
  it('plain chat completion', async () => {
    const r = await curl(['-i', `${gw.url}/v1/chat/completions`, '-H', `Authorization: Bearer ${GW_KEY}`,
      '-H', 'Content-Type: application/json',
      '--data', JSON.stringify({ model: 'glm-5', messages: [{ role: 'user', content: 'hi' }] })]);
    assert.equal(r.code, 0, r.stderr);
    const [head, body] = r.stdout.split(/\r\n\r\n/);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /\r\nx-llmgate-provider: zai\r\n/i);
    assert.equal(JSON.parse(body).choices[0].message.content, 'Hello from zai mock model glm-5');
  });

  it('streamed chat completion with -N', async () => {
    const r = await curl(['-N', `${gw.url}/v1/chat/completions`, '-H', `Authorization: Bearer ${GW_KEY}`,
      '-H', 'Content-Type: application/json',
      '--data', JSON.stringify({ model: 'glm-5', stream: true, messages: [{ role: 'user', content: 'hi' }] })]);
    assert.equal(r.code, 0, r.stderr);
    const events = parseSse(r.stdout);
    assert.equal(events[events.length - 1].data, '[DONE]');
    const text = events.slice(0, -1).map((e) => JSON.parse(e.data))
      .map((c) => (c.choices[0] && c.choices[0].delta && c.choices[0].delta.content) || '').join('');
    assert.equal(text, 'Hello from zai mock model glm-5');
  });
});
