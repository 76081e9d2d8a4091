// Shared assertions of the integration tests.

'use strict';

const assert = require('node:assert/strict');

// An OpenAI-shaped error answer: {"error":{"message","type","param","code"}}.
function assertError(res, status, { type, code } = {}) {
  const ctx = `status ${res.status}, body ${String(res.text).slice(0, 400)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type'] || ''), /^application\/json/, `content-type of an error (${ctx})`);
  assert.ok(res.json && typeof res.json === 'object', `error body is JSON (${ctx})`);
  const e = res.json.error;
  assert.ok(e && typeof e === 'object', `body has an "error" object (${ctx})`);
  assert.equal(typeof e.message, 'string', `error.message is a string (${ctx})`);
  assert.ok(e.message.length > 0, `error.message is not empty (${ctx})`);
  assert.equal(typeof e.type, 'string', `error.type is a string (${ctx})`);
  assert.ok('param' in e, `error has "param" (${ctx})`);
  assert.ok('code' in e, `error has "code" (${ctx})`);
  if (type !== undefined) assert.equal(e.type, type, `error.type (${ctx})`);
  if (code !== undefined) assert.equal(e.code, code, `error.code (${ctx})`);
  return e;
}

// None of `secrets` appears in any of `texts`.
function assertNoSecrets(texts, secrets, what = 'text') {
  for (const t of texts) {
    for (const s of secrets) {
      if (!s) continue;
      assert.ok(!String(t).includes(s), `${what} leaks secret ${JSON.stringify(s)}: ${String(t).slice(0, 300)}`);
    }
  }
}

// Text of a whole answer (status line facts, headers and body) for scans.
function answerText(res) {
  return JSON.stringify(res.headers || {}) + '\n' + (res.text || '');
}

module.exports = { assertError, assertNoSecrets, answerText };
