// app.js — the llmgate admin page: first-run setup, login, usage, gateway keys, providers, settings.
// Plain JavaScript, no build step, nothing loaded from another host. It talks
// only to the JSON API of llmgate-admin (see docs/admin.md).

'use strict';

// Where llmgate-admin is mounted: an absolute path, or a path relative to
// this page (for example 'api/' when the page lives at /admin/).
const API_PREFIX = '/admin/api/';

(() => {
  const API = new URL(API_PREFIX, document.baseURI).href;
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#2f6fed', '#e8833a', '#2aa876', '#c2459a', '#8a63d2', '#d4b02f', '#3bb3c4', '#9aa3b0'];
  const LIMITS = [
    ['rpm', 'Requests / minute', 'int'],
    ['tpm', 'Tokens / minute', 'int'],
    ['tokens_month', 'Tokens / month', 'int'],
    ['tokens', 'Tokens in all', 'int'],
    ['cost_month', 'Cost / month', 'num'],
    ['cost', 'Cost in all', 'num'],
    ['models', 'Models allowed (a, b, prefix*)', 'text'],
  ];

  const state = {
    csrf: '',
    view: 'overview',
    days: 30,
    chartBy: 'model',
    usage: null,
    keys: null,
    providers: null,
    settings: null,
    currency: 'USD',
  };

  // ------------------------------------------------------------ DOM helpers

  // h('td', { class: 'num', onclick: fn, title: 'x' }, 'text', node, [more])
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      el.appendChild(typeof k === 'object' ? k : document.createTextNode(String(k)));
    }
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function toast(message, kind = 'ok') {
    const t = h('div', { class: `toast ${kind}`, role: kind === 'err' ? 'alert' : 'status' }, message);
    $('toasts').appendChild(t);
    setTimeout(() => t.remove(), kind === 'err' ? 9000 : 4000);
  }

  // ------------------------------------------------------------ formatting

  const fmtN = (n) => Number(n || 0).toLocaleString('en-US');
  function fmtK(n) {
    n = Number(n || 0);
    if (n < 1000) return String(n);
    const units = [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']];
    for (const [v, u] of units) {
      if (n >= v) return (n / v).toFixed(n / v < 10 ? 1 : 0).replace(/\.0$/, '') + u;
    }
    return String(n);
  }
  function fmtCost(x) {
    x = Number(x || 0);
    // small amounts keep two significant digits: $0.00042
    const digits = x > 0 && x < 0.01 ? Math.min(8, 1 - Math.floor(Math.log10(x))) : 2;
    return state.currency === 'USD' ? '$' + x.toFixed(digits) : `${x.toFixed(digits)} ${state.currency}`;
  }
  function fmtDay(unixS) {
    return unixS ? new Date(unixS * 1000).toISOString().slice(0, 10) : '';
  }
  function fmtAgo(ms) {
    if (!ms) return '';
    const d = (Date.now() - ms) / 1000;
    if (d < 60) return 'just now';
    if (d < 3600) return `${Math.round(d / 60)} min ago`;
    if (d < 86400) return `${Math.round(d / 3600)} h ago`;
    return `${Math.round(d / 86400)} d ago`;
  }
  function fmtTime(unixS) {
    return new Date(unixS * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  const tokensOf = (t) => Number(t.prompt || 0) + Number(t.completion || 0);

  // ------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, { quiet401 = false } = {}) {
    const headers = { Accept: 'application/json' };
    const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    let res;
    try {
      res = await fetch(API + path, opts);
    } catch (e) {
      throw new ApiError(0, 'network', `Cannot reach the server (${e.message}).`);
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) {
      const e = data && data.error;
      const err = new ApiError(res.status, e && e.code, e && e.message ? capital(e.message) : `The server answered ${res.status}.`);
      if (res.status === 401 && !quiet401) {
        state.csrf = '';
        showLogin('Your session has ended. Please log in again.');
      }
      throw err;
    }
    return data;
  }
  const capital = (m) => m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');

  // Run an action for a button: disabled while it runs, a message after.
  async function act(button, fn, okMessage) {
    if (button) button.disabled = true;
    try {
      const r = await fn();
      if (okMessage) toast(typeof okMessage === 'function' ? okMessage(r) : okMessage);
      return r;
    } catch (e) {
      if (e.status !== 401 || e.code === 'wrong_password') toast(e.message, 'err');
      return undefined;
    } finally {
      if (button) button.disabled = false;
    }
  }

  // ------------------------------------------------------------ screens

  function showOnly(id) {
    for (const x of ['loading', 'setup', 'login', 'app']) $(x).hidden = x !== id;
    const inApp = id === 'app';
    $('nav').hidden = !inApp;
    $('logout').hidden = !inApp;
  }

  function showLogin(message) {
    showOnly('login');
    if (message) toast(message, 'err');
    $('login-password').focus();
  }

  async function start() {
    try {
      const s0 = await api('GET', 'setup');
      if (!s0.setup_done) {
        showOnly('setup');
        $('setup-password').focus();
        return;
      }
      try {
        const se = await api('GET', 'session', undefined, { quiet401: true });
        state.csrf = se.csrf;
        enterApp();
      } catch (e) {
        if (e.status === 401) showLogin();
        else throw e;
      }
    } catch (e) {
      $('loading').textContent = `Cannot load the admin page: ${e.message}`;
    }
  }

  $('setup-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p1 = $('setup-password').value;
    const p2 = $('setup-password2').value;
    if ([...p1].length < 10) return toast('The password needs at least 10 characters.', 'err');
    if (p1 !== p2) return toast('The two passwords differ.', 'err');
    const btn = ev.submitter || ev.target.querySelector('button');
    const ok = await act(btn, () => api('POST', 'setup', { password: p1 }), 'Admin password set.');
    if (!ok) return;
    const r = await act(btn, () => api('POST', 'login', { password: p1 }));
    $('setup-password').value = $('setup-password2').value = '';
    if (r) {
      state.csrf = r.csrf;
      enterApp();
    } else {
      showLogin();
    }
  });

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = ev.submitter || ev.target.querySelector('button');
    const r = await act(btn, () => api('POST', 'login', { password: $('login-password').value }, { quiet401: true }));
    if (!r) return;
    $('login-password').value = '';
    state.csrf = r.csrf;
    enterApp();
  });

  $('logout').addEventListener('click', async () => {
    await act($('logout'), () => api('POST', 'logout'));
    state.csrf = '';
    showOnly('login');
    toast('Logged out.');
  });

  function enterApp() {
    showOnly('app');
    const want = location.hash.replace('#', '');
    switchView(['overview', 'keys', 'providers', 'settings', 'usage', ...Object.keys(extraViews)].includes(want) ? want : 'overview');
  }

  function switchView(name) {
    state.view = name;
    for (const b of $('nav').querySelectorAll('button')) b.classList.toggle('active', b.dataset.view === name);
    for (const sec of document.querySelectorAll('.view')) sec.hidden = sec.id !== `view-${name}`;
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
    const loaders = { overview: loadUsage, usage: loadUsage, keys: loadKeys, providers: loadProviders, settings: loadSettings };
    if (extraViews[name]) extraViews[name].load($(`view-${name}`));
    else loaders[name]();
  }

  // ------------------------------------------------------------ views in their own files
  // A feature's view lives in its own file (www/<feature>.js, loaded after
  // this one) and registers itself here: a nav button and a section are
  // made for it, and load(section) runs each time the view is shown.
  //   window.llmgate.addView('kb', { label: 'Knowledge', load(section) { ... } })
  const extraViews = {};
  function addView(name, { label, load }) {
    if (extraViews[name] || !/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`view ${name}`);
    extraViews[name] = { load };
    $('nav').appendChild(h('button', { type: 'button', 'data-view': name }, label));
    $('app').appendChild(h('section', { id: `view-${name}`, class: 'view', hidden: true }));
    if (!$('app').hidden && location.hash === `#${name}`) switchView(name);
  }
  window.llmgate = { api, act, h, clear, toast, addView };

  $('nav').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-view]');
    if (b) switchView(b.dataset.view);
  });

  // ------------------------------------------------------------ usage and overview

  async function loadUsage() {
    const data = await act(null, () => api('GET', `usage?days=${state.days}`));
    if (!data) return;
    state.usage = data;
    state.currency = data.currency || 'USD';
    renderOverview();
    renderUsage();
  }

  function setDays(d) {
    state.days = d;
    for (const b of $('period').querySelectorAll('button')) b.classList.toggle('active', Number(b.dataset.days) === d);
    const sel = $('usage-days');
    if (![...sel.options].some((o) => Number(o.value) === d)) sel.appendChild(h('option', { value: d }, `${d} days`));
    sel.value = String(d);
    loadUsage();
  }
  $('period').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-days]');
    if (b) setDays(Number(b.dataset.days));
  });
  $('usage-days').addEventListener('change', (ev) => setDays(Number(ev.target.value)));
  $('chart-by').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-by]');
    if (!b) return;
    state.chartBy = b.dataset.by;
    for (const x of $('chart-by').querySelectorAll('button')) x.classList.toggle('active', x === b);
    renderChart();
  });

  function keyLabel(id, name) {
    if (id === '-') return 'no key';
    return name ? name : id;
  }

  function renderOverview() {
    const u = state.usage;
    const t = u.totals;
    const stat = (label, value, title) => h('div', { class: 'stat', title }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, label));
    clear($('totals')).append(
      stat('Requests', fmtN(t.requests)),
      stat('Tokens in', fmtK(t.prompt), fmtN(t.prompt)),
      stat('Tokens out', fmtK(t.completion), fmtN(t.completion)),
      stat('Cached tokens', fmtK(t.cached), fmtN(t.cached)),
      stat('Cost', fmtCost(t.cost)),
      stat('Errors', fmtN(t.errors)),
    );
    renderChart();
    const names = Object.fromEntries(u.by_key.map((k) => [k.key_id, k.name]));
    const head = (...c) => h('thead', {}, h('tr', {}, c.map((x, i) => h('th', { class: i ? 'num' : '' }, x))));
    clear($('top-models')).append(
      head('Model', 'Requests', 'In', 'Out', 'Cost'),
      h('tbody', {}, u.by_model.length ? u.by_model.map((m) => h('tr', {},
        h('td', {}, m.model), h('td', { class: 'num' }, fmtN(m.requests)), h('td', { class: 'num' }, fmtK(m.prompt)),
        h('td', { class: 'num' }, fmtK(m.completion)), h('td', { class: 'num' }, fmtCost(m.cost)))) : emptyRow(5, 'No requests yet.')),
    );
    clear($('top-keys')).append(
      head('Key', 'Requests', 'Tokens', 'Cost'),
      h('tbody', {}, u.by_key.length ? u.by_key.map((k) => h('tr', {},
        h('td', {}, keyLabel(k.key_id, names[k.key_id]), k.name ? h('div', { class: 'sub' }, k.key_id) : null),
        h('td', { class: 'num' }, fmtN(k.requests)), h('td', { class: 'num' }, fmtK(tokensOf(k))),
        h('td', { class: 'num' }, fmtCost(k.cost)))) : emptyRow(4, 'No requests yet.')),
    );
    $('backlog').textContent = backlogText(u.backlog);
  }

  function backlogText(b) {
    if (!b || b.error) return b && b.error ? `Settlement state unknown: ${b.error}` : '';
    const parts = [];
    if (b.unsettled_records) {
      parts.push(`${fmtN(b.unsettled_records)} request${b.unsettled_records === 1 ? ' is' : 's are'} not settled yet` +
        (b.oldest_ms ? ` (oldest: ${fmtAgo(b.oldest_ms)})` : '') + '; they are counted above.');
    } else {
      parts.push('Everything is settled.');
    }
    parts.push(b.last_run_ms ? `Last settle run ${fmtAgo(b.last_run_ms)}.` : 'llmgate-settle has not run yet.');
    if (b.backend && b.settled && b.settled.records) parts.push(`${fmtN(b.settled.records)} records wait for the billing backend.`);
    if (b.last_error) parts.push(`Last settle error: ${b.last_error}`);
    return parts.join(' ');
  }

  function emptyRow(cols, text) {
    return h('tr', {}, h('td', { class: 'empty', colspan: cols }, text));
  }

  // Series for the chart: tokens per day, split by model or key (top 6 + other).
  function chartSeries() {
    const u = state.usage;
    const days = u.by_day.map((d) => d.day);
    const index = Object.fromEntries(days.map((d, i) => [d, i]));
    const field = state.chartBy === 'model' ? 'model' : 'key_id';
    const names = Object.fromEntries(u.by_key.map((k) => [k.key_id, k.name]));
    const totals = new Map();
    for (const r of u.rows) totals.set(r[field], (totals.get(r[field]) || 0) + tokensOf(r));
    const ranked = [...totals.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k]) => k);
    const top = ranked.slice(0, ranked.length > 7 ? 6 : 7);
    const series = top.map((k) => ({ id: k, name: field === 'model' ? k : keyLabel(k, names[k]), values: days.map(() => 0) }));
    const other = { id: '', name: 'other', values: days.map(() => 0) };
    for (const r of u.rows) {
      const i = index[r.day];
      if (i === undefined) continue;
      const sr = series.find((x) => x.id === r[field]) || other;
      sr.values[i] += tokensOf(r);
    }
    if (other.values.some((v) => v > 0)) series.push(other);
    return { days, series };
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function renderChart() {
    const box = clear($('chart'));
    const legend = clear($('legend'));
    if (!state.usage) return;
    const { days, series } = chartSeries();
    const W = Math.max(320, Math.min(1100, box.clientWidth || 720));
    const H = W < 500 ? 200 : 240;
    const L = 44, R = 8, T = 10, B = 24;
    const n = Math.max(1, days.length);
    const sums = days.map((_, i) => series.reduce((a, sr) => a + sr.values[i], 0));
    const max = niceMax(Math.max(0, ...sums));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const step = (W - L - R) / n;
    const bw = Math.max(1, Math.min(28, step * 0.72));
    const root = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'Tokens per day' });
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      root.append(
        s('line', { class: k ? 'grid' : 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtK(v)),
      );
    }
    const every = Math.ceil(n / Math.max(2, Math.floor((W - L - R) / 64)));
    days.forEach((d, i) => {
      const x = L + step * i + (step - bw) / 2;
      let acc = 0;
      series.forEach((sr, si) => {
        const v = sr.values[i];
        if (!v) return;
        const y0 = y(acc), y1 = y(acc + v);
        acc += v;
        root.append(s('rect', { class: 'bar', x: x.toFixed(1), y: y1.toFixed(1), width: bw.toFixed(1), height: Math.max(0.5, y0 - y1).toFixed(1), fill: PALETTE[si % PALETTE.length] },
          s('title', {}, `${d} · ${sr.name}: ${fmtN(v)} tokens`)));
      });
      if ((n - 1 - i) % every === 0) {
        const cx = L + step * i + step / 2;
        const anchor = cx > W - R - 18 ? 'end' : cx < L + 18 ? 'start' : 'middle';
        const tx = anchor === 'end' ? W - R : anchor === 'start' ? L : cx;
        root.append(s('text', { x: tx.toFixed(1), y: H - 6, 'text-anchor': anchor }, d.slice(5)));
      }
    });
    if (!series.length) {
      root.append(s('text', { x: (L + W) / 2, y: H / 2, 'text-anchor': 'middle' }, 'No usage in this period yet.'));
    }
    box.append(root);
    series.forEach((sr, si) => {
      legend.append(h('span', {}, s('svg', { width: 10, height: 10, 'aria-hidden': 'true' }, s('rect', { width: 10, height: 10, rx: 2, fill: PALETTE[si % PALETTE.length] })), sr.name));
    });
  }

  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (state.view === 'overview') renderChart(); }, 150);
  });

  function renderUsage() {
    const u = state.usage;
    const names = Object.fromEntries(u.by_key.map((k) => [k.key_id, k.name]));
    const f = $('usage-filter').value.trim().toLowerCase();
    const rows = u.rows.slice().reverse().filter((r) => !f ||
      r.model.toLowerCase().includes(f) || r.key_id.toLowerCase().includes(f) || (names[r.key_id] || '').toLowerCase().includes(f));
    const sum = { requests: 0, prompt: 0, completion: 0, cached: 0, reasoning: 0, cost: 0 };
    for (const r of rows) for (const k of Object.keys(sum)) sum[k] += Number(r[k] || 0);
    const num = (v, f2 = fmtN) => h('td', { class: 'num' }, f2(v));
    const cols = ['Day', 'Key', 'Model', 'Requests', 'Tokens in', 'Tokens out', 'Cached', 'Reasoning', 'Cost'];
    clear($('usage-table')).append(
      h('thead', {}, h('tr', {}, cols.map((c, i) => h('th', { class: i > 2 ? 'num' : '' }, c)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
        h('td', {}, r.day), h('td', {}, keyLabel(r.key_id, names[r.key_id])), h('td', {}, r.model),
        num(r.requests), num(r.prompt), num(r.completion), num(r.cached), num(r.reasoning), num(r.cost, fmtCost))) :
        emptyRow(cols.length, f ? 'Nothing matches the filter.' : 'No requests in this period.')),
      h('tfoot', {}, h('tr', {}, h('td', { colspan: 3 }, 'Total'), num(sum.requests), num(sum.prompt), num(sum.completion),
        num(sum.cached), num(sum.reasoning), num(sum.cost, fmtCost))),
    );
    $('usage-csv').href = API + `usage.csv?days=${state.days}`;
    $('usage-backlog').textContent = backlogText(u.backlog);
  }
  $('usage-filter').addEventListener('input', () => { if (state.usage) renderUsage(); });

  // ------------------------------------------------------------ gateway keys

  function limitInputs(container, limits, prefix) {
    clear(container);
    for (const [k, label, kind] of LIMITS) {
      const v = limits && limits[k] !== undefined ? limits[k] : '';
      container.append(h('label', { class: kind === 'text' ? 'wide' : '' }, label,
        h('input', { id: `${prefix}-${k}`, type: kind === 'text' ? 'text' : 'number', min: kind === 'text' ? null : '0',
          step: kind === 'int' ? '1' : kind === 'num' ? 'any' : null, value: v, placeholder: kind === 'text' ? 'all models' : 'no limit' })));
    }
  }

  // The limits typed in; with clear, empty fields become 0 / "" (remove).
  function readLimits(prefix, clearEmpty) {
    const out = {};
    for (const [k, label, kind] of LIMITS) {
      const raw = $(`${prefix}-${k}`).value.trim();
      if (kind === 'text') {
        if (raw || clearEmpty) out[k] = raw;
        continue;
      }
      if (raw === '') {
        if (clearEmpty) out[k] = 0;
        continue;
      }
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || (kind === 'int' && !Number.isInteger(n))) throw new Error(`${label}: ${kind === 'int' ? 'a whole number' : 'a number'} from 0 up, please.`);
      if (n > 0 || clearEmpty) out[k] = n;
    }
    return out;
  }

  limitInputs($('key-limits'), {}, 'nl');

  async function loadKeys() {
    const data = await act(null, () => api('GET', 'keys'));
    if (!data) return;
    state.keys = data;
    state.currency = data.currency || state.currency;
    renderKeys();
  }

  function stateBadge(st, extra) {
    const cls = { active: 'ok', cooling: 'warn', revoked: 'bad', expired: 'bad', blocked: 'bad', disabled: 'off', unknown: 'off' }[st] || 'off';
    return h('span', { class: `badge ${cls}`, title: extra || null }, st);
  }

  function limitsText(l) {
    const parts = [];
    if (l.rpm) parts.push(`${fmtN(l.rpm)} req/min`);
    if (l.tpm) parts.push(`${fmtK(l.tpm)} tok/min`);
    if (l.tokens_month) parts.push(`${fmtK(l.tokens_month)} tok/month`);
    if (l.tokens) parts.push(`${fmtK(l.tokens)} tok`);
    if (l.cost_month) parts.push(`${fmtCost(l.cost_month)}/month`);
    if (l.cost) parts.push(`${fmtCost(l.cost)} total`);
    if (l.models) parts.push(`models: ${l.models}`);
    return parts.length ? parts.join(' · ') : 'none';
  }

  function renderKeys() {
    const showRevoked = $('keys-show-revoked').checked;
    const keys = state.keys.keys.filter((k) => showRevoked || k.state === 'active');
    const table = clear($('keys-table'));
    const cols = ['Name', 'Key', 'State', 'Created', 'Last used', 'This month', 'Limits', ''];
    table.append(h('thead', {}, h('tr', {}, cols.map((c, i) => h('th', { class: i === 5 ? 'num' : i === 1 || i === 3 || i === 6 ? 'hide-sm' : '' }, c)))));
    const body = h('tbody');
    if (!keys.length) body.append(emptyRow(cols.length, 'No gateway keys yet. Create one above.'));
    for (const k of keys) {
      const cfg = k.source === 'config';
      const month = k.usage_month || {};
      const last = k.last_used ? fmtAgo(k.last_used) : k.last_day || '—';
      const row = h('tr', { 'data-key-id': k.id },
        h('td', {}, k.name || k.id, h('div', { class: 'sub' }, k.id)),
        h('td', { class: 'hide-sm' }, cfg ? h('span', { class: 'sub' }, 'from the config') : h('code', {}, `${k.prefix}…`)),
        h('td', {}, cfg ? stateBadge('active') : stateBadge(k.state, k.state === 'revoked' && k.revoked_at ? `revoked ${fmtDay(k.revoked_at)}` : k.expires ? `expires ${fmtDay(k.expires)}` : null)),
        h('td', { class: 'hide-sm' }, cfg ? '' : fmtDay(k.created)),
        h('td', {}, last),
        h('td', { class: 'num' }, `${fmtK(tokensOf(month))} tok`, h('div', { class: 'sub' }, fmtCost(month.cost))),
        h('td', { class: 'hide-sm sub' }, cfg ? '' : limitsText(k.limits || {})),
        h('td', { class: 'act' }, cfg || k.state === 'revoked' ? null : [
          h('button', { type: 'button', class: 'small', onclick: () => toggleEditor(row, k) }, 'Edit'),
          h('button', { type: 'button', class: 'small danger', onclick: (ev) => revokeKey(ev.currentTarget, k) }, 'Revoke'),
        ]),
      );
      body.append(row);
    }
    table.append(body);
  }
  $('keys-show-revoked').addEventListener('change', () => state.keys && renderKeys());

  function toggleEditor(row, k) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('editor')) return next.remove();
    const grid = h('div', { class: 'form-grid' });
    const prefix = `ed-${k.id}`;
    const nameInput = h('input', { value: k.name, maxlength: 63 });
    grid.append(h('label', { class: 'wide' }, 'Name', nameInput));
    const limitsBox = h('div', { class: 'form-grid wide' });
    grid.append(limitsBox);
    const save = h('button', { type: 'button', class: 'primary small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'small' }, 'Cancel');
    const editor = h('tr', { class: 'editor' }, h('td', { colspan: 8 }, grid, h('div', {}, save, ' ', cancel)));
    row.after(editor);
    limitInputs(limitsBox, k.limits || {}, prefix);
    cancel.addEventListener('click', () => editor.remove());
    save.addEventListener('click', async () => {
      let limits;
      try { limits = readLimits(prefix, true); } catch (e) { return toast(e.message, 'err'); }
      const body = { limits };
      if (nameInput.value.trim() && nameInput.value.trim() !== k.name) body.name = nameInput.value.trim();
      const r = await act(save, () => api('PATCH', `keys/${encodeURIComponent(k.id)}`, body), `Key ${k.name} updated.`);
      if (r) loadKeys();
    });
  }

  async function revokeKey(btn, k) {
    if (!confirm(`Revoke the key "${k.name}"? Clients using it are refused at once. This cannot be undone.`)) return;
    const r = await act(btn, () => api('POST', `keys/${encodeURIComponent(k.id)}/revoke`), `Key ${k.name} revoked.`);
    if (r) loadKeys();
  }

  $('key-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    const body = { name: $('key-name').value.trim() };
    try {
      const lim = readLimits('nl', false);
      if (Object.keys(lim).length) body.limits = lim;
      const d = $('key-expires').value.trim();
      if (d) {
        const n = Number(d);
        if (!Number.isInteger(n) || n < 0) throw new Error('Expires in: a whole number of days, please.');
        if (n > 0) body.expires = Math.floor(Date.now() / 1000) + n * 86400;
      }
    } catch (e) {
      return toast(e.message, 'err');
    }
    const r = await act(btn, () => api('POST', 'keys', body), (x) => `Key ${x.name} created.`);
    if (!r) return;
    $('key-form').reset();
    limitInputs($('key-limits'), {}, 'nl');
    $('new-key-value').textContent = r.key;
    $('new-key').hidden = false;
    loadKeys();
  });

  $('new-key-copy').addEventListener('click', async () => {
    const text = $('new-key-value').textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // not a secure context: select it and use the old command
      const range = document.createRange();
      range.selectNodeContents($('new-key-value'));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      if (!document.execCommand('copy')) return toast('Copy failed: select the key and copy it by hand.', 'err');
    }
    toast('Key copied.');
  });
  $('new-key-done').addEventListener('click', () => {
    $('new-key-value').textContent = '';
    $('new-key').hidden = true;
  });

  // ------------------------------------------------------------ providers

  async function loadProviders() {
    const data = await act(null, () => api('GET', 'providers'));
    if (!data) return;
    state.providers = data;
    renderProviders();
  }
  $('providers-refresh').addEventListener('click', (ev) => act(ev.currentTarget, loadProviders));
  $('providers-all').addEventListener('change', () => state.providers && renderProviders());

  function keyStateBadge(k) {
    if (k.state === 'cooling' && k.cooldown_until) return stateBadge('cooling', `until ${fmtTime(k.cooldown_until)}`);
    if (k.state === 'blocked') return stateBadge('blocked', k.reason || null);
    return stateBadge(k.state || 'unknown', k.state === 'unknown' ? 'no running router has reported this key yet' : null);
  }

  function renderProviders() {
    const data = state.providers;
    const all = $('providers-all').checked;
    const sel = $('upkey-provider');
    const chosen = sel.value;
    clear(sel).append(...data.providers.filter((p) => p.source !== 'unknown').map((p) => h('option', { value: p.name }, p.name)));
    if (chosen) sel.value = chosen;
    else {
      const first = data.providers.find((p) => p.usable);
      if (first) sel.value = first.name;
    }
    const list = clear($('providers-list'));
    const shown = data.providers.filter((p) => all || p.keys.length || p.usable || p.source === 'settings');
    list.append(h('p', { class: 'muted small' }, data.live.routers
      ? `Live key state from ${data.live.routers} running router process${data.live.routers === 1 ? '' : 'es'}.`
      : 'No running router has reported its key state yet (state "unknown").'));
    if (!shown.length) list.append(h('div', { class: 'card empty' }, 'No provider has a key yet. Add one above.'));
    for (const p of shown) {
      const badges = [
        p.disabled ? stateBadge('disabled') : p.usable ? h('span', { class: 'badge ok' }, 'routing') : h('span', { class: 'badge off' }, 'no keys'),
        p.source === 'settings' ? h('span', { class: 'badge off' }, 'added in settings') : null,
        p.source === 'unknown' ? h('span', { class: 'badge bad', title: 'its keys are kept but not used' }, 'provider gone') : null,
      ];
      const rows = p.keys.map((k) => {
        const own = k.source === 'state';
        return h('tr', { 'data-upkey-id': k.id },
          h('td', {}, h('code', {}, k.masked), h('div', { class: 'sub' }, k.id)),
          h('td', { class: 'hide-sm' }, own ? 'added here' : 'config'),
          h('td', {}, k.label || ''),
          h('td', {}, keyStateBadge(k), k.state === 'cooling' && k.cooldown_until ? h('div', { class: 'sub' }, `until ${fmtTime(k.cooldown_until)}`) : null,
            k.state === 'blocked' && k.reason ? h('div', { class: 'sub' }, k.reason) : null),
          h('td', { class: 'num' }, k.uses !== undefined ? fmtN(k.uses) : '—'),
          h('td', { class: 'hide-sm' }, k.last_used ? fmtAgo(k.last_used * 1000) : '—'),
          h('td', { class: 'act' }, own ? [
            h('button', { type: 'button', class: 'small', onclick: (ev) => setUpkeyDisabled(ev.currentTarget, k, !k.disabled) }, k.disabled ? 'Enable' : 'Disable'),
            h('button', { type: 'button', class: 'small danger', onclick: (ev) => removeUpkey(ev.currentTarget, k) }, 'Remove'),
          ] : null),
        );
      });
      list.append(h('div', { class: 'card', 'data-provider': p.name },
        h('div', { class: 'prov-head' }, h('h2', {}, p.name), badges),
        h('div', { class: 'prov-url' }, p.base_url),
        p.models.length ? h('div', { class: 'models' }, `Models: ${p.models.join(', ')}`) : null,
        p.keys.length ? h('div', { class: 'scroll' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Key', 'Source', 'Label', 'State', 'Uses', 'Last used', ''].map((c, i) =>
            h('th', { class: i === 4 ? 'num' : i === 1 || i === 5 ? 'hide-sm' : '' }, c)))),
          h('tbody', {}, rows))) : h('p', { class: 'muted small' }, p.no_auth ? 'Needs no key.' : 'No keys.'),
      ));
    }
  }

  async function setUpkeyDisabled(btn, k, disabled) {
    const r = await act(btn, () => api('PATCH', `upstream-keys/${encodeURIComponent(k.id)}`, { disabled }),
      `Key ${k.masked} ${disabled ? 'disabled' : 'enabled'}.`);
    if (r) loadProviders();
  }

  async function removeUpkey(btn, k) {
    if (!confirm(`Remove the upstream key ${k.masked}${k.label ? ` (${k.label})` : ''}?`)) return;
    const r = await act(btn, () => api('DELETE', `upstream-keys/${encodeURIComponent(k.id)}`), `Key ${k.masked} removed.`);
    if (r) loadProviders();
  }

  $('upkey-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    const body = { provider: $('upkey-provider').value, key: $('upkey-key').value.trim() };
    const label = $('upkey-label').value.trim();
    if (label) body.label = label;
    const r = await act(btn, () => api('POST', 'upstream-keys', body), (x) => `Key ${x.masked} added to ${x.provider}.`);
    if (!r) return;
    $('upkey-key').value = '';
    $('upkey-label').value = '';
    loadProviders();
  });

  // ------------------------------------------------------------ settings

  async function loadSettings() {
    const data = await act(null, () => api('GET', 'settings'));
    if (!data) return;
    state.settings = data;
    renderSettings();
  }

  const linesOf = (obj, fmt) => Object.entries(obj || {}).map(([k, v]) => `${k} = ${fmt(v)}`).join('\n');

  function renderSettings() {
    const { settings: st, defaults: df } = state.settings;
    const sp = st.system_prompt || {};
    $('sp-enabled').checked = !!sp.enabled;
    $('sp-text').value = sp.text || '';
    $('sp-aliases').value = linesOf(st.aliases, (v) => v);
    $('sp-aliases').placeholder = linesOf(df.aliases, (v) => v) || 'gpt-4o-mini = deepseek/deepseek-chat';
    $('sp-fallback').value = linesOf(st.fallback, (v) => v.join(', '));
    $('sp-fallback').placeholder = linesOf(df.fallback, (v) => v.join(', ')) || 'deepseek-chat = moonshot/kimi-k2.5, zai/glm-5';
    const c = st.cache || {};
    $('sp-cache').value = c.enabled === undefined ? '' : c.enabled ? 'on' : 'off';
    $('sp-cache').options[0].textContent = `as configured (${df.cache.enabled ? 'on' : 'off'})`;
    $('sp-cache-ttl').value = c.ttl_s ?? '';
    $('sp-cache-ttl').placeholder = df.cache.ttl_s;
    $('sp-cache-max').value = c.max_bytes ?? '';
    $('sp-cache-max').placeholder = df.cache.max_bytes;
    $('sp-prices').value = linesOf(st.prices, (v) => v.join(', '));
    $('sp-prices').placeholder = linesOf(Object.fromEntries(Object.entries(df.prices).slice(0, 3)), (v) => v.join(', '));
    const table = clear($('sp-providers'));
    table.append(h('thead', {}, h('tr', {}, ['Provider', 'Base URL', 'Models', 'Off', ''].map((x) => h('th', {}, x)))));
    const body = h('tbody', { id: 'sp-providers-body' });
    const names = [...new Set([...Object.keys(df.providers), ...Object.keys(st.providers || {})])];
    for (const name of names) body.append(providerRow(name, (st.providers || {})[name] || {}, df.providers[name]));
    table.append(body);
  }

  function providerRow(name, cur, def) {
    const isNew = !def;
    const nameCell = name === null
      ? h('input', { class: 'p-name', placeholder: 'my-host', pattern: '[a-z0-9._\\-]+', 'aria-label': 'Provider name' })
      : h('span', { class: 'p-name', 'data-name': name }, name);
    const row = h('tr', { 'data-provider-row': name || '' },
      h('td', {}, nameCell),
      h('td', {}, h('input', { class: 'p-url', value: cur.base_url || '', placeholder: def ? def.base_url : 'http://host:port/v1', 'aria-label': 'Base URL' })),
      h('td', {}, h('input', { class: 'p-models', value: (cur.models || []).join(', '), placeholder: def ? def.models.join(', ') : 'model-a, model-b', 'aria-label': 'Models' })),
      h('td', {}, h('input', { class: 'p-off', type: 'checkbox', checked: !!cur.disabled, 'aria-label': 'Take out of routing' })),
      h('td', { class: 'act' }, isNew ? h('button', { type: 'button', class: 'small danger', onclick: () => row.remove() }, 'Remove') : null),
    );
    return row;
  }
  $('sp-add-provider').addEventListener('click', () => {
    const row = providerRow(null, {}, null);
    $('sp-providers-body').append(row);
    row.querySelector('.p-name').focus();
  });

  // "a = b" lines into an object; conv turns the right side into a value.
  function parseLines(id, what, conv) {
    const out = {};
    $(id).value.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (!t || t.startsWith('#')) return;
      const eq = t.indexOf('=');
      if (eq <= 0) throw new Error(`${what}, line ${i + 1}: write "name = value".`);
      const k = t.slice(0, eq).trim();
      out[k] = conv(t.slice(eq + 1).trim(), `${what}, line ${i + 1}`);
    });
    return out;
  }
  const listOf = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);

  function buildSettings() {
    const old = state.settings.settings;
    const doc = JSON.parse(JSON.stringify(old));
    const set = (k, v, keep) => { if (keep) doc[k] = v; else delete doc[k]; };
    const text = $('sp-text').value;
    set('system_prompt', { enabled: $('sp-enabled').checked, text }, $('sp-enabled').checked || text.trim() !== '');
    const aliases = parseLines('sp-aliases', 'Aliases', (v, w) => { if (!v) throw new Error(`${w}: the target is missing.`); return v; });
    set('aliases', aliases, Object.keys(aliases).length);
    const fallback = parseLines('sp-fallback', 'Fallback chains', (v, w) => {
      const l = listOf(v);
      if (!l.length) throw new Error(`${w}: list at least one target.`);
      return l;
    });
    set('fallback', fallback, Object.keys(fallback).length);
    const cache = {};
    if ($('sp-cache').value) cache.enabled = $('sp-cache').value === 'on';
    for (const [id, k] of [['sp-cache-ttl', 'ttl_s'], ['sp-cache-max', 'max_bytes']]) {
      const raw = $(id).value.trim();
      if (!raw) continue;
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new Error(`Cache ${k}: a whole number, please.`);
      cache[k] = n;
    }
    set('cache', cache, Object.keys(cache).length);
    const prices = parseLines('sp-prices', 'Prices', (v, w) => {
      const l = listOf(v).map(Number);
      if (l.length !== 3 || l.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`${w}: three prices, "input, cached input, output".`);
      return l;
    });
    set('prices', prices, Object.keys(prices).length);
    const providers = {};
    for (const row of $('sp-providers-body').querySelectorAll('tr')) {
      const nameEl = row.querySelector('.p-name');
      const name = (nameEl.dataset.name || nameEl.value || '').trim();
      const url = row.querySelector('.p-url').value.trim();
      const models = listOf(row.querySelector('.p-models').value);
      const off = row.querySelector('.p-off').checked;
      if (!name) {
        if (url || models.length) throw new Error('A new provider needs a name (a-z, 0-9, ".", "_", "-").');
        continue;
      }
      const entry = { ...((old.providers || {})[name] || {}) };
      delete entry.base_url;
      delete entry.models;
      delete entry.disabled;
      if (url) entry.base_url = url;
      if (models.length) entry.models = models;
      if (off) entry.disabled = true;
      if (Object.keys(entry).length) providers[name] = entry;
    }
    set('providers', providers, Object.keys(providers).length);
    return doc;
  }

  $('settings-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let doc;
    try { doc = buildSettings(); } catch (e) { return toast(e.message, 'err'); }
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    const r = await act(btn, () => api('PUT', 'settings', doc), 'Settings saved. The router uses them within a second.');
    if (!r) return;
    state.settings.settings = r.settings;
    renderSettings();
  });
  $('settings-reset').addEventListener('click', () => { if (state.settings) renderSettings(); toast('Changes discarded.'); });

  start();
})();
