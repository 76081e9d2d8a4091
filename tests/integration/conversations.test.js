// Server-side conversations (header X-Conversation-Id): two keys with
// interleaved conversations under the same id each see only their own
// history (what the mock upstream received); /v1/messages and streams
// keep their turns too; the key's list, retrieve and delete, and another
// key's 404; the per-key limit drops the least recently used; the history
// is trimmed to [conversations] history_chars, the system prompt kept; a
// router killed with -9 during a streamed answer leaves the conversation
// usable with no half turn; bad ids are refused in the caller's dialect.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, sleep } = require('../lib/harness.js');
const { request, stream, bearer, waitFor, joinContent, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertNoSecrets } = require('../lib/checks.js');

const KEY_A = 'gk-convo-alice-0123456789';
const KEY_B = 'gk-convo-bob-9876543210';
const SECRETS = { DEEPSEEK_API_KEY: 'sk-ds-convo-SECRET-1', ANTHROPIC_API_KEY: 'sk-ant-convo-SECRET-1' };
const MODEL = 'deepseek-chat';

let mock;
let gw;

before(async () => {
  mock = await startMock();
  const conf = buildConf() +
    '[conversations]\nmax_per_key = 4\nretention_days = 30\nhistory_chars = 400\n';
  gw = await startGateway({ env: { ...mockEnv(mock), ...SECRETS, AUTH_KEY: `${KEY_A},${KEY_B}` }, conf });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const chatUrl = () => `${gw.url}/v1/chat/completions`;
const lastUpstream = () => mock.requests().filter((q) => /\/(deepseek|anthropic)\//.test(q.path)).at(-1);
const say = (key, conv, content, extra = {}) => request('POST', chatUrl(), {
  headers: { ...bearer(key), 'X-Conversation-Id': conv },
  body: { model: MODEL, messages: [{ role: 'user', content }], ...extra },
});
const api = (key, method, p = '') => request(method, `${gw.url}/v1/conversations${p}`, { headers: bearer(key) });
const texts = (msgs) => msgs.map((m) => `${m.role}:${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`);

describe('conversations', () => {
  it('two keys, one id, interleaved: each sees only its own history', async () => {
    assert.equal((await say(KEY_A, 'trip', 'My name is Ada.')).status, 200);
    assert.equal((await say(KEY_B, 'trip', 'My name is Bob.')).status, 200);
    const a2 = await say(KEY_A, 'trip', 'What is my name?');
    assert.equal(a2.status, 200);
    const up = lastUpstream().body.messages;
    assert.deepEqual(up.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.equal(up[0].content, 'My name is Ada.');
    assert.ok(!JSON.stringify(up).includes('Bob'), 'nothing of the other key');
    // Bob continues over /v1/messages to an Anthropic model: his own history, translated
    const b2 = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': KEY_B, 'anthropic-version': '2023-06-01', 'X-Conversation-Id': 'trip' },
      body: { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'And mine?' }] },
    });
    assert.equal(b2.status, 200, b2.text);
    assert.equal(b2.json.type, 'message');
    const bup = lastUpstream();
    assert.match(bup.path, /^\/anthropic\//);
    assert.ok(JSON.stringify(bup.body.messages).includes('My name is Bob.'));
    assert.ok(!JSON.stringify(bup.body.messages).includes('Ada'));
    const rec = await api(KEY_B, 'GET', '/trip');
    assert.equal(rec.status, 200);
    assert.equal(rec.json.turns, 2);
    assert.equal(rec.json.messages[3].content, b2.json.content[0].text, 'the Anthropic answer kept as text');
  });

  it('a streamed answer is kept once complete, assembled from its events', async () => {
    const s = await stream(chatUrl(), {
      headers: { ...bearer(KEY_A), 'X-Conversation-Id': 'trip' },
      body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Tell me more.' }] },
    });
    assert.equal(s.status, 200);
    assert.ok(s.done);
    const rec = await api(KEY_A, 'GET', '/trip');
    assert.equal(rec.json.turns, 3);
    assert.deepEqual(rec.json.messages.at(-1), { role: 'assistant', content: joinContent(s.events) });
    assert.equal(rec.json.messages.at(-2).content, 'Tell me more.');
  });

  it('/v1/responses continues the same conversation', async () => {
    const r = await request('POST', `${gw.url}/v1/responses`, {
      headers: { ...bearer(KEY_A), 'X-Conversation-Id': 'trip' }, body: { model: MODEL, input: 'Via responses.', store: false },
    });
    assert.equal(r.status, 200, r.text);
    const up = lastUpstream().body.messages;
    assert.equal(up[0].content, 'My name is Ada.');
    assert.equal(up.length, 7, 'three earlier turns and the new message');
    const rec = await api(KEY_A, 'GET', '/trip');
    assert.equal(rec.json.turns, 4);
    assert.equal(rec.json.messages.at(-1).content, r.json.output[0].content[0].text);
  });

  it('list, retrieve and delete are the key\'s own; another key gets 404', async () => {
    const list = await api(KEY_A, 'GET');
    assert.equal(list.status, 200);
    assert.equal(list.json.object, 'list');
    assert.deepEqual(list.json.data.map((c) => c.id), ['trip']);
    assert.equal(list.json.data[0].object, 'conversation');
    assert.equal(list.json.data[0].messages, undefined, 'the list holds no messages');
    assert.equal((await say(KEY_A, 'only alice/é?', 'Secret plans.')).status, 400, 'not ASCII: refused');
    assert.equal((await say(KEY_A, 'only alice/1?', 'Secret plans.')).status, 200);
    const enc = encodeURIComponent('only alice/1?');
    assert.equal((await api(KEY_A, 'GET', `/${enc}`)).json.turns, 1);
    const before = mock.requests().length;
    for (const m of ['GET', 'DELETE']) {
      const r = await api(KEY_B, m, `/${enc}`);
      assert.equal(r.status, 404, m);
      assert.equal(r.json.error.code, 'conversation_not_found');
    }
    assert.equal(mock.requests().length, before);
    assert.equal((await api(KEY_A, 'GET', `/${enc}`)).status, 200, 'still there for its owner');
    const del = await api(KEY_A, 'DELETE', `/${enc}`);
    assert.deepEqual(del.json, { id: 'only alice/1?', object: 'conversation.deleted', deleted: true });
    assert.equal((await api(KEY_A, 'GET', `/${enc}`)).status, 404);
    assert.equal((await api(KEY_A, 'PUT', `/${enc}`)).status, 405);
  });

  it('the per-key limit drops the least recently used', async () => {
    for (const c of ['c1', 'c2', 'c3', 'c4']) assert.equal((await say(KEY_B, c, `hi ${c}`)).status, 200);
    // Bob has trip, c1..c4: five is over four, trip (the oldest) went
    await say(KEY_B, 'c1', 'c1 again');   // c1 is now the newest
    assert.equal((await say(KEY_B, 'c5', 'hi c5')).status, 200);
    const ids = (await api(KEY_B, 'GET')).json.data.map((c) => c.id);
    assert.deepEqual(ids.sort(), ['c1', 'c3', 'c4', 'c5']);
    assert.equal((await api(KEY_B, 'GET', '/trip')).status, 404);
    assert.equal((await api(KEY_A, 'GET', '/trip')).status, 200, 'the other key keeps its own');
  });

  it('history is trimmed to the budget, oldest turns first, the system prompt kept', async () => {
    const long = (i) => `${i}:` + 'x'.repeat(100);
    for (let i = 1; i <= 5; i++) assert.equal((await say(KEY_A, 'long', long(i))).status, 200);
    await say(KEY_A, 'long', 'last', { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'last' }] });
    const up = lastUpstream().body.messages;
    assert.deepEqual(up[0], { role: 'system', content: 'Be brief.' });
    assert.equal(up.at(-1).content, 'last');
    const hist = up.slice(1, -1);
    const chars = hist.reduce((n, m) => n + Array.from(m.content).length, 0);
    assert.ok(chars <= 400, `history of ${chars} characters`);
    assert.equal(hist[0].role, 'user', 'history starts with a whole turn');
    assert.deepEqual(hist.filter((m) => m.role === 'user').map((m) => m.content.slice(0, 2)), ['4:', '5:'],
      texts(hist).join('\n'));
  });

  it('a router killed with -9 during a streamed answer leaves no half turn', async () => {
    assert.equal((await say(KEY_A, 'k9', 'Before the crash.')).status, 200);
    mock.configure({ trickleEvents: 200, trickleMs: 50 });
    const cut = stream(chatUrl(), {
      headers: { ...bearer(KEY_A), 'X-Conversation-Id': 'k9' },
      body: { model: 'deepseek/trickle', stream: true, messages: [{ role: 'user', content: 'During the crash.' }] },
      timeoutMs: 30000,
    });
    assert.ok(await waitFor(() => mock.requests().some((q) => q.body && q.body.model === 'trickle'), { timeoutMs: 10000 }));
    await sleep(300);   // a few events reached the client
    for (const pid of gw.routerPids()) process.kill(pid, 'SIGKILL');
    const got = await cut;
    assert.equal(got.status, 200);
    assert.ok(got.events.length > 0 && !got.done, 'the stream was cut in its middle');
    mock.configure({ trickleEvents: 10, trickleMs: 150 });
    let res;
    for (let i = 0; i < 100; i++) {   // lighttpd starts a new router
      res = await say(KEY_A, 'k9', 'After the crash.');
      if (res.status === 200) break;
      await sleep(100);
    }
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(texts(lastUpstream().body.messages).map((t) => t.slice(0, 30)),
      ['user:Before the crash.', `assistant:${(await api(KEY_A, 'GET', '/k9')).json.messages[1].content}`.slice(0, 30),
        'user:After the crash.']);
    assert.equal((await api(KEY_A, 'GET', '/k9')).json.turns, 2);
  });

  it('bad ids: 400 in the caller\'s dialect, nothing upstream', async () => {
    const before = mock.requests().length;
    const r = await say(KEY_A, 'x'.repeat(129), 'hi');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'invalid_conversation_id');
    const m = await request('POST', `${gw.url}/v1/messages`, {
      headers: { 'x-api-key': KEY_A, 'anthropic-version': '2023-06-01', 'X-Conversation-Id': 'y'.repeat(200) },
      body: { model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(m.status, 400);
    assert.equal(m.json.type, 'error');
    assert.equal(m.json.error.type, 'invalid_request_error');
    assert.equal((await api(KEY_A, 'GET', `/${'z'.repeat(129)}`)).status, 404);
    assert.equal(mock.requests().length, before);
  });

  it('no secret in any answer or log line', () => {
    assertNoSecrets([gw.errorLog(), ...transcript()], Object.values(SECRETS));
    assertNoSecrets([gw.errorLog()], [KEY_A, KEY_B], 'the log');
  });
});
