// Long silences inside a stream: while the upstream says nothing (a model
// thinking), the client gets an SSE comment every [server] stream_ping_s,
// in every client dialect, and the events themselves pass unchanged.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, bearer } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-keepalive-0123456789abcdef';
const PROVIDER_ENV = { DEEPSEEK_API_KEY: 'sk-ds-SECRET-keepalive' };

describe('keep-alive comments in silent streams', () => {
  let mock;
  let gw;

  before(async () => {
    mock = await startMock();
    // three events, 2.5 s apart: silences longer than the 1 s ping
    mock.configure({ trickleEvents: 3, trickleMs: 2500 });
    gw = await startGateway({
      env: { ...mockEnv(mock), ...PROVIDER_ENV, AUTH_KEY: GW_KEY },
      conf: buildConf({ server: { stream_ping_s: 1 } }),
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (mock) await mock.close();
  });

  it('an OpenAI client gets comments between the events, and every event', async () => {
    const res = await stream(`${gw.url}/v1/chat/completions`, {
      headers: bearer(GW_KEY), body: chatBody('deepseek/trickle', { stream: true }), timeoutMs: 30000,
    });
    assert.equal(res.status, 200);
    const pings = res.text.split(': keep-alive\n\n').length - 1;
    assert.ok(pings >= 1, `keep-alive comments in the stream: ${pings}\n${res.text}`);
    // a comment only ever stands between two events
    assert.doesNotMatch(res.text, /[^\n]\n?: keep-alive/);
    assert.ok(res.done, 'the stream ended with [DONE]');
    const words = joinContent(res.events).trim().split(/\s+/);
    assert.equal(words.length, 3, `every event came through: ${joinContent(res.events)}`);
  });

  it('an Anthropic client gets them too', async () => {
    const res = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': GW_KEY, 'anthropic-version': '2023-06-01' },
      body: { model: 'deepseek/trickle', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] },
      timeoutMs: 30000,
    });
    assert.equal(res.status, 200);
    assert.ok(res.text.includes(': keep-alive\n\n'), res.text);
    assert.match(res.text, /event: message_stop/);
  });
});
