// llmgate-admin: the JSON API under /admin/api/ beside the router, behind
// one lighttpd. Sessions and CSRF on every call, first-run setup, the login
// throttle, refused bodies that change nothing, gateway keys made and
// revoked through the API taking effect in the router, upstream keys,
// settings, providers and usage.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, mockEnv } = require('../lib/harness.js');
const { startSite, AdminClient, runSettle, SETTLE } = require('../lib/admin.js');
const { request, chatBody, bearer, waitFor, transcript } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');
const { assertError, assertNoSecrets } = require('../lib/checks.js');

const PASSWORD = 'admin-test-password-0123';
const PROVIDER_KEY = 'sk-ds-SECRET-admin-provider-key';
const UPSTREAM_KEY = 'sk-up-SECRET-admin-upstream-0123456789';
const MOCKP_KEY = 'sk-mp-SECRET-admin-mockp-0123456789';
const NEW_PASSWORD = 'admin-test-NEW-password-4567';
const DEAD_KEY = 'sk-dead-SECRET-admin-0123456789';
const BAD_KEY = 'sk-bad-SECRET-admin-0123456789';
const ALICE_PASSWORD = 'alice-SECRET-password-0123';

let mock;
let site;
let admin;
const gatewayKeys = [];

before(async () => {
  mock = await startMock();
  site = await startSite({
    env: { ...mockEnv(mock), DEEPSEEK_API_KEY: PROVIDER_KEY },
    conf: buildConf({}),
  });
  admin = new AdminClient(site.url);
});

after(async () => {
  const log = site ? site.errorLog() : '';
  if (site) await site.stop();
  if (mock) await mock.close();
  const secrets = [PASSWORD, NEW_PASSWORD, ALICE_PASSWORD, DEAD_KEY, BAD_KEY, PROVIDER_KEY, UPSTREAM_KEY, MOCKP_KEY, ...gatewayKeys];
  assertNoSecrets([log], secrets, 'lighttpd error log (router and admin stderr)');
  // The API answers: never a provider or upstream key, never the password.
  // (A gateway key is shown once, in the answer that created it.)
  assertNoSecrets(transcript(), [PASSWORD, NEW_PASSWORD, ALICE_PASSWORD, DEAD_KEY, BAD_KEY, PROVIDER_KEY, UPSTREAM_KEY, MOCKP_KEY], 'answers');
});

const chat = (key, model = 'deepseek-chat') =>
  request('POST', `${site.url}/v1/chat/completions`, { headers: bearer(key), body: chatBody(model) });

// Every call but setup and login, with a harmless body.
const PROTECTED = [
  ['GET', 'session'], ['POST', 'logout'], ['GET', 'settings'], ['PUT', 'settings', {}],
  ['GET', 'providers'], ['GET', 'keys'], ['POST', 'keys', { name: 'x' }],
  ['PATCH', 'keys/k_00000000', { name: 'y' }], ['POST', 'keys/k_00000000/revoke'], ['DELETE', 'keys/k_00000000'],
  ['POST', 'upstream-keys', { provider: 'deepseek', key: 'sk-never-stored-0123456789' }],
  ['PATCH', 'upstream-keys/u_00000000', { disabled: true }], ['DELETE', 'upstream-keys/u_00000000'],
  ['GET', 'usage'], ['GET', 'usage.csv'],
  ['POST', 'account/password', { current: 'x', password: 'never-set-this-0123' }], ['GET', 'audit'],
  ['GET', 'requests'], ['POST', 'providers/deepseek/test'],
  ['GET', 'admins'], ['POST', 'admins', { name: 'never', password: 'never-set-this-0123' }], ['DELETE', 'admins/never'],
];
const CHANGING = PROTECTED.filter(([m]) => m !== 'GET');

async function snapshot() {
  const s = await admin.call('GET', 'settings');
  const k = await admin.call('GET', 'keys');
  const p = await admin.call('GET', 'providers');
  assert.equal(s.status, 200, s.text);
  assert.equal(k.status, 200, k.text);
  assert.equal(p.status, 200, p.text);
  const keys = k.json.keys.map((x) => ({ id: x.id, name: x.name, state: x.state, limits: x.limits, expires: x.expires }));
  const ups = p.json.providers.map((x) => ({ name: x.name, keys: x.keys.map((y) => [y.id, y.disabled, y.label]) }));
  return JSON.stringify({ settings: s.json.settings, keys, ups });
}

describe('first run', () => {
  it('GET setup answers setup_done false before any password', async () => {
    const res = await admin.call('GET', 'setup', undefined, { session: false });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { setup_done: false });
    assert.match(String(res.headers['cache-control']), /no-store/);
  });

  it('login before setup is refused', async () => {
    const res = await admin.call('POST', 'login', { password: PASSWORD }, { session: false });
    assertAdminError(res, 409, 'setup_required');
  });

  it('a password under 10 characters is refused', async () => {
    for (const password of ['', 'short', '123456789', 'äöüäöüäöü']) {
      const res = await admin.setup(password);
      assert.equal(res.status, 400, res.text);
    }
    const res = await admin.call('GET', 'setup', undefined, { session: false });
    assert.equal(res.json.setup_done, false);
  });

  it('setup works once, then answers 409', async () => {
    const res = await admin.setup(PASSWORD);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual((await admin.call('GET', 'setup')).json, { setup_done: true });
    const again = await admin.setup('another-password-12345');
    assertAdminError(again, 409, 'already_set');
    const wrong = await new AdminClient(site.url).login('another-password-12345');
    assertAdminError(wrong, 401, 'wrong_password');
  });
});

function assertAdminError(res, status, code) {
  const ctx = `status ${res.status}, body ${String(res.text).slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type'] || ''), /^application\/json/, ctx);
  assert.ok(res.json && res.json.error && typeof res.json.error.message === 'string' && res.json.error.message.length > 0, ctx);
  if (code) assert.equal(res.json.error.code, code, ctx);
}

describe('sessions and CSRF', () => {
  it('every call but setup and login is 401 without a session', async () => {
    const anon = new AdminClient(site.url);
    for (const [m, p, body] of PROTECTED) {
      const res = await anon.call(m, p, body);
      assertAdminError(res, 401, 'unauthorized');
    }
    // a made-up or malformed cookie is no session either
    for (const cookie of ['llmgate_session=' + 'a'.repeat(64), 'llmgate_session=xyz', 'other=1']) {
      const res = await anon.call('GET', 'keys', undefined, { headers: { Cookie: cookie } });
      assertAdminError(res, 401, 'unauthorized');
    }
  });

  it('login sets a strict HttpOnly session cookie and returns the CSRF token', async () => {
    const res = await admin.login(PASSWORD);
    assert.equal(res.status, 200, res.text);
    const cookie = [].concat(res.headers['set-cookie'])[0];
    assert.match(cookie, /^llmgate_session=[0-9a-f]{64};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.match(cookie, /; Path=\//);
    assert.match(cookie, /; Max-Age=43200/);
    assert.doesNotMatch(cookie, /Secure/, 'no Secure flag over plain http');
    assert.match(res.json.csrf, /^[0-9a-f]{64}$/);
    const s = await admin.call('GET', 'session');
    assert.equal(s.status, 200);
    assert.equal(s.json.csrf, res.json.csrf, 'GET session gives the same token');
  });

  it('state-changing calls need the X-CSRF-Token; refused ones change nothing', async () => {
    const before = await snapshot();
    for (const [m, p, body] of CHANGING) {
      const none = await admin.call(m, p, body, { csrf: false });
      assertAdminError(none, 403, 'csrf_failed');
      const wrong = await admin.call(m, p, body, { csrf: false, headers: { 'X-CSRF-Token': 'f'.repeat(64) } });
      assertAdminError(wrong, 403, 'csrf_failed');
    }
    assert.equal(await snapshot(), before);
    // the session survived: logout was refused
    assert.equal((await admin.call('GET', 'session')).status, 200);
  });

  it('the CSRF token of one session does not work with another', async () => {
    const other = new AdminClient(site.url);
    assert.equal((await other.login(PASSWORD)).status, 200);
    assert.notEqual(other.csrf, admin.csrf);
    const res = await other.call('PUT', 'settings', {}, { csrf: false, headers: { 'X-CSRF-Token': admin.csrf } });
    assertAdminError(res, 403, 'csrf_failed');
    const out = await other.call('POST', 'logout');
    assert.equal(out.status, 200, out.text);
    assert.match([].concat(out.headers['set-cookie'])[0], /^llmgate_session=;.*Max-Age=0/);
    const after = await other.call('GET', 'keys');
    assertAdminError(after, 401, 'unauthorized');
    assert.equal((await admin.call('GET', 'keys')).status, 200, 'the first session is untouched');
  });
});

describe('request errors', () => {
  it('unknown path 404, wrong method 405 with Allow', async () => {
    assertAdminError(await admin.call('GET', 'nothing-here'), 404, 'not_found');
    assertAdminError(await admin.call('GET', 'keys/k_1/revoke/x'), 404, 'not_found');
    const r = await admin.call('DELETE', 'settings');
    assertAdminError(r, 405, 'method_not_allowed');
    assert.match(String(r.headers.allow), /GET/);
    assert.match(String(r.headers.allow), /PUT/);
    const g = await admin.call('GET', 'login', undefined, { session: false });
    assertAdminError(g, 405, 'method_not_allowed');
    assert.equal(g.headers.allow, 'POST');
  });

  it('bad JSON is 400 and changes nothing', async () => {
    const before = await snapshot();
    for (const [m, p] of [['PUT', 'settings'], ['POST', 'keys'], ['POST', 'upstream-keys'], ['PATCH', 'keys/k_00000000']]) {
      for (const body of ['{"aliases":', 'null', '[1,2]', '"text"', '{"a":1}}']) {
        const res = await admin.call(m, p, body);
        assert.ok(res.status === 400, `${m} ${p} ${body}: ${res.status} ${res.text}`);
        assertAdminError(res, 400);
      }
    }
    const login = await admin.call('POST', 'login', '{"password":', { session: false, csrf: false });
    assertAdminError(login, 400, 'invalid_json');
    assert.equal(await snapshot(), before);
  });

  it('a body over 256 KiB is 413 and changes nothing', async () => {
    const before = await snapshot();
    const big = JSON.stringify({ system_prompt: { enabled: true, text: 'x'.repeat(300 * 1024) } });
    const res = await admin.call('PUT', 'settings', big);
    assertAdminError(res, 413, 'too_large');
    const bigKey = await admin.call('POST', 'keys', JSON.stringify({ name: 'big', pad: 'y'.repeat(270 * 1024) }));
    assertAdminError(bigKey, 413, 'too_large');
    assert.equal(await snapshot(), before);
  });

  it('invalid settings are 400 naming the member, and change nothing', async () => {
    const before = await snapshot();
    const cases = [
      [{ bogus: 1 }, /bogus/],
      [{ providers: { 'Bad Name': {} } }, /Bad Name/],
      [{ providers: { p: { base_url: 'ftp://x' } } }, /base_url/],
      [{ providers: { newp: { models: ['m'] } } }, /base_url/],
      [{ cache: { ttl_s: -5 } }, /ttl_s/],
      [{ prices: { m: [1, 2] } }, /prices/],
      [{ system_prompt: { enabled: 'yes' } }, /enabled/],
      [{ fallback: { m: 'x' } }, /fallback/],
    ];
    for (const [body, re] of cases) {
      const res = await admin.call('PUT', 'settings', body);
      assertAdminError(res, 400, 'invalid_settings');
      assert.match(res.json.error.message, re);
    }
    assert.equal(await snapshot(), before);
  });

  it('no silent misconfiguration: repeated names, unknown providers and models, unreachable chains are refused beside the field', async () => {
    const before = await snapshot();
    // [body (object or raw JSON text), the field named, the message]
    const cases = [
      ['{"providers":{"demo":{"base_url":"http://127.0.0.1:9/v1","models":["a"]},"demo":{"base_url":"http://127.0.0.1:8/v1"}}}',
        'providers.demo', /providers\.demo is given twice/],
      ['{"aliases":{"fast":"deepseek/deepseek-chat","fast":"moonshot/kimi-k2.5"}}', 'aliases.fast', /given twice/],
      [{ aliases: { fast: 'nosuch/some-model' } }, 'aliases.fast', /names no known provider \('nosuch'\)/],
      [{ aliases: { fast: 'no-such-model' } }, 'aliases.fast', /no provider serves the model 'no-such-model'/],
      [{ fallback: { 'deepseek-chat': ['deepseek/deepseek-chat', 'ghost/x'] } }, 'fallback.deepseek-chat', /'ghost\/x' names no known provider/],
      [{ fallback: { 'nobody-serves-this': ['deepseek/deepseek-chat'] } }, 'fallback.nobody-serves-this', /never be used/],
      [{ providers: { newp: { models: ['m'] } } }, 'providers.newp', /needs a base_url/],
    ];
    for (const [body, param, re] of cases) {
      const res = await admin.call('PUT', 'settings', body);
      assertAdminError(res, 400, 'invalid_settings');
      assert.match(res.json.error.message, re);
      assert.equal(res.json.error.param, param, res.text);
    }
    assert.equal(await snapshot(), before, 'nothing saved');
    // a provider added in the same document is known to its aliases and chains
    const ok = await admin.call('PUT', 'settings', {
      providers: { extra: { base_url: 'http://127.0.0.1:9/v1', models: ['extra-model'] } },
      aliases: { 'x-fast': 'extra/anything', 'x-model': 'extra-model' },
      fallback: { 'x-fast': ['deepseek/deepseek-chat'] },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await admin.call('PUT', 'settings', {})).status, 200);
  });

  it('valid settings are stored and read back, with the file defaults beside them', async () => {
    const doc = {
      aliases: { 'team-fast': 'deepseek/deepseek-chat' },
      fallback: { 'deepseek-chat': ['moonshot/kimi-k2.5'] },
      system_prompt: { enabled: false, text: 'Be brief.' },
      cache: { enabled: false, ttl_s: 600, max_bytes: 1048576 },
      prices: { 'deepseek-chat': [0.3, 0.03, 0.5] },
    };
    const res = await admin.call('PUT', 'settings', doc);
    assert.equal(res.status, 200, res.text);
    const got = await admin.call('GET', 'settings');
    assert.deepEqual(got.json.settings, doc);
    assert.equal(got.json.defaults.providers.deepseek.base_url, mock.url + '/deepseek');
    assert.ok(Array.isArray(got.json.defaults.prices['deepseek-chat']));
    // the router applies them: the alias routes
    const k = await admin.call('POST', 'keys', { name: 'alias-check' });
    assert.equal(k.status, 201, k.text);
    gatewayKeys.push(k.json.key);
    const ok = await waitFor(async () => {
      const r = await chat(k.json.key, 'team-fast');
      return r.status === 200 ? r : null;
    }, { timeoutMs: 3000, intervalMs: 50 });
    assert.ok(ok, 'the alias from the settings works in the router');
    assert.equal((await admin.call('POST', `keys/${k.json.id}/revoke`)).status, 200);
  });
});

describe('gateway keys through the API', () => {
  let key;
  let id;

  it('POST keys returns the key once; the router takes it within a second', async () => {
    const res = await admin.call('POST', 'keys', { name: 'team-a', limits: { rpm: 1000, models: 'deepseek-chat' } });
    assert.equal(res.status, 201, res.text);
    key = res.json.key;
    id = res.json.id;
    gatewayKeys.push(key);
    assert.match(key, /^sk-lg-[0-9a-f]{48}$/);
    assert.match(id, /^k_[0-9a-f]{8}$/);
    assert.equal(res.json.prefix, key.slice(0, 10));
    const t0 = Date.now();
    const ok = await waitFor(async () => {
      const r = await chat(key);
      return r.status === 200 ? r : null;
    }, { timeoutMs: 1000, intervalMs: 25 });
    assert.ok(ok, `the new key works in the router within a second (waited ${Date.now() - t0} ms)`);
    // its model allow-list applies
    const denied = await chat(key, 'deepseek-reasoner');
    assert.equal(denied.status, 403, denied.text);
  });

  it('GET keys lists it: prefix, state, limits, usage; never the key or its hash', async () => {
    const res = await admin.call('GET', 'keys');
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(key), 'no key in the listing');
    assert.ok(!/"hash"/.test(res.text), 'no hash in the listing');
    const k = res.json.keys.find((x) => x.id === id);
    assert.ok(k, res.text);
    assert.equal(k.name, 'team-a');
    assert.equal(k.state, 'active');
    assert.equal(k.prefix, key.slice(0, 10));
    assert.equal(k.limits.rpm, 1000);
    assert.ok(k.usage.requests >= 1, `usage counts unsettled records: ${JSON.stringify(k.usage)}`);
    assert.ok(k.usage.prompt > 0);
    assert.ok(typeof k.last_used === 'number' && k.last_used > Date.now() - 60000, 'last used from the spool');
  });

  it('PATCH changes name and limits; bad values are 400; unknown ids 404', async () => {
    const res = await admin.call('PATCH', `keys/${id}`, { name: 'team-a2', limits: { rpm: 0, tpm: 50000, models: '' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.name, 'team-a2');
    assert.deepEqual(res.json.limits, { tpm: 50000 });
    assertAdminError(await admin.call('PATCH', `keys/${id}`, { limits: { rpm: -1 } }), 400);
    assertAdminError(await admin.call('PATCH', `keys/${id}`, { limits: { burst: 1 } }), 400);
    assertAdminError(await admin.call('PATCH', `keys/${id}`, { owner: 'x' }), 400);
    assertAdminError(await admin.call('PATCH', `keys/${id}`, { expires: 5 }), 400);
    assertAdminError(await admin.call('PATCH', 'keys/k_deadbeef', { name: 'x' }), 404, 'not_found');
    assertAdminError(await admin.call('POST', 'keys', { limits: {} }), 400);
    assertAdminError(await admin.call('POST', 'keys', { name: 'x', limits: { rpm: 'ten' } }), 400);
    const list = await admin.call('GET', 'keys');
    assert.ok(!list.json.keys.some((k) => k.name === 'x'), 'refused creations made no key');
    // the allow-list is gone: any model now
    const ok = await waitFor(async () => {
      const r = await chat(key, 'deepseek-reasoner');
      return r.status === 200 ? r : null;
    }, { timeoutMs: 2000 });
    assert.ok(ok, 'the changed limits reach the router');
  });

  it('revoke: the router refuses the key (401) within a second', async () => {
    const res = await admin.call('POST', `keys/${id}/revoke`);
    assert.equal(res.status, 200, res.text);
    const t0 = Date.now();
    const refused = await waitFor(async () => {
      const r = await chat(key);
      return r.status === 401 ? r : null;
    }, { timeoutMs: 1000, intervalMs: 25 });
    assert.ok(refused, `revoked key refused within a second (waited ${Date.now() - t0} ms)`);
    assertError(refused, 401, { code: 'invalid_api_key' });
    const list = await admin.call('GET', 'keys');
    assert.equal(list.json.keys.find((x) => x.id === id).state, 'revoked');
    // DELETE is the same, and revoking twice is fine
    assert.equal((await admin.call('DELETE', `keys/${id}`)).status, 200);
    assertAdminError(await admin.call('DELETE', 'keys/k_deadbeef'), 404, 'not_found');
  });
});

describe('providers and upstream keys', () => {
  let upId;

  it('POST upstream-keys stores a key, shown masked under GET providers', async () => {
    const res = await admin.call('POST', 'upstream-keys', { provider: 'deepseek', key: UPSTREAM_KEY, label: 'spare' });
    assert.equal(res.status, 201, res.text);
    upId = res.json.id;
    assert.match(upId, /^u_[0-9a-f]{8}$/);
    assert.ok(!res.text.includes(UPSTREAM_KEY));
    const p = await admin.call('GET', 'providers');
    assert.equal(p.status, 200);
    assert.ok(!p.text.includes(UPSTREAM_KEY) && !p.text.includes(PROVIDER_KEY), 'no secret in GET providers');
    const ds = p.json.providers.find((x) => x.name === 'deepseek');
    assert.equal(ds.base_url, mock.url + '/deepseek');
    assert.equal(ds.usable, true);
    const cfgKey = ds.keys.find((k) => k.source === 'config');
    assert.ok(cfgKey, JSON.stringify(ds.keys));
    assert.equal(cfgKey.masked, PROVIDER_KEY.slice(0, 3) + '…' + PROVIDER_KEY.slice(-4));
    const up = ds.keys.find((k) => k.id === upId);
    assert.equal(up.label, 'spare');
    assert.equal(up.disabled, false);
    assert.equal(up.masked, UPSTREAM_KEY.slice(0, 3) + '…' + UPSTREAM_KEY.slice(-4));
  });

  it('duplicates, unknown providers and bad keys are refused', async () => {
    assertAdminError(await admin.call('POST', 'upstream-keys', { provider: 'deepseek', key: UPSTREAM_KEY }), 409, 'duplicate');
    assertAdminError(await admin.call('POST', 'upstream-keys', { provider: 'nope', key: 'sk-abcdefghijkl' }), 400, 'unknown_provider');
    assertAdminError(await admin.call('POST', 'upstream-keys', { provider: 'deepseek', key: 'short' }), 400);
    assertAdminError(await admin.call('POST', 'upstream-keys', { provider: 'deepseek', key: 'has space 0123456' }), 400);
    assertAdminError(await admin.call('POST', 'upstream-keys', { provider: 'deepseek' }), 400);
  });

  it('PATCH disables and labels, DELETE removes; unknown ids 404', async () => {
    const d = await admin.call('PATCH', `upstream-keys/${upId}`, { disabled: true, label: 'off' });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.disabled, true);
    assert.equal(d.json.state, 'disabled');
    let p = await admin.call('GET', 'providers');
    let up = p.json.providers.find((x) => x.name === 'deepseek').keys.find((k) => k.id === upId);
    assert.equal(up.disabled, true);
    assert.equal(up.label, 'off');
    assertAdminError(await admin.call('PATCH', `upstream-keys/${upId}`, { disabled: 'no' }), 400);
    assertAdminError(await admin.call('PATCH', `upstream-keys/${upId}`, {}), 400);
    const del = await admin.call('DELETE', `upstream-keys/${upId}`);
    assert.equal(del.status, 200, del.text);
    p = await admin.call('GET', 'providers');
    up = p.json.providers.find((x) => x.name === 'deepseek').keys.find((k) => k.id === upId);
    assert.equal(up, undefined);
    assertAdminError(await admin.call('DELETE', `upstream-keys/${upId}`), 404, 'not_found');
    assertAdminError(await admin.call('PATCH', 'upstream-keys/u_zz', { disabled: true }), 404, 'not_found');
  });

  it('a provider added in settings with an upstream key from the API serves requests, and shows live state', async () => {
    const s = await admin.call('GET', 'settings');
    const doc = { ...s.json.settings, providers: { mockp: { base_url: mock.url + '/openai/v1', models: ['mockp-chat'] } } };
    assert.equal((await admin.call('PUT', 'settings', doc)).status, 200);
    const up = await admin.call('POST', 'upstream-keys', { provider: 'mockp', key: MOCKP_KEY, label: 'mock' });
    assert.equal(up.status, 201, up.text);
    const k = await admin.call('POST', 'keys', { name: 'mockp-user' });
    gatewayKeys.push(k.json.key);
    mock.reset();
    const ok = await waitFor(async () => {
      const r = await chat(k.json.key, 'mockp-chat');
      return r.status === 200 ? r : null;
    }, { timeoutMs: 3000, intervalMs: 50 });
    assert.ok(ok, 'the model of the new provider routes');
    const seen = mock.requests().filter((r) => r.path.startsWith('/openai/v1/chat/completions'));
    assert.ok(seen.length >= 1);
    assert.equal(seen[seen.length - 1].headers.authorization, `Bearer ${MOCKP_KEY}`);
    const live = await waitFor(async () => {
      const p = await admin.call('GET', 'providers');
      const mp = p.json.providers.find((x) => x.name === 'mockp');
      const key = mp && mp.keys.find((x) => x.id === up.json.id);
      return key && key.state === 'active' && key.uses >= 1 ? { p, mp, key } : null;
    }, { timeoutMs: 4000, intervalMs: 200 });
    assert.ok(live, 'the router\'s live pool state reaches GET providers');
    assert.equal(live.mp.source, 'settings');
    assert.ok(live.p.json.live.routers >= 1);
  });

  it('a provider added in settings may pass /v1/responses natively (responses: native); a bad value is refused', async () => {
    const s = await admin.call('GET', 'settings');
    const bad = await admin.call('PUT', 'settings', { ...s.json.settings, providers: { mockp: { ...s.json.settings.providers.mockp, responses: 'maybe' } } });
    assertAdminError(bad, 400, 'invalid_settings');
    assert.match(bad.json.error.message, /providers\.mockp\.responses must be "native" or "translate"/);
    const before = (await admin.call('GET', 'providers')).json.providers.find((x) => x.name === 'mockp');
    assert.equal(before.responses, 'translate');
    const doc = { ...s.json.settings, providers: { mockp: { ...s.json.settings.providers.mockp, responses: 'native' } } };
    assert.equal((await admin.call('PUT', 'settings', doc)).status, 200);
    assert.equal((await admin.call('GET', 'providers')).json.providers.find((x) => x.name === 'mockp').responses, 'native');
    const key = gatewayKeys[gatewayKeys.length - 1];
    const ok = await waitFor(async () => {
      mock.reset();
      const r = await request('POST', `${site.url}/v1/responses`, { headers: bearer(key), body: { model: 'mockp-chat', input: 'hi' } });
      assert.equal(r.status, 200, r.text);
      return mock.requests().some((x) => x.path === '/openai/v1/responses') ? r : null;
    }, { timeoutMs: 3000, intervalMs: 50 });
    assert.ok(ok, 'the router passes /v1/responses to the provider\'s own /responses');
    assert.equal(ok.json.object, 'response');
  });
});

describe('usage', () => {
  it('GET usage?days=7: per day, model and key, with the settle backlog', async () => {
    const res = await admin.call('GET', 'usage?days=7');
    assert.equal(res.status, 200, res.text);
    const u = res.json;
    assert.equal(u.days, 7);
    assert.equal(u.by_day.length, 7);
    assert.equal(u.by_day[6].day, new Date().toISOString().slice(0, 10));
    assert.ok(u.totals.requests >= 3, JSON.stringify(u.totals));
    assert.ok(u.totals.prompt > 0 && u.totals.completion > 0);
    assert.ok(u.by_model.some((m) => m.model === 'deepseek-chat'));
    assert.ok(u.by_key.some((k) => k.name === 'team-a2'), 'keys carry their names');
    assert.ok(u.backlog && typeof u.backlog.unsettled_records === 'number', JSON.stringify(u.backlog));
    // settle's schedule: the exact line for this install
    const sch = u.backlog.schedule;
    assert.ok(['cron', 'recent', 'no'].includes(sch.scheduled), JSON.stringify(sch));
    assert.match(sch.crontab_line, /^0 \* \* \* \*  \S+  LLMGATE_CONFIG=\S+ \/\S+\/llmgate-settle --quiet$/);
    assert.ok(u.rows.length >= 1);
  });

  it('days out of range is 400', async () => {
    for (const d of ['0', '367', 'abc', '-1', '7x']) {
      assertAdminError(await admin.call('GET', `usage?days=${d}`), 400);
    }
  });

  it('GET usage.csv: one row per day x key x model', async () => {
    const res = await admin.call('GET', 'usage.csv?days=30');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="llmgate-usage-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv"/);
    const lines = res.text.trim().split('\r\n');
    assert.equal(lines[0], 'day,key_id,key_name,model,requests,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost,errors,cache_hits');
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(lines.slice(1).some((l) => l.startsWith(today + ',') && l.includes(',team-a2,deepseek-chat,')), res.text);
  });

  it('after llmgate-settle the totals are the same: nothing lost, nothing counted twice', async (t) => {
    if (!fs.existsSync(SETTLE)) {
      t.skip(`llmgate-settle not built (${SETTLE})`);
      return;
    }
    const before = (await admin.call('GET', 'usage?days=2')).json;
    // the router closes its segment a few seconds after its first record
    const spool = path.join(site.stateDir, 'spool');
    const closed = await waitFor(() => {
      const names = fs.existsSync(spool) ? fs.readdirSync(spool) : [];
      return !names.some((n) => n.endsWith('.open')) && names.some((n) => n.endsWith('.ready')) ? names : null;
    }, { timeoutMs: 15000, intervalMs: 200 });
    assert.ok(closed, 'the router closed its spool segment');
    const r = await runSettle(site);
    assert.equal(r.code, 0, r.stderr);
    const after = (await admin.call('GET', 'usage?days=2')).json;
    assert.deepEqual(after.totals, before.totals);
    assert.equal(after.backlog.ready.records, 0);
    assert.ok(after.backlog.ledger_seq >= 1);
  });
});

describe('login throttle', () => {
  // REMOTE_ADDR is the TCP peer: each client connects from its own
  // loopback address (127.0.0.0/8 is all local) to the site on 127.0.0.1
  const from = (addr) => new AdminClient(site.url, { localAddress: addr });

  it('after 5 wrong passwords from one address its logins are refused with 429 and Retry-After, even the right one', async () => {
    const c = from('127.0.0.3');
    for (let i = 1; i <= 5; i++) {
      const res = await c.login(`wrong-password-${i}`);
      assertAdminError(res, 401, 'wrong_password');
    }
    const res = await c.login('wrong-password-6');
    assertAdminError(res, 429, 'too_many_attempts');
    const ra = Number(res.headers['retry-after']);
    assert.ok(ra > 0 && ra <= 60, `Retry-After ${res.headers['retry-after']}`);
    const right = await c.login(PASSWORD);
    assertAdminError(right, 429, 'too_many_attempts');
    // a session made before still works
    assert.equal((await admin.call('GET', 'keys')).status, 200);
  });

  it('the right password from another address still logs in', async () => {
    const other = from('127.0.0.4');
    const res = await other.login(PASSWORD);
    assert.equal(res.status, 200, res.text);
    assert.equal((await other.call('GET', 'keys')).status, 200);
    assertAdminError(await from('127.0.0.3').login(PASSWORD), 429, 'too_many_attempts');
  });

  it('past the global ceiling an address that failed waits, a fresh one still logs in', async () => {
    // one failure each from many addresses: 5 (above) + 15 = 20 failures
    const guessers = Array.from({ length: 15 }, (_, i) => from(`127.0.1.${i + 1}`));
    for (const g of guessers) assertAdminError(await g.login('wrong-password-x'), 401, 'wrong_password');
    const held = await guessers[0].login(PASSWORD);
    assertAdminError(held, 429, 'too_many_attempts');
    assert.ok(Number(held.headers['retry-after']) > 0, 'with Retry-After');
    const fresh = await from('127.0.2.1').login(PASSWORD);
    assert.equal(fresh.status, 200, fresh.text);
    const log = site.errorLog();
    assert.match(log, /admin login from 127\.0\.1\.1 failed/);
    assert.match(log, /admin logged in from 127\.0\.2\.1/);
  });
});

describe('frame protection', () => {
  it('every admin API answer forbids framing', async () => {
    const answers = [
      await admin.call('GET', 'setup', undefined, { session: false }),
      await admin.call('GET', 'keys'),
      await new AdminClient(site.url).call('GET', 'keys'),       // 401
      await admin.call('GET', 'no-such-call'),                   // 404
    ];
    for (const res of answers) {
      assert.equal(res.headers['x-frame-options'], 'DENY', `status ${res.status}`);
      assert.equal(res.headers['content-security-policy'], "frame-ancestors 'none'", `status ${res.status}`);
    }
  });

  it('the admin page and its files forbid framing (web server configuration)', async () => {
    for (const p of ['/', '/index.html', '/app.js', '/style.css']) {
      const res = await request('GET', site.url + p);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers['x-frame-options'], 'DENY', p);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/, p);
    }
  });
});

describe('the request log and key states', () => {
  it('every request is a row, errors with their reason, filtered and paged; keys show their last error; a provider whose keys are all blocked is not routing', async () => {
    const doc = { providers: {
      deadp: { base_url: 'http://127.0.0.1:9/v1', models: ['dead-chat'] },
      badkeyp: { base_url: mock.url + '/openai/v1', models: ['badkey-chat'] },
    } };
    assert.equal((await admin.call('PUT', 'settings', doc)).status, 200);
    const dead = await admin.call('POST', 'upstream-keys', { provider: 'deadp', key: DEAD_KEY });
    const bad = await admin.call('POST', 'upstream-keys', { provider: 'badkeyp', key: BAD_KEY });
    assert.equal(dead.status, 201, dead.text);
    assert.equal(bad.status, 201, bad.text);
    mock.configure({ keys: { [BAD_KEY]: { status: 401 } } });
    const k = await admin.call('POST', 'keys', { name: 'log-user' });
    gatewayKeys.push(k.json.key);
    const okr = await waitFor(async () => {
      const r = await chat(k.json.key, 'deepseek-chat');
      return r.status === 200 ? r : null;
    }, { timeoutMs: 15000, intervalMs: 50 });
    assert.ok(okr);
    const deadr = await waitFor(async () => {
      const r = await chat(k.json.key, 'dead-chat');
      return r.status >= 500 ? r : null;
    }, { timeoutMs: 15000, intervalMs: 50 });
    assert.ok(deadr, 'connection refused answers 5xx');
    const badr = await waitFor(async () => {
      const r = await chat(k.json.key, 'badkey-chat');
      return r.status >= 400 && r.status !== 404 ? r : null;   // 404: the router has not seen the settings yet
    }, { timeoutMs: 15000, intervalMs: 50 });
    assert.ok(badr, 'the refused key answers an error');

    let last = null;
    const log = await waitFor(async () => {
      last = await admin.call('GET', `requests?key=${k.json.id}`);
      return last.status === 200 && last.json.total >= 3 ? last.json : null;
    }, { timeoutMs: 15000, intervalMs: 100 });
    assert.ok(log, `the three requests are in the log: ${last.text} ${fs.readdirSync(path.join(site.stateDir, 'spool')).join(' ')}`);
    assert.deepEqual(log.requests.map((x) => x.model).slice(0, 3).sort(), ['badkey-chat', 'dead-chat', 'deepseek-chat']);
    for (const row of log.requests) {
      assert.equal(row.key_id, k.json.id);
      for (const f of ['ts', 'provider', 'model', 'status', 'prompt', 'completion', 'cost', 'ttfb_ms', 'ms', 'cache_hit']) assert.ok(f in row, f);
    }
    const errs = (await admin.call('GET', `requests?key=log-user&status=error`)).json;
    assert.equal(errs.total, 2, JSON.stringify(errs));
    const deadRow = errs.requests.find((x) => x.model === 'dead-chat');
    assert.match(deadRow.error, /refused|connect/i);
    assert.match(errs.requests.find((x) => x.model === 'badkey-chat').error, /refused its key|401/);
    const oks = (await admin.call('GET', `requests?key=${k.json.id}&status=ok&model=deepseek-chat`)).json;
    assert.equal(oks.total, 1);
    assert.equal(oks.requests[0].status, 200);
    const page = (await admin.call('GET', `requests?key=${k.json.id}&limit=1&offset=1`)).json;
    assert.equal(page.requests.length, 1);
    assert.equal(page.total, 3);
    assert.equal(page.requests[0].id, log.requests[1].id);
    const future = (await admin.call('GET', `requests?key=${k.json.id}&from=${Math.floor(Date.now() / 1000) + 3600}`)).json;
    assert.equal(future.total, 0);
    assertAdminError(await admin.call('GET', 'requests?status=bogus'), 400, 'invalid_request');

    const live = await waitFor(async () => {
      const p = (await admin.call('GET', 'providers')).json.providers;
      const dp = p.find((x) => x.name === 'deadp'), bp = p.find((x) => x.name === 'badkeyp');
      const dk = dp.keys.find((x) => x.id === dead.json.id), bk = bp.keys.find((x) => x.id === bad.json.id);
      return dk.last_error && bk.state === 'blocked' ? { p, dp, bp, dk, bk } : null;
    }, { timeoutMs: 20000, intervalMs: 200 });
    assert.ok(live, 'live key states with their last error');
    assert.match(live.dk.last_error, /refused|connect/i);
    assert.ok(live.dk.last_error_at > 1.7e9);
    assert.equal(live.bp.routing, false, 'every key blocked: not routing');
    assert.equal(live.bp.usable, true);
    assert.equal(live.p.find((x) => x.name === 'deepseek').routing, true);

    // tests through the router's own HTTP client and dialects, before traffic finds out
    const tdead = await admin.call('POST', 'providers/deadp/test');
    assert.equal(tdead.status, 200, tdead.text);
    assert.equal(tdead.json.ok, false);
    assert.match(tdead.json.results[0].error, /refused|connect/i);
    assert.equal(tdead.json.results[0].id, dead.json.id);
    const tbad = await admin.call('POST', 'providers/badkeyp/test', { key: bad.json.id });
    assert.equal(tbad.json.ok, false);
    assert.equal(tbad.json.results[0].status, 401);
    assert.match(tbad.json.results[0].error, /^HTTP 401: Incorrect API key/);
    mock.reset();
    const tfixed = await admin.call('POST', 'providers/badkeyp/test', { key: bad.json.id });
    assert.equal(tfixed.json.ok, true, tfixed.text);
    assert.equal(tfixed.json.results[0].status, 200);
    assert.ok(tfixed.json.results[0].ms >= 0);
    const sent = mock.requests().filter((r) => r.path.startsWith('/openai/v1/chat/completions')).pop();
    assert.equal(sent.body.model, 'badkey-chat');
    assert.equal(sent.body.max_tokens, 1);
    assertAdminError(await admin.call('POST', 'providers/nosuch/test'), 404, 'not_found');
    assertAdminError(await admin.call('POST', 'providers/deadp/test', { key: 'u_00000000' }), 404, 'not_found');
    assert.equal((await admin.call('PUT', 'settings', {})).status, 200);
    for (const id of [dead.json.id, bad.json.id]) assert.equal((await admin.call('DELETE', `upstream-keys/${id}`)).status, 200);
  });
});

describe('the admin account and the audit log', () => {
  it('the password changes only with the current one; other sessions end; the audit log says who did what', async () => {
    const other = new AdminClient(site.url);
    assert.equal((await other.login(PASSWORD)).status, 200);
    const refusals = [
      [{ current: 'not-the-password', password: NEW_PASSWORD }, 403, 'wrong_password'],
      [{ current: PASSWORD, password: 'short' }, 400, 'weak_password'],
      [{ password: NEW_PASSWORD }, 400, 'invalid_request'],
      [{ current: PASSWORD, password: NEW_PASSWORD, extra: 1 }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of refusals) assertAdminError(await admin.call('POST', 'account/password', body), status, code);
    assert.equal((await other.call('GET', 'keys')).status, 200, 'nothing changed yet');
    const ok = await admin.call('POST', 'account/password', { current: PASSWORD, password: NEW_PASSWORD });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await admin.call('GET', 'keys')).status, 200, 'the session that changed it stays');
    assertAdminError(await other.call('GET', 'keys'), 401, 'unauthorized');
    const again = new AdminClient(site.url);
    assert.equal((await again.login(NEW_PASSWORD)).status, 200);
    const audit = await again.call('GET', 'audit');
    assert.equal(audit.status, 200, audit.text);
    const whats = audit.json.entries.map((e) => e.what);
    assert.equal(whats[0], 'login', 'newest first');
    assert.equal(whats[1], 'password');
    for (const w of ['setup', 'settings', 'key.create', 'key.revoke', 'upkey.add']) assert.ok(whats.includes(w), w);
    for (const e of audit.json.entries) {
      assert.equal(e.who, 'admin');
      assert.ok(e.time > 1.7e9 && e.addr && e.detail, JSON.stringify(e));
    }
    // back, for the tests after this one
    assert.equal((await admin.call('POST', 'account/password', { current: NEW_PASSWORD, password: PASSWORD })).status, 200);
  });
});

describe('named admins', () => {
  it('the owner adds an admin who logs in by name, acts under its name in the audit log, and is removed', async () => {
    for (const [body, status, code] of [
      [{ name: 'admin', password: ALICE_PASSWORD }, 400, 'invalid_request'],
      [{ name: 'Alice', password: ALICE_PASSWORD }, 400, 'invalid_request'],
      [{ name: 'alice', password: 'short' }, 400, 'weak_password'],
    ]) assertAdminError(await admin.call('POST', 'admins', body), status, code);
    const add = await admin.call('POST', 'admins', { name: 'alice', password: ALICE_PASSWORD });
    assert.equal(add.status, 201, add.text);
    assertAdminError(await admin.call('POST', 'admins', { name: 'alice', password: ALICE_PASSWORD }), 409, 'duplicate');
    const list = await admin.call('GET', 'admins');
    assert.deepEqual(list.json.admins.map((a) => [a.name, a.by]), [['alice', 'admin']]);
    assert.ok(!list.text.includes('$y$'), 'no hash');
    const alice = new AdminClient(site.url);
    const li = await alice.login(ALICE_PASSWORD, 'alice');
    assert.equal(li.status, 200, li.text);
    assert.equal(li.json.name, 'alice');
    assert.equal((await alice.call('GET', 'session')).json.name, 'alice');
    // alice works, and the log says so; adding admins is the owner's
    const k = await alice.call('POST', 'keys', { name: 'alice-key' });
    assert.equal(k.status, 201, k.text);
    gatewayKeys.push(k.json.key);
    assertAdminError(await alice.call('POST', 'admins', { name: 'bob', password: ALICE_PASSWORD }), 403, 'owner_only');
    assertAdminError(await alice.call('DELETE', 'admins/alice'), 403, 'owner_only');
    const audit = (await admin.call('GET', 'audit')).json.entries;
    const made = audit.find((e) => e.what === 'key.create' && e.detail.includes('alice-key'));
    assert.equal(made.who, 'alice');
    assert.equal(audit.find((e) => e.what === 'admin.add').who, 'admin');
    // her own password; the owner's stays
    assert.equal((await alice.call('POST', 'account/password', { current: ALICE_PASSWORD, password: ALICE_PASSWORD + '-2' })).status, 200);
    assert.equal((await admin.call('GET', 'keys')).status, 200, 'the owner\'s session is untouched');
    // removed: her sessions end
    const del = await admin.call('DELETE', 'admins/alice');
    assert.equal(del.status, 200, del.text);
    assertAdminError(await alice.call('GET', 'keys'), 401, 'unauthorized');
    assertAdminError(await admin.call('DELETE', 'admins/alice'), 404, 'not_found');
    assert.deepEqual((await admin.call('GET', 'admins')).json.admins, []);
    assert.equal((await admin.call('POST', `keys/${k.json.id}/revoke`)).status, 200);
  });
});
