// Stored responses of the Responses API through the router, with the
// official OpenAI SDK: a created response (streamed or not) is kept for
// the gateway key that made it; responses.retrieve, responses.inputItems.list,
// a follow-up with previous_response_id whose upstream request carries the
// earlier turn, responses.delete; another key gets 404 for all of it (and
// nothing goes upstream); store: false keeps nothing.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const { startMock, startGateway, mockEnv } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { request, bearer } = require('../lib/client.js');

const KEY_A = 'gk-stored-alice-0123456789';
const KEY_B = 'gk-stored-bob-9876543210';
const MODEL = 'deepseek-chat';

let mock;
let gw;
let alice;
let bob;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), DEEPSEEK_API_KEY: 'sk-ds-stored-SECRET-1', AUTH_KEY: `${KEY_A},${KEY_B}` },
    conf: buildConf(),
  });
  const opts = { baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 20000 };
  alice = new OpenAI({ ...opts, apiKey: KEY_A });
  bob = new OpenAI({ ...opts, apiKey: KEY_B });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const lastUpstream = () => mock.requests().filter((q) => q.path.startsWith('/deepseek/')).at(-1);

async function assert404(p, param) {
  await assert.rejects(p, (e) => {
    assert.equal(e.status, 404, String(e));
    assert.equal(e.error.type, 'invalid_request_error');
    assert.match(e.error.message, /^Response with id '.*' not found\.$/);
    if (param) assert.equal(e.error.param, param);
    return true;
  });
}

describe('stored responses', () => {
  let first;

  it('create keeps the response; retrieve and inputItems.list return it', async () => {
    first = await alice.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'My name is Ada.' });
    assert.match(first.id, /^resp_[0-9a-f]{16}$/);
    const got = await alice.responses.retrieve(first.id);
    assert.equal(got.id, first.id);
    assert.equal(got.object, 'response');
    assert.equal(got.output_text, first.output_text);
    assert.deepEqual(got.output, first.output);
    const items = await alice.responses.inputItems.list(first.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].role, 'user');
    assert.equal(items.data[0].content[0].text, 'My name is Ada.');
    assert.equal(items.has_more, false);
  });

  it('another key cannot retrieve, list, continue or delete it (404, nothing upstream)', async () => {
    const before = mock.requests().length;
    await assert404(bob.responses.retrieve(first.id));
    await assert404(bob.responses.inputItems.list(first.id));
    await assert404(bob.responses.create({ model: MODEL, input: 'And mine?', previous_response_id: first.id }),
      'previous_response_id');
    await assert404(bob.responses.delete(first.id));
    assert.equal(mock.requests().length, before);
    assert.equal((await alice.responses.retrieve(first.id)).id, first.id, 'still there for its owner');
  });

  it('previous_response_id sends the earlier turn upstream, and chains', async () => {
    const second = await alice.responses.create({ model: MODEL, input: 'What is my name?', previous_response_id: first.id });
    assert.notEqual(second.id, first.id);
    const msgs = lastUpstream().body.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.match(JSON.stringify(msgs[0].content), /My name is Ada\./);
    assert.equal(msgs[1].content, first.output_text);
    assert.match(JSON.stringify(msgs[2].content), /What is my name\?/);
    const third = alice.responses.stream({ model: MODEL, input: 'Once more.', previous_response_id: second.id });
    const done = await third.finalResponse();
    assert.equal(lastUpstream().body.messages.length, 5, 'both earlier turns went upstream');
    const got = await alice.responses.retrieve(done.id);
    assert.equal(got.output_text, done.output_text, 'a streamed response is kept too');
    const items = await alice.responses.inputItems.list(done.id, { order: 'asc' });
    // the whole conversation: three user turns and the two earlier answers
    assert.deepEqual(items.data.map((i) => i.role), ['user', 'assistant', 'user', 'assistant', 'user']);
    assert.equal(items.data[4].content[0].text, 'Once more.');
    const newest = await alice.responses.inputItems.list(done.id);
    assert.equal(newest.data[0].content[0].text, 'Once more.', 'newest first by default');
  });

  it('delete removes it; retrieve and previous_response_id then answer 404', async () => {
    const del = await alice.responses.delete(first.id).catch((e) => e);
    // the SDK answers void for delete in some versions: check with retrieve
    assert.ok(!(del instanceof Error), String(del));
    await assert404(alice.responses.retrieve(first.id));
    const before = mock.requests().length;
    await assert404(alice.responses.create({ model: MODEL, input: 'hi', previous_response_id: first.id }),
      'previous_response_id');
    assert.equal(mock.requests().length, before);
    await assert404(alice.responses.delete(first.id));
  });

  it('store: false keeps nothing', async () => {
    const r = await alice.responses.create({ model: MODEL, input: 'Forget me.', store: false });
    await assert404(alice.responses.retrieve(r.id));
  });

  it('bad paths and methods: 404 / 405 in OpenAI\'s shape', async () => {
    const r = await alice.responses.create({ model: MODEL, input: 'Keep me.' });
    const call = (method, p) => request(method, `${gw.url}/v1/responses/${p}`, { headers: bearer(KEY_A) });
    for (const p of ['resp_%3Cscript%3E', `${r.id}/other`, 'x'.repeat(200)]) {
      const res = await call('GET', p);
      assert.equal(res.status, 404, p);
      assert.equal(JSON.parse(res.text).error.type, 'invalid_request_error');
      assert.ok(!res.text.includes('<script>'));
    }
    const del = await call('DELETE', `${r.id}/input_items`);
    assert.equal(del.status, 405);
    assert.match(del.headers.allow, /GET/);
    assert.equal((await call('PUT', r.id)).status, 405);
    assert.equal((await call('GET', r.id)).status, 200, 'still there');
  });
});
