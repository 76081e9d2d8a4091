// GET /metrics: the Prometheus text format, counted across two router
// processes (the shared run/metrics.shm), its access control ([metrics]
// allow, the bearer METRICS_TOKEN), `promtool check metrics` on the output,
// and a real Prometheus scraping it (with the token) and answering a query.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { startMock, startGateway, mockEnv, freePort } = require('../lib/harness.js');
const { request, stream, chatBody, bearer, waitFor } = require('../lib/client.js');
const { buildConf } = require('../lib/conf.js');

const GW_KEY = 'gk-metrics-0123456789abcdef';
const METRICS_TOKEN = 'mt-metrics-SECRET-0123456789';
const PROMETHEUS = process.env.PROMETHEUS || '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL || '/usr/bin/promtool';

let mock;
let gw;

before(async () => {
  mock = await startMock();
  gw = await startGateway({
    env: {
      ...mockEnv(mock), AUTH_KEY: GW_KEY, METRICS_TOKEN,
      DEEPSEEK_API_KEY: 'sk-ds-SECRET-met1,sk-ds-SECRET-met2', OPENAI_API_KEY: 'sk-oa-SECRET-met',
    },
    // loopback is not in the allow list here: the test client needs the token
    conf: buildConf({ server: { threads: 2 } }) + '[metrics]\nallow = 192.0.2.0/24, 2001:db8::/32\n',
    maxProcs: 2,
  });
});

after(async () => {
  if (gw) await gw.stop();
  if (mock) await mock.close();
});

const metrics = (headers = bearer(METRICS_TOKEN)) => request('GET', `${gw.url}/metrics`, { headers });

// { 'name{labels}': value } of the samples in an exposition
function samples(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

const sum = (s, re) => Object.entries(s).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);

describe('/metrics', () => {
  it('counts every request of both router processes, with tokens, latency and failures', async () => {
    const chat = `${gw.url}/v1/chat/completions`;
    const plain = Array.from({ length: 6 }, () =>
      request('POST', chat, { headers: bearer(GW_KEY), body: chatBody('openai/gpt-4o-mini') }));
    const streamed = Array.from({ length: 2 }, () =>
      stream(chat, { headers: bearer(GW_KEY), body: chatBody('deepseek-chat', { stream: true }) }));
    const rs = await Promise.all([...plain, ...streamed]);
    rs.forEach((r) => assert.equal(r.status, 200, r.text));
    const failed = await request('POST', chat, { headers: bearer(GW_KEY), body: chatBody('openai/error-500') });
    assert.equal(failed.status, 502, failed.text);
    const refused = await request('POST', chat, { headers: bearer('gk-wrong-key-0000000000'), body: chatBody('deepseek-chat') });
    assert.equal(refused.status, 401);

    const r = await metrics();
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const s = samples(r.text);
    assert.equal(sum(s, /^llmgate_requests_total\{route="chat\/completions",provider="openai",model="openai\/gpt-4o-mini",status="200"\}$/), 6, r.text);
    assert.equal(sum(s, /^llmgate_requests_total\{route="chat\/completions",provider="deepseek",model="deepseek-chat",status="200"\}$/), 2);
    assert.equal(sum(s, /^llmgate_requests_total\{route="chat\/completions",provider="openai",.*status="502"\}$/), 1);
    assert.equal(sum(s, /^llmgate_requests_total\{route="chat\/completions",provider="-",model="-",status="401"\}$/), 1);
    assert.ok(sum(s, /^llmgate_input_tokens_total\{.*provider="deepseek"/) > 0, 'input tokens counted');
    assert.ok(sum(s, /^llmgate_output_tokens_total\{.*provider="deepseek"/) > 0, 'output tokens counted');
    assert.equal(sum(s, /^llmgate_request_duration_seconds_count\{route="chat\/completions",.*status="200"\}$/), 8);
    assert.equal(sum(s, /^llmgate_time_to_first_byte_seconds_count\{.*provider="deepseek".*status="200"\}$/), 2);
    assert.ok(sum(s, /^llmgate_upstream_failures_total\{provider="openai",kind="server_error"\}$/) >= 1, r.text);
    assert.equal(s['llmgate_upstream_keys{provider="deepseek",state="active"}'], 2, r.text);
    // (openai's key may be cooling after the 500 just now: one key, in one state)
    assert.equal(sum(s, /^llmgate_upstream_keys\{provider="openai",state="(active|cooling|blocked)"\}$/), 1);
    assert.ok('llmgate_usage_spool_backlog_bytes' in s);
    assert.ok('llmgate_settle_backlog_records' in s);
    assert.equal(s['llmgate_settle_last_success_timestamp_seconds'], 0);
    assert.ok(Object.keys(s).some((k) => /^llmgate_build_info\{version="[^"]+"\}$/.test(k)));
    assert.ok(!r.text.includes('SECRET'), 'no secret in the metrics');
  });

  it('passes promtool check metrics', async () => {
    const r = await metrics();
    const p = spawnSync(PROMTOOL, ['check', 'metrics'], { input: r.text, encoding: 'utf8', timeout: 30000 });
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
  });

  it('refuses a client outside the allow list without the token, and a wrong token', async () => {
    const none = await metrics({});
    assert.equal(none.status, 403);
    assert.equal(none.json.error.code, 'metrics_forbidden');
    assert.match(none.json.error.message, /\[metrics\] token/);
    const wrong = await metrics(bearer('mt-wrong-0000000000000'));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer');
    assert.ok(!wrong.text.includes(METRICS_TOKEN));
  });

  it('is scraped by a real Prometheus, whose query API then counts the requests', async (t) => {
    if (!fs.existsSync(PROMETHEUS)) return t.skip(`${PROMETHEUS} not installed`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-prom-'));
    const port = await freePort();
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, METRICS_TOKEN, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: llmgate',
      '    authorization:',
      `      credentials_file: ${tokenFile}`,
      '    static_configs:',
      `      - targets: ['127.0.0.1:${gw.port}']`,
      '',
    ].join('\n'));
    const prom = spawn(PROMETHEUS, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prom.stderr.on('data', (d) => { log += d; });
    try {
      const q = encodeURIComponent('sum(llmgate_requests_total{route="chat/completions",status="200"})');
      const value = await waitFor(async () => {
        try {
          const r = await request('GET', `http://127.0.0.1:${port}/api/v1/query?query=${q}`);
          const v = r.status === 200 && r.json.data.result.length ? Number(r.json.data.result[0].value[1]) : 0;
          return v > 0 ? v : 0;
        } catch { return 0; }
      }, { timeoutMs: 60000, intervalMs: 250 });
      assert.ok(value >= 8, `Prometheus query answered ${value}\n${log.slice(-2000)}`);
      const up = await request('GET', `http://127.0.0.1:${port}/api/v1/query?query=up`);
      assert.equal(up.json.data.result[0].value[1], '1', 'the scrape target is up');
    } finally {
      prom.kill('SIGKILL');
      await new Promise((r) => (prom.exitCode !== null ? r() : prom.on('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
