// Prompt apps: the pip-aide service's POST /analyze_error, made available by
// its own environment (API_KEY, API_BASE, MODEL), with its client's exact
// request; a second app declared only in the config (gateway key, a JSON
// answer of a declared shape); bad input refused in the app's format with
// nothing sent upstream, recorded or logged; the call log scrubbed of
// secrets.

'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, startGateway, mockEnv, usageRecords } = require('../lib/harness.js');
const { buildConf } = require('../lib/conf.js');
const { request, waitFor, transcript } = require('../lib/client.js');
const { assertNoSecrets } = require('../lib/checks.js');

const GW_KEY = 'gk-apps-0123456789abcdef';
const PIP_KEY = 'sk-pipaide-SECRET-0123456789';
const DS_KEY = 'sk-ds-SECRET-apps-0123456789';
const PYPI_TOKEN = 'pypi-AgEIcHlwaS5vcmcSECRETTOKEN0123456789';

const SHAPE = '{"severity":"string","commands":["string"]}';
const TRIAGE = {
  model: 'deepseek-chat',
  auth: 'key',
  fields: 'service:64, log:2048',
  client_field: 'service',
  system: 'You triage logs of {{service}}.\\nAnswer JSON only.',
  prompt: 'Log of {{service}}:\\n{{log}}',
  answer: 'json',
  shape: SHAPE,
  max_tokens: 200,
  log_max_bytes: 4096,
};

let mock;
let gw;

before(async () => {
  mock = await startMock();
  const conf = buildConf() +
    '[app.analyze_error]\nrate_limit = 2\nrate_by = client\n' +
    // the drawing trigger is on, and an app whose prompt is its field alone
    '[drawing]\nenabled = true\nmodel = Kwai-Kolors/Kolors\n' +
    '[app.echo]\nmodel = deepseek-chat\nauth = open\nfields = q:200\nprompt = {{q}}\n' +
    Object.entries(TRIAGE).reduce((s, [k, v]) => `${s}${k} = ${v}\n`, '[app.triage]\n');
  gw = await startGateway({
    env: {
      ...mockEnv(mock), AUTH_KEY: GW_KEY, DEEPSEEK_API_KEY: DS_KEY,
      API_KEY: PIP_KEY, API_BASE: `${mock.url}/deepseek/v1`,
    },
    conf,
  });
});

after(async () => {
  if (gw) {
    assertNoSecrets([...transcript(), gw.errorLog(), logText('analyze_error'), logText('triage')],
      [GW_KEY, PIP_KEY, DS_KEY, PYPI_TOKEN, 'hunter2pass'], 'answers, error log and app logs');
    await gw.stop();
  }
  if (mock) await mock.close();
});

beforeEach(() => mock.reset());

function logText(app) {
  try { return fs.readFileSync(path.join(gw.stateDir, 'apps', `${app}.log`), 'utf8'); } catch { return ''; }
}
function logEntries(app) {
  return logText(app).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const spoolRecords = () => usageRecords(gw);

// The pip-aide client's request, byte for byte as requests.post(json=...) sends it.
function pipAide(machineId, errorContext, extra = {}) {
  const body = JSON.stringify({ machine_id: machineId, error_context: errorContext });
  return request('POST', `${gw.url}/analyze_error`, { headers: { 'Content-Type': 'application/json' }, body, ...extra });
}

describe('pip-aide: POST /analyze_error', () => {
  it('answers the client\'s exact request as {"suggestion"} and logs it under machine_id:timestamp', async () => {
    mock.configure({ answer: '```\npip install --upgrade setuptools wheel\n```' });
    const ctx = 'Command: pip install tensorflow\nExit Code: 1\n\n--- stderr ---\nERROR: Could not find a version ' +
      `that satisfies the requirement tensorflow\nindex https://alice:hunter2pass@pypi.example/simple token ${PYPI_TOKEN}`;
    const res = await pipAide('0x1a2b3c4d5e6f', ctx);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { suggestion: '```\npip install --upgrade setuptools wheel\n```' });
    const up = mock.requests();
    assert.equal(up.length, 1);
    assert.equal(up[0].headers.authorization, `Bearer ${PIP_KEY}`);
    assert.equal(up[0].body.model, 'deepseek-chat');
    assert.equal(up[0].body.max_tokens, 150);
    assert.equal(up[0].body.temperature, 0.6);
    assert.equal(up[0].body.messages[0].role, 'system');
    assert.match(up[0].body.messages[1].content, /expert Python package installation troubleshooter/);
    assert.ok(up[0].body.messages[1].content.includes('ERROR: Could not find a version'));
    // logged, scrubbed
    const e = logEntries('analyze_error').find((x) => x.request_id === res.headers['x-request-id']);
    assert.ok(e, 'logged');
    assert.match(e.key, /^0x1a2b3c4d5e6f:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(e.client, '0x1a2b3c4d5e6f');
    assert.equal(e.status, 200);
    assert.match(e.input.error_context, /Could not find a version/);
    assert.ok(!logText('analyze_error').includes(PYPI_TOKEN) && !logText('analyze_error').includes('hunter2pass'));
    // recorded against the app's identity
    const rec = await waitFor(() => spoolRecords().find((r) => r.id === `${res.headers['x-request-id']}.1`), { timeoutMs: 10000 });
    assert.ok(rec, 'usage recorded');
    assert.equal(rec.key_id, 'app-analyze_error');
    assert.equal(rec.endpoint, 'app/analyze_error');
  });

  it('bad input: a clear error in the app\'s format, nothing upstream, recorded or logged', async () => {
    const before = logEntries('analyze_error').length;
    const recs = spoolRecords().length;
    const url = `${gw.url}/analyze_error`;
    const json = { 'Content-Type': 'application/json' };
    const cases = [
      [await request('POST', url, { headers: json, body: '{"machine_id": "m1", ' }), 400, 'invalid_json'],
      [await request('POST', url, { headers: json, body: { machine_id: 'm1' } }), 400, 'invalid_fields'],
      [await request('POST', url, { headers: json, body: { machine_id: 'm1', error_context: 42 } }), 400, 'invalid_fields'],
      [await request('POST', url, { headers: json, body: { machine_id: 'm1', error_context: 'x', model: 'gpt-4o' } }), 400, 'invalid_fields'],
      [await request('POST', url, { headers: json, body: { machine_id: 'm1', error_context: 'x'.repeat(70000) } }), 413, null],
      [await request('POST', url, { headers: { 'Content-Type': 'text/plain' }, body: '{"machine_id":"m1","error_context":"x"}' }), 415, 'unsupported_media_type'],
      [await request('GET', url), 405, 'method_not_allowed'],
    ];
    for (const [res, status, code] of cases) {
      assert.equal(res.status, status, res.text);
      assert.equal(typeof res.json.error, 'string', res.text);
      if (code) assert.equal(res.json.code, code);
    }
    assert.match(cases[1][0].json.error, /Missing required fields: 'error_context'/);
    assert.equal(mock.requests().length, 0);
    assert.equal(logEntries('analyze_error').length, before);
    assert.equal(spoolRecords().length, recs);
  });

  it('the upstream failing: 502 with a clear error, logged', async () => {
    mock.configure({ flavours: { deepseek: { status: 500, message: 'overloaded' } } });
    const res = await pipAide('m-fail', 'ERROR: x');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.code, 'upstream_error');
    assert.match(res.json.error, /upstream failed/i);
    assert.equal(logEntries('analyze_error').find((x) => x.request_id === res.headers['x-request-id']).status, 502);
  });

  it('an open app is rate limited per client (rate_limit = 2 a minute)', async () => {
    assert.equal((await pipAide('m-rate', 'ERROR: a')).status, 200);
    assert.equal((await pipAide('m-rate', 'ERROR: b')).status, 200);
    const third = await pipAide('m-rate', 'ERROR: c');
    assert.equal(third.status, 429);
    assert.equal(third.json.code, 'rate_limited');
    assert.ok(Number(third.headers['retry-after']) >= 1);
    assert.equal(mock.requests().length, 2);
    assert.equal((await pipAide('m-other', 'ERROR: d')).status, 200, 'another client is not limited');
  });
});

describe('an open app whose prompt is its field alone', () => {
  it('is still a chat: the drawing trigger does not reach it', async () => {
    const res = await request('POST', `${gw.url}/echo`, { body: { q: '/draw a cat on the moon' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.answer, 'string');
    const up = mock.requests();
    assert.equal(up.length, 1);
    assert.match(up[0].path, /chat\/completions$/);
    assert.equal(up[0].body.messages[0].content, '/draw a cat on the moon');
  });
});

describe('an app declared only in the config (gateway key, JSON answer)', () => {
  const call = (body, key = GW_KEY) => request('POST', `${gw.url}/triage`, {
    headers: key ? { Authorization: `Bearer ${key}` } : {}, body,
  });

  it('answers the declared JSON shape, charged to the key', async () => {
    mock.configure({ answer: '{"severity":"high","commands":["systemctl restart db"]}' });
    const res = await call({ service: 'db', log: 'connection refused' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { severity: 'high', commands: ['systemctl restart db'] });
    const up = mock.requests()[0];
    assert.equal(up.headers.authorization, `Bearer ${DS_KEY}`);
    assert.equal(up.body.messages[0].content, 'You triage logs of db.\nAnswer JSON only.');
    assert.equal(up.body.messages[1].content, 'Log of db:\nconnection refused');
    assert.deepEqual(up.body.response_format, { type: 'json_object' });
    const rec = await waitFor(() => spoolRecords().find((r) => r.id === `${res.headers['x-request-id']}.1`), { timeoutMs: 10000 });
    assert.notEqual(rec.key_id, 'app-triage');
    assert.equal(rec.endpoint, 'app/triage');
    assert.equal(logEntries('triage').at(-1).client, 'db');
  });

  it('a template marker in a field is not expanded', async () => {
    mock.configure({ answer: '{"severity":"low","commands":[]}' });
    const res = await call({ service: 'web', log: 'see {{service}} and {{log}}' });
    assert.equal(res.status, 200, res.text);
    assert.equal(mock.requests()[0].body.messages[1].content, 'Log of web:\nsee {{service}} and {{log}}');
  });

  it('an answer of the wrong shape is asked again once, then a clear 502', async () => {
    mock.configure({ answer: '{"severity":3}' });
    const res = await call({ service: 'db', log: 'x' });
    assert.equal(res.status, 502, res.text);
    assert.match(res.json.error, /did not match the declared shape: severity must be a string/);
    assert.equal(mock.requests().length, 2);
    const ids = spoolRecords().filter((r) => r.id.startsWith(`${res.headers['x-request-id']}.`)).map((r) => r.id);
    assert.deepEqual(ids.map((i) => i.split('.').at(-1)), ['1', '2'], 'both calls recorded, each under its own id');
  });

  it('the log keeps to its size cap (log_max_bytes 4096), the newest calls kept', async () => {
    mock.configure({ answer: '{"severity":"low","commands":[]}' });
    for (let i = 0; i < 10; i++) {
      const res = await call({ service: `svc${i}`, log: `line ${i} `.repeat(60) });
      assert.equal(res.status, 200, res.text);
      const size = fs.statSync(path.join(gw.stateDir, 'apps', 'triage.log')).size;
      assert.ok(size <= 4096 + 1024, `the log is ${size} bytes`);
    }
    assert.equal(logEntries('triage').at(-1).client, 'svc9');
  });

  it('no key or a wrong key: 401 in the app\'s format, nothing upstream', async () => {
    for (const key of [null, 'gk-wrong-0123456789']) {
      const res = await call({ service: 'db', log: 'x' }, key);
      assert.equal(res.status, 401);
      assert.equal(res.json.code, 'invalid_api_key');
    }
    assert.equal(mock.requests().length, 0);
  });
});
