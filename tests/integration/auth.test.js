// Gateway keys: AUTH_KEY, [auth] keys, Bearer and x-api-key, 401 answers,
// and keys made / revoked with llmgate-keys taking effect without restart.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, startGateway, mockEnv, keysTool } = require('../lib/harness.js');
const { request, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const ENV_KEYS = ['gk-env-one-0123456789', 'gk-env-two-9876543210'];
const CONF_KEY = 'gk-conf-abcdefabcdef';
const PROVIDER_KEY = 'sk-ds-SECRET-auth';

let mock;
let gw;
const chat = (headers) => request('POST', `${gw.url}/v1/chat/completions`, { headers, body: chatBody('deepseek-chat') });
const createdKeys = [];

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: { ...mockEnv(mock), AUTH_KEY: ENV_KEYS.join(','), DEEPSEEK_API_KEY: PROVIDER_KEY },
    conf: buildConf({ auth: { keys: CONF_KEY } }),
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

// Finds the table row of `name` in `llmgate-keys list` output:
// -> { id, tokens, line } or null.
function rowOf(listOut, name) {
  for (const line of listOut.split('\n')) {
    const tokens = line.split(/[\s|]+/).filter(Boolean);
    if (tokens.includes(name)) return { id: tokens[0], tokens, line };
  }
  return null;
}

describe('gateway keys', () => {
  it('no key is 401 invalid_api_key and nothing goes upstream', async () => {
    const res = await chat({});
    assertError(res, 401, { code: 'invalid_api_key' });
    assert.equal(mock.requests().length, 0);
  });

  it('a wrong key is 401 invalid_api_key', async () => {
    for (const headers of [bearer('gk-wrong'), { 'x-api-key': 'gk-wrong' }, bearer(ENV_KEYS[0] + 'x'), bearer(ENV_KEYS[0].slice(0, -1))]) {
      const res = await chat(headers);
      assertError(res, 401, { code: 'invalid_api_key' });
      assert.ok(!res.text.includes('gk-wrong'), 'the presented key is not echoed');
    }
    assert.equal(mock.requests().length, 0);
  });

  it('a malformed Authorization header is 401', async () => {
    for (const v of ['Basic Z2s6Z2s=', 'Bearer', 'Bearer ']) {
      const res = await chat({ Authorization: v });
      assertError(res, 401, { code: 'invalid_api_key' });
    }
  });

  it('every AUTH_KEY entry works as Bearer and as x-api-key', async () => {
    for (const k of ENV_KEYS) {
      const a = await chat(bearer(k));
      assert.equal(a.status, 200, a.text);
      const b = await chat({ 'x-api-key': k });
      assert.equal(b.status, 200, b.text);
    }
    for (const r of mock.requests()) assert.equal(r.headers.authorization, `Bearer ${PROVIDER_KEY}`);
  });

  it('[auth] keys from the config file work', async () => {
    const res = await chat(bearer(CONF_KEY));
    assert.equal(res.status, 200, res.text);
  });

  it('/health needs no key', async () => {
    const res = await request('GET', `${gw.url}/health`);
    assert.equal(res.status, 200);
  });
});

describe('llmgate-keys', () => {
  let key;
  let id;

  it('create --name prints the new key, which works within a few seconds without restart', async () => {
    const r = await keysTool(gw, ['create', '--name', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    key = r.stdout.split('\n')[0].trim();
    assert.ok(key.length >= 20, `a long key on the first line: ${JSON.stringify(key)}`);
    assert.ok(!/\s/.test(key), 'the first line is the key alone');
    createdKeys.push(key);
    const res = await waitFor(async () => {
      const x = await chat(bearer(key));
      return x.status === 200 ? x : null;
    }, { timeoutMs: 3000, intervalMs: 100 });
    assert.ok(res, 'the new key is accepted within 3 s');
    const viaHeader = await chat({ 'x-api-key': key });
    assert.equal(viaHeader.status, 200);
  });

  it('two keys made in a row differ', async () => {
    const r = await keysTool(gw, ['create', '--name', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    const k2 = r.stdout.split('\n')[0].trim();
    createdKeys.push(k2);
    assert.notEqual(k2, key);
  });

  it('list shows id, name, state, never the key', async () => {
    const r = await keysTool(gw, ['list']);
    assert.equal(r.code, 0, r.stderr);
    for (const k of createdKeys) assert.ok(!r.stdout.includes(k), 'list must not print a whole key');
    const row = rowOf(r.stdout, 'alice');
    assert.ok(row, `alice is listed:\n${r.stdout}`);
    assert.ok(row.tokens.includes('active'), `alice is active: ${row.line}`);
    assert.ok(rowOf(r.stdout, 'bob'), 'bob is listed');
    id = row.id;
    assert.notEqual(id, rowOf(r.stdout, 'bob').id, 'ids differ');
    // The prefix column shows the start of the key.
    assert.ok(row.tokens.some((t) => t.length >= 4 && t.length < key.length && key.startsWith(t.replace(/[.…*]+$/, ''))),
      `a prefix of the key is shown: ${row.line}`);
  });

  it('revoke ID stops the key within a few seconds; other keys keep working', async () => {
    const r = await keysTool(gw, ['revoke', id]);
    assert.equal(r.code, 0, r.stderr);
    const res = await waitFor(async () => {
      const x = await chat(bearer(key));
      return x.status === 401 ? x : null;
    }, { timeoutMs: 3000, intervalMs: 100 });
    assert.ok(res, 'the revoked key is refused within 3 s');
    assertError(res, 401, { code: 'invalid_api_key' });
    const other = await chat(bearer(createdKeys[1]));
    assert.equal(other.status, 200, 'bob still works');
    const env = await chat(bearer(ENV_KEYS[0]));
    assert.equal(env.status, 200, 'AUTH_KEY still works');
    const list = await keysTool(gw, ['list']);
    const row = rowOf(list.stdout, 'alice');
    assert.ok(row && !row.tokens.includes('active'), `alice is no longer active: ${row && row.line}`);
  });

  it('revoke of an unknown id fails', async () => {
    const r = await keysTool(gw, ['revoke', '999999']);
    assert.notEqual(r.code, 0);
  });

  it('keys are stored hashed: no key in clear in the state dir', async () => {
    const fs = require('node:fs');
    const path = require('node:path');
    const files = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) files.push(p);
      }
    };
    walk(gw.stateDir);
    assert.ok(files.length > 0, 'the key tool wrote to the state dir');
    for (const f of files) {
      const buf = fs.readFileSync(f);
      for (const k of createdKeys) assert.ok(!buf.includes(Buffer.from(k)), `${f} holds a key in clear`);
    }
  });
});

describe('secrets', () => {
  it('no key in any answer or in the error log', () => {
    assertNoSecrets(transcript(), [PROVIDER_KEY], 'an answer');
    assertNoSecrets([gw.errorLog()], [PROVIDER_KEY, ...ENV_KEYS, CONF_KEY, ...createdKeys], 'the error log');
  });
});
