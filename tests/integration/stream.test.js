// Streaming chat completions: SSE passed event by event, usage rules per
// provider dialect, early disconnects and broken upstream streams.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { request, stream, joinContent, chatBody, expectedPromptTokens, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-stream-0123456789abcdef';
const KEYS = {
  DEEPSEEK_API_KEY: 'sk-ds-SECRET-s1',
  MOONSHOT_API_KEY: 'sk-ms-SECRET-s2',
  ZAI_API_KEY: 'zai-SECRET-s3',
  OPENAI_API_KEY: 'sk-oa-SECRET-s4',
};

let mock;
let gw;
const url = () => `${gw.url}/v1/chat/completions`;
const sse = (body, opts = {}) => stream(url(), { headers: bearer(GW_KEY), body, ...opts });
const jsonEvents = (r) => r.events.filter((e) => e.json);
const usageOnly = (r) => jsonEvents(r).filter((e) => Array.isArray(e.json.choices) && e.json.choices.length === 0);
const lastUpstream = () => {
  const reqs = mock.requests();
  return reqs[reqs.length - 1];
};

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: GW_KEY, ...KEYS },
    conf: buildConf({ upstream: { idle_timeout_ms: 3000 } }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

function assertSseOk(r, provider) {
  assert.equal(r.error, null, r.error && r.error.message);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  assert.equal(r.headers['x-llmgate-provider'], provider);
  assert.ok(r.done, 'stream ends with data: [DONE]');
  assert.equal(r.events[r.events.length - 1].data, '[DONE]', '[DONE] is the last event');
  for (const e of r.events.slice(0, -1)) assert.ok(e.json, `every event before [DONE] is JSON: ${e.data}`);
}

describe('stream_options.include_usage', () => {
  it('is always added upstream; the client that did not ask gets no usage-only chunk', async () => {
    const body = chatBody('gpt-4o-mini', { stream: true, temperature: 0.5, x_extra: { a: 1 } });
    const r = await sse(body);
    assertSseOk(r, 'openai');
    const up = lastUpstream();
    assert.deepEqual(up.body, { ...body, stream_options: { include_usage: true } });
    assert.equal(joinContent(r.events), 'Hello from openai mock model gpt-4o-mini');
    assert.equal(usageOnly(r).length, 0, 'no chunk with "choices": [] reaches the client');
    const finish = jsonEvents(r).find((e) => e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.equal(finish.json.choices[0].finish_reason, 'stop');
  });

  it('include_usage:false from the client is overridden upstream, other stream_options kept', async () => {
    const body = chatBody('gpt-4o-mini', { stream: true, stream_options: { include_usage: false, x_keep: 1 } });
    const r = await sse(body);
    assertSseOk(r, 'openai');
    assert.deepEqual(lastUpstream().body.stream_options, { include_usage: true, x_keep: 1 });
    assert.equal(usageOnly(r).length, 0);
  });

  it('the client that asked gets the usage chunk as the last one before [DONE]', async () => {
    const body = chatBody('gpt-4o-mini', { stream: true, stream_options: { include_usage: true } });
    const r = await sse(body);
    assertSseOk(r, 'openai');
    const u = usageOnly(r);
    assert.equal(u.length, 1);
    const events = jsonEvents(r);
    assert.equal(events[events.length - 1], u[0], 'usage chunk is the last JSON event');
    const p = expectedPromptTokens(body);
    assert.equal(u[0].json.usage.prompt_tokens, p);
    assert.equal(u[0].json.usage.completion_tokens, 6);
    assert.equal(u[0].json.usage.total_tokens, p + 6);
  });
});

describe('provider stream dialects pass through', () => {
  it('deepseek: usage on the finish chunk with cache fields, for a client that asked', async () => {
    const body = chatBody('deepseek-chat', { stream: true, stream_options: { include_usage: true } });
    const r = await sse(body);
    assertSseOk(r, 'deepseek');
    assert.equal(joinContent(r.events), 'Hello from deepseek mock model deepseek-chat');
    const withUsage = jsonEvents(r).filter((e) => e.json.usage);
    assert.ok(withUsage.length >= 1, 'usage reaches the client');
    const u = withUsage[withUsage.length - 1].json.usage;
    const p = expectedPromptTokens(body);
    assert.equal(u.prompt_tokens, p);
    assert.equal(u.prompt_cache_hit_tokens, 0);
    assert.equal(u.prompt_cache_miss_tokens, p);
  });

  it('deepseek-reasoner: reasoning_content deltas pass through', async () => {
    const r = await sse(chatBody('deepseek-reasoner', { stream: true }));
    assertSseOk(r, 'deepseek');
    const reasoning = jsonEvents(r)
      .map((e) => e.json.choices[0] && e.json.choices[0].delta && e.json.choices[0].delta.reasoning_content)
      .filter((x) => typeof x === 'string')
      .join('');
    assert.equal(reasoning, 'Let me think.');
    assert.equal(joinContent(r.events), 'Hello from deepseek mock model deepseek-reasoner');
  });

  it('moonshot: usage inside choices[0] of the finish chunk is untouched', async () => {
    const body = chatBody('kimi-k2.5', { stream: true });
    const r = await sse(body);
    assertSseOk(r, 'moonshot');
    assert.equal(joinContent(r.events), 'Hello from moonshot mock model kimi-k2.5');
    const fin = jsonEvents(r).find((e) => e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.ok(fin, 'finish chunk present');
    assert.equal(fin.json.choices[0].finish_reason, 'stop');
    assert.ok(fin.json.choices[0].usage, 'choices[0].usage present');
    assert.equal(fin.json.choices[0].usage.prompt_tokens, expectedPromptTokens(body));
    assert.equal(fin.json.choices[0].usage.completion_tokens, 6);
  });

  it('zai: usage on the final chunk', async () => {
    const body = chatBody('glm-5', { stream: true, stream_options: { include_usage: true } });
    const r = await sse(body);
    assertSseOk(r, 'zai');
    assert.equal(joinContent(r.events), 'Hello from zai mock model glm-5');
    const fin = jsonEvents(r).find((e) => e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.ok(fin.json.usage, 'usage on the finish chunk');
    assert.equal(fin.json.usage.total_tokens, expectedPromptTokens(body) + 6);
  });

  it('tool_call deltas pass through', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const r = await sse(chatBody('gpt-4o-mini', { stream: true, tools }));
    assertSseOk(r, 'openai');
    let name = '';
    let args = '';
    for (const e of jsonEvents(r)) {
      const d = e.json.choices[0] && e.json.choices[0].delta;
      for (const tc of (d && d.tool_calls) || []) {
        if (tc.function && tc.function.name) name += tc.function.name;
        if (tc.function && tc.function.arguments) args += tc.function.arguments;
      }
    }
    assert.equal(name, 'lookup');
    assert.equal(args, '{"city":"Paris"}');
    const fin = jsonEvents(r).find((e) => e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.equal(fin.json.choices[0].finish_reason, 'tool_calls');
  });

  it('logprobs per chunk pass through', async () => {
    const r = await sse(chatBody('gpt-4o-mini', { stream: true, logprobs: true }));
    assertSseOk(r, 'openai');
    const tokens = jsonEvents(r)
      .filter((e) => e.json.choices[0] && e.json.choices[0].logprobs)
      .map((e) => e.json.choices[0].logprobs.content[0].token);
    assert.deepEqual(tokens, ['Hello', ' from', ' openai', ' mock', ' model', ' gpt-4o-mini']);
  });
});

describe('event-by-event delivery', () => {
  it('the first event reaches the client before the upstream sent its last one', async () => {
    const r = await sse(chatBody('openai/trickle', { stream: true }), { timeoutMs: 10000 });
    assertSseOk(r, 'openai');
    const up = lastUpstream();
    assert.equal(up.body.model, 'trickle');
    const contents = r.events.filter((e) => e.json && e.json.choices && e.json.choices[0] && e.json.choices[0].delta && e.json.choices[0].delta.content);
    assert.equal(contents.length, 10, 'all 10 content events arrive');
    const lastSent = up.eventTimes[up.eventTimes.length - 1];
    assert.ok(contents[0].t < lastSent,
      `first content event received at ${contents[0].t}, upstream's last event sent at ${lastSent}`);
    // Most events arrive before the upstream sent the event two places later.
    // Event i of the mock is eventTimes[i]; content event k is mock event k+1.
    let early = 0;
    for (let k = 0; k < contents.length - 2; k++) if (contents[k].t <= up.eventTimes[k + 3]) early++;
    assert.ok(early >= 6, `only ${early} of 8 content events were passed on before the upstream moved on`);
  });

  it('a client that goes away mid-stream stops the upstream transfer', async () => {
    mock.configure({ trickleEvents: 20, trickleMs: 150 });
    const r = await sse(chatBody('openai/trickle', { stream: true }), { stopAfter: 2 });
    assert.equal(r.status, 200);
    assert.ok(r.aborted, 'client stopped after 2 content events');
    const up = await waitFor(() => {
      const x = lastUpstream();
      return x && x.closedEarly ? x : null;
    }, { timeoutMs: 3000 });
    assert.ok(up, 'upstream connection was closed before the mock finished');
    const total = 1 + 20 + 1 + 1 + 1; // role, contents, finish, usage, [DONE]
    assert.ok(up.eventsSent < total, `upstream sent ${up.eventsSent} of ${total} events`);
    // The gateway still works afterwards.
    const ok = await sse(chatBody('gpt-4o-mini', { stream: true }));
    assertSseOk(ok, 'openai');
  });
});

describe('broken upstream streams', () => {
  it('an upstream that dies mid-stream ends the client stream without [DONE] and is not retried', async () => {
    const r = await sse(chatBody('openai/cut-stream', { stream: true }), { timeoutMs: 10000 });
    assert.equal(r.status, 200);
    assert.ok(!(r.error && /not finished within/.test(r.error.message)), 'client stream must end, not hang');
    assert.equal(joinContent(r.events), 'Hello from');
    assert.ok(!r.done, 'a truncated stream must not be reported as complete with [DONE]');
    assert.equal(mock.requests().filter((x) => x.body && x.body.model === 'cut-stream').length, 1,
      'no retry once bytes reached the client');
  });

  it('an upstream 5xx before any byte is a 502 JSON error, not an SSE stream', async () => {
    const r = await request('POST', url(), { headers: bearer(GW_KEY), body: chatBody('openai/error-500', { stream: true }) });
    assertError(r, 502);
  });

  it('an upstream 400 on a stream request is passed with its status and body', async () => {
    const r = await request('POST', url(), { headers: bearer(GW_KEY), body: chatBody('openai/error-400', { stream: true }) });
    const e = assertError(r, 400, { type: 'invalid_request_error', code: 'invalid_value' });
    assert.equal(e.param, 'temperature');
    assert.match(e.message, /mock error-400/);
  });

  it('an unknown model on a stream request is a 404 JSON error', async () => {
    const r = await request('POST', url(), { headers: bearer(GW_KEY), body: chatBody('no-such-model-x', { stream: true }) });
    assertError(r, 404, { code: 'model_not_found' });
  });
});

describe('secrets', () => {
  it('no provider key in any answer or in the error log', () => {
    assertNoSecrets(transcript(), Object.values(KEYS), 'an answer');
    assertNoSecrets([gw.errorLog()], [...Object.values(KEYS), GW_KEY], 'the error log');
  });
});
