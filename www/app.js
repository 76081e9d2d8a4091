// app.js — the llmgate admin page: first-run setup (password, providers,
// first key), login, overview, request log, gateway keys, providers and
// their tests, settings, usage, the account and its audit log; in English
// and Simplified Chinese. Plain JavaScript, no build step, nothing loaded
// from another host. It talks only to the JSON API of llmgate-admin (see
// docs/admin.md).
//
// ---------------------------------------------------------------- contract
// for feature views in their own files (www/<feature>.js, loaded after this
// one with <script src="<feature>.js" defer>):
//
//   const L = window.llmgate;
//   L.addView(name, { label, load(section) })
//       a nav tab and a <section> for the view; load(section) runs each time
//       the view is shown, and again after the language changes. label is
//       English text (translated with t), or a function returning the text.
//   L.api(method, path, body) -> Promise of the answer's JSON (path relative
//       to the admin API: 'settings', 'keys'); throws an Error with .status,
//       .code, .param and a readable .message.
//   L.pending() -> the number of API calls under way (tests wait for 0).
//   L.act(button, fn, okMessage) runs fn with the button disabled; shows the
//       error (or okMessage) as a message.
//   L.h(tag, attrs, ...children), L.clear(el), L.toast(text, 'ok'|'err').
//   L.fieldError(input, text) shows text beside that input (aria-invalid,
//       aria-describedby); L.clearErrors(container) removes them.
//   L.table(cols, rows) -> a <table class="reflow">: cols are
//       { label, cls } (label '' or an action column: give it a label, it is
//       read aloud and shown on phones), rows arrays of cells (text or
//       nodes) or { attrs, cells }. On a phone each row becomes a card with
//       the labels beside the values.
//   Language:
//   L.t('English text with {n} things', { n: 3 }) -> the text in the page's
//       language. English is the key; add Chinese for your own strings with
//       L.addStrings({ 'English text with {n} things': '{n} 个东西' }).
//   L.lang() -> 'en' or 'zh'; L.locale() -> 'en-US' or 'zh-CN' for Intl.
//   L.fmt.number(n), L.fmt.date(unixSeconds), L.fmt.dateTime(unixSeconds),
//       L.fmt.ago(ms) format for the page's language.
//   document fires 'llmgate:lang' (CustomEvent, detail { lang }) after the
//       language changes; the shown view's load(section) runs again.
//   Static text in a section (headings, labels, placeholders, aria-label,
//   title) is translated by L.translate(root) — call it after building a
//   view's DOM from English text if you do not call t yourself.

'use strict';

// Where llmgate-admin is mounted: an absolute path, or a path relative to
// this page (for example 'api/' when the page lives at /admin/).
const API_PREFIX = '/admin/api/';

(() => {
  const API = new URL(API_PREFIX, document.baseURI).href;
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#2f6fed', '#e8833a', '#2aa876', '#c2459a', '#8a63d2', '#d4b02f', '#3bb3c4', '#9aa3b0'];
  const LIMITS = [
    ['rpm', 'Requests / minute', 'int', 'More are refused (429) until the minute has passed.'],
    ['tpm', 'Tokens / minute', 'int', 'Prompt and answer tokens per minute.'],
    ['tokens_month', 'Tokens / month', 'int', 'Per calendar month (UTC); starts again on the 1st.'],
    ['tokens', 'Tokens in all', 'int', 'Lifetime budget: the key stops when its total reaches this.'],
    ['cost_month', 'Cost / month', 'num', 'Spending per calendar month, in the price currency.'],
    ['cost', 'Cost in all', 'num', 'Lifetime spending budget.'],
    ['models', 'Models allowed', 'text', 'Comma-separated; prefix* matches a family; empty: all.'],
  ];
  const VIEWS = ['overview', 'requests', 'keys', 'providers', 'settings', 'usage', 'account'];
  const REQ_PAGE = 50;
  const LIVE_MS = 10000;

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
    req: { offset: 0, total: 0 },
    tests: {},          // provider name -> last test answer
    liveTimer: 0,
  };

  // ------------------------------------------------------------ language

  const LANG_KEY = 'llmgate.lang';
  let LANG = 'en';
  const ZH = {};           // English -> Simplified Chinese (filled at the end of this file)
  function t(text, vars) {
    let s = LANG === 'zh' && Object.prototype.hasOwnProperty.call(ZH, text) ? ZH[text] : text;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
    return s;
  }
  const lang = () => LANG;
  const locale = () => (LANG === 'zh' ? 'zh-CN' : 'en-US');
  function addStrings(map) { Object.assign(ZH, map); }
  function initialLang() {
    let saved = null;
    try { saved = localStorage.getItem(LANG_KEY); } catch { /* storage off */ }
    if (saved === 'en' || saved === 'zh') return saved;
    const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (const p of prefs) {
      const l = String(p).toLowerCase();
      if (l.startsWith('zh')) return 'zh';
      if (l.startsWith('en')) return 'en';
    }
    return 'en';
  }

  // Static text: its translation, or an example ("e.g. x") in the page's language.
  const tStatic = (s) => (!Object.prototype.hasOwnProperty.call(ZH, s) && s.startsWith('e.g. ') ? t('e.g. {x}', { x: s.slice(5) }) : t(s));

  // The English of translated static text and attributes, to translate again.
  const origText = new WeakMap();
  const origAttr = new WeakMap();
  const ATTRS = ['placeholder', 'aria-label', 'title'];
  function translate(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const n of nodes) {
      const p = n.parentElement;
      if (!p || p.closest('code, script, style, [data-no-i18n], #lang')) continue;
      if (!origText.has(n)) {
        const raw = n.nodeValue;
        if (!raw.trim()) continue;
        origText.set(n, raw);
      }
      const raw = origText.get(n);
      const key = raw.trim().replace(/\s+/g, ' ');
      n.nodeValue = raw.replace(raw.trim(), tStatic(key));
    }
    for (const el of root.querySelectorAll ? [root, ...root.querySelectorAll('[placeholder], [aria-label], [title]')] : []) {
      if (!el.getAttribute) continue;
      let o = origAttr.get(el);
      for (const a of ATTRS) {
        if (!el.hasAttribute(a)) continue;
        if (!o) { o = {}; origAttr.set(el, o); }
        if (!(a in o)) o[a] = el.getAttribute(a);
        el.setAttribute(a, tStatic(o[a]));
      }
    }
  }

  function setLang(l, { save = true } = {}) {
    LANG = l === 'zh' ? 'zh' : 'en';
    if (save) { try { localStorage.setItem(LANG_KEY, LANG); } catch { /* storage off */ } }
    document.documentElement.lang = LANG === 'zh' ? 'zh-CN' : 'en';
    document.title = t('llmgate admin');
    for (const b of $('lang').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.lang === LANG));
    translate(document.body);
    for (const [name, v] of Object.entries(extraViews)) {
      const b = $('nav').querySelector(`button[data-view="${name}"]`);
      if (b) b.textContent = viewLabel(v.label);
    }
  }
  $('lang').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-lang]');
    if (!b || b.dataset.lang === LANG) return;
    setLang(b.dataset.lang);
    document.dispatchEvent(new CustomEvent('llmgate:lang', { detail: { lang: LANG } }));
    if (!$('app').hidden) showView(state.view);
  });

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

  // A table that reflows to cards on a phone: each cell carries its
  // column's label (data-label), shown beside the value there.
  function table(cols, rows, el) {
    const tb = el ? clear(el) : h('table', { class: 'reflow' });
    tb.append(h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.cls || null, scope: 'col' }, c.label)))));
    const body = h('tbody');
    for (const r of rows) {
      const cells = Array.isArray(r) ? r : r.cells;
      const tr = h('tr', Array.isArray(r) ? {} : r.attrs);
      cells.forEach((c, i) => {
        const col = cols[i] || {};
        if (c && c.nodeName === 'TD') {
          if (!c.hasAttribute('data-label')) c.setAttribute('data-label', col.label || '');
          if (col.cls && !c.className) c.className = col.cls;
          tr.append(c);
        } else {
          tr.append(h('td', { class: col.cls || null, 'data-label': col.label || '' }, c));
        }
      });
      body.append(tr);
    }
    tb.append(body);
    return tb;
  }
  const emptyRow = (cols, text) => ({ cells: [h('td', { class: 'empty', colspan: cols.length, 'data-label': '' }, text)] });

  // Messages: beside the field at fault, or a short toast (at most three).
  function toast(message, kind = 'ok') {
    const box = $('toasts');
    while (box.children.length >= 3) box.firstChild.remove();
    const close = h('button', { type: 'button', class: 'link x', 'aria-label': t('Dismiss') }, '×');
    const el = h('div', { class: `toast ${kind}`, role: kind === 'err' ? 'alert' : 'status' }, h('span', {}, message), close);
    close.addEventListener('click', () => el.remove());
    box.appendChild(el);
    setTimeout(() => el.remove(), kind === 'err' ? 8000 : 3500);
  }
  let errSeq = 0;
  function fieldError(input, message) {
    if (!input) return toast(message, 'err');
    const host = input.closest('td') || input.parentElement;
    let p = host.querySelector(':scope > .field-err');
    if (!p) {
      p = h('p', { class: 'field-err', id: `ferr-${++errSeq}`, role: 'alert' });
      input.after(p);
    }
    p.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== p.id);
    input.setAttribute('aria-describedby', [...ids, p.id].join(' '));
    input.addEventListener('input', () => clearError(input), { once: true });
    if (document.activeElement !== input) input.focus();
  }
  function clearError(input) {
    const host = input.closest('td') || input.parentElement;
    const p = host && host.querySelector(':scope > .field-err');
    input.removeAttribute('aria-invalid');
    if (p) {
      const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== p.id);
      if (ids.length) input.setAttribute('aria-describedby', ids.join(' ')); else input.removeAttribute('aria-describedby');
      p.remove();
    }
  }
  function clearErrors(root) {
    for (const el of root.querySelectorAll('[aria-invalid="true"]')) clearError(el);
    for (const p of root.querySelectorAll('.field-err')) p.remove();
  }

  // ------------------------------------------------------------ formatting

  const nf = () => new Intl.NumberFormat(locale());
  const fmtN = (n) => nf().format(Number(n || 0));
  function fmtK(n) {
    n = Number(n || 0);
    if (n < 1000) return fmtN(n);
    return new Intl.NumberFormat(locale(), { notation: 'compact', maximumFractionDigits: 1 }).format(n);
  }
  function fmtCost(x) {
    x = Number(x || 0);
    // small amounts keep two significant digits: $0.00042
    const digits = x > 0 && x < 0.01 ? Math.min(8, 1 - Math.floor(Math.log10(x))) : 2;
    try {
      return new Intl.NumberFormat(locale(), { style: 'currency', currency: state.currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
    } catch {
      return `${x.toFixed(digits)} ${state.currency}`;
    }
  }
  const fmtDay = (unixS) => (unixS ? new Intl.DateTimeFormat(locale(), { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(unixS * 1000)) : '');
  const fmtDateTime = (unixS) => new Intl.DateTimeFormat(locale(), { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(unixS * 1000));
  const fmtTime = (unixS) => new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(unixS * 1000));
  function fmtAgo(ms) {
    if (!ms) return '';
    const d = (Date.now() - ms) / 1000;
    const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
    if (d < 60) return t('just now');
    if (d < 3600) return rtf.format(-Math.round(d / 60), 'minute');
    if (d < 86400) return rtf.format(-Math.round(d / 3600), 'hour');
    return rtf.format(-Math.round(d / 86400), 'day');
  }
  const fmtMs = (ms) => (ms === undefined || ms === null ? '—' : ms < 1000 ? `${fmtN(ms)} ms` : `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(ms / 1000)} s`);
  const tokensOf = (x) => Number(x.prompt || 0) + Number(x.completion || 0);
  const fmt = { number: fmtN, date: fmtDay, dateTime: fmtDateTime, ago: fmtAgo, cost: fmtCost };

  // ------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, code, message, param) {
      super(message);
      this.status = status;
      this.code = code;
      this.param = param;
    }
  }

  let pending = 0;   // API calls under way (window.llmgate.pending(): tests wait for 0)
  async function api(method, path, body, opts) {
    pending++;
    try {
      return await apiCall(method, path, body, opts);
    } finally {
      pending--;
    }
  }
  async function apiCall(method, path, body, { quiet401 = false } = {}) {
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
      throw new ApiError(0, 'network', t('Cannot reach the server ({why}).', { why: e.message }));
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) {
      const e = data && data.error;
      const err = new ApiError(res.status, e && e.code, e && e.message ? serverText(capital(e.message)) : t('The server answered {status}.', { status: res.status }), e && e.param);
      if (res.status === 401 && !quiet401) {
        state.csrf = '';
        showLogin(t('Your session has ended. Please log in again.'));
      }
      throw err;
    }
    return data;
  }
  const capital = (m) => m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');

  // The server's most common refusals in the page's language (the rest
  // stay as the server wrote them).
  const SERVER_ZH = [
    [/^(\S+): '(.+)' names no known provider \('(.+)'\) and no provider serves it as a model\.?$/i, '{1}：“{2}”指向不存在的服务商（“{3}”），也没有服务商提供该模型。'],
    [/^(\S+): no provider serves the model '(.+)' \(write "provider\/model"\)\.?$/i, '{1}：没有服务商提供模型“{2}”（请写成“服务商/模型”）。'],
    [/^(\S+): nothing routes the model '(.+)' \(no alias, no provider serves it\), so this chain would never be used\.?$/i, '{1}：没有别名或服务商提供模型“{2}”，此备用链永远不会被使用。'],
    [/^(\S+) is given twice\.?$/i, '{1} 重复出现。'],
    [/^(\S+) is a new provider: it needs a base_url\.?$/i, '{1} 是新服务商：需要接口地址。'],
    [/^There is an admin '(.+)' already\.?$/i, '已有名为“{1}”的管理员。'],
    [/^Only the admin of setup .*$/i, '只有初始设置的管理员可以添加和删除管理员。'],
    [/^The upstream key is already in the pool.*$/i, '此上游密钥已在密钥池中。'],
  ];
  function serverText(m) {
    if (LANG !== 'zh') return m;
    for (const [re, zh] of SERVER_ZH) {
      const x = re.exec(m);
      if (x) return zh.replace(/\{(\d)\}/g, (_, i) => (i === '1' ? x[1].charAt(0).toLowerCase() + x[1].slice(1) : x[Number(i)]));
    }
    return m;
  }

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

  const SCREENS = ['loading', 'setup', 'setup-providers', 'setup-key', 'login', 'app'];
  function showOnly(id) {
    for (const x of SCREENS) $(x).hidden = x !== id;
    const inApp = id === 'app';
    $('nav').hidden = !inApp;
    $('logout').hidden = !inApp;
    if (!inApp) stopLive();
  }

  function showLogin(message) {
    showOnly('login');
    if (message) fieldError($('login-password'), message);
    $('login-password').focus();
  }

  async function start() {
    setLang(initialLang(), { save: false });
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
      $('loading').textContent = t('Cannot load the admin page: {why}', { why: e.message });
    }
  }

  // ---- first run: the password

  $('setup-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('setup-form'));
    const p1 = $('setup-password').value;
    const p2 = $('setup-password2').value;
    if ([...p1].length < 10) return fieldError($('setup-password'), t('The password needs at least 10 characters.'));
    if (p1 !== p2) return fieldError($('setup-password2'), t('The two passwords differ.'));
    const btn = ev.submitter || ev.target.querySelector('button');
    btn.disabled = true;
    try {
      await api('POST', 'setup', { password: p1 });
      const r = await api('POST', 'login', { password: p1 });
      state.csrf = r.csrf;
      $('setup-password').value = $('setup-password2').value = '';
      showOnly('setup-providers');
      $('sp1-url').focus();
    } catch (e) {
      fieldError(e.code === 'weak_password' ? $('setup-password') : null, e.message);
      if (e.code === 'already_set') showLogin();
    } finally {
      btn.disabled = false;
    }
  });

  // ---- first run: the chat and embedding providers

  function nameFromUrl(u) {
    try {
      const parts = new URL(u).hostname.split('.').filter((x) => !['api', 'www', 'com', 'cn', 'net', 'ai', 'io', 'org'].includes(x));
      const n = (parts[parts.length - 1] || 'chat').toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 40);
      return /^\d+$/.test(n) || n === 'localhost' || n === '127' ? 'chat' : n;
    } catch { return ''; }
  }
  // the name follows the URL until it is typed in
  $('sp1-name').addEventListener('input', () => { $('sp1-name').dataset.typed = '1'; });
  $('sp1-url').addEventListener('input', () => { if (!$('sp1-name').dataset.typed) $('sp1-name').value = nameFromUrl($('sp1-url').value.trim()); });
  const urlOk = (u) => { try { const x = new URL(u); return (x.protocol === 'http:' || x.protocol === 'https:') && !!x.hostname; } catch { return false; } };

  // The settings document with the providers of the form added; a field
  // error and null when something is missing.
  function readSetupProviders() {
    const v = (id) => $(id).value.trim();
    const chat = { url: v('sp1-url'), name: v('sp1-name'), key: v('sp1-key'), model: v('sp1-model') };
    const emb = { url: v('sp2-url'), key: v('sp2-key'), model: v('sp2-model') };
    if (!urlOk(chat.url)) return fieldError($('sp1-url'), t('An http:// or https:// URL, please.'));
    if (!/^[a-z0-9._-]{1,63}$/.test(chat.name) || chat.name === 'compat') return fieldError($('sp1-name'), t('A name of a-z, 0-9, ".", "_", "-", please.'));
    if (chat.name === 'embedding') return fieldError($('sp1-name'), t('"embedding" is the embedding provider\'s name: choose another.'));
    if (chat.key.length < 8 || /\s/.test(chat.key)) return fieldError($('sp1-key'), t('The API key: at least 8 characters, no spaces.'));
    if (!chat.model || /\s/.test(chat.model)) return fieldError($('sp1-model'), t('The model name, without spaces.'));
    const useEmb = emb.url || emb.key || emb.model;
    if (useEmb) {
      if (!urlOk(emb.url)) return fieldError($('sp2-url'), t('An http:// or https:// URL, please.'));
      if (emb.key.length < 8 || /\s/.test(emb.key)) return fieldError($('sp2-key'), t('The API key: at least 8 characters, no spaces.'));
      if (!emb.model || /\s/.test(emb.model)) return fieldError($('sp2-model'), t('The model name, without spaces.'));
    }
    return { chat, emb: useEmb ? emb : null };
  }

  $('setup-providers-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('setup-providers-form'));
    const p = readSetupProviders();
    if (!p) return;
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const cur = (await api('GET', 'settings')).settings || {};
      const doc = { ...cur, providers: { ...(cur.providers || {}) } };
      doc.providers[p.chat.name] = { base_url: p.chat.url.replace(/\/+$/, ''), models: [p.chat.model] };
      if (p.emb) doc.providers.embedding = { base_url: p.emb.url.replace(/\/+$/, ''), models: [p.emb.model] };
      // the knowledge base's embedding model, where the settings schema has it
      const withRag = p.emb ? { ...doc, rag: { ...(cur.rag || {}), model: `embedding/${p.emb.model}` } } : doc;
      try {
        await api('PUT', 'settings', withRag);
      } catch (e) {
        if (withRag === doc || !/rag/.test(`${e.param || ''} ${e.message}`)) throw e;
        await api('PUT', 'settings', doc);
      }
      await addSetupKey(p.chat.name, p.chat.key, $('sp1-key'));
      if (p.emb) await addSetupKey('embedding', p.emb.key, $('sp2-key'));
      for (const id of ['sp1-key', 'sp2-key']) $(id).value = '';
      showOnly('setup-key');
      $('setup-key-name').focus();
    } catch (e) {
      const target = e.param && e.param.startsWith('providers.embedding') ? $('sp2-url') : e.param && e.param.startsWith('providers.') ? $('sp1-url') : null;
      fieldError(target || btn, e.message);
    } finally {
      btn.disabled = false;
    }
  });
  async function addSetupKey(provider, key, input) {
    try {
      await api('POST', 'upstream-keys', { provider, key });
    } catch (e) {
      if (e.code !== 'duplicate') { fieldError(input, e.message); throw e; }
    }
  }
  $('setup-providers-skip').addEventListener('click', () => { showOnly('setup-key'); $('setup-key-name').focus(); });

  // ---- first run: the first gateway key, shown once

  $('setup-key-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('setup-key-form'));
    const name = $('setup-key-name').value.trim();
    if (!name) return fieldError($('setup-key-name'), t('A name, please.'));
    const btn = ev.submitter || ev.target.querySelector('button');
    btn.disabled = true;
    try {
      const r = await api('POST', 'keys', { name });
      $('setup-key-value').textContent = r.key;
      $('setup-key-shown').hidden = false;
      $('setup-key-form').hidden = true;
      $('setup-done').hidden = false;
      $('setup-done').focus();
    } catch (e) {
      fieldError($('setup-key-name'), e.message);
      btn.disabled = false;
    }
  });
  $('setup-key-copy').addEventListener('click', () => copyText($('setup-key-value')));
  $('setup-done').addEventListener('click', () => {
    $('setup-key-value').textContent = '';
    $('setup-key-shown').hidden = true;
    enterApp();
  });

  // ---- login, logout

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('login-form'));
    const btn = ev.submitter || ev.target.querySelector('button');
    btn.disabled = true;
    try {
      const name = $('login-name').value.trim();
      const r = await api('POST', 'login', name ? { name, password: $('login-password').value } : { password: $('login-password').value }, { quiet401: true });
      $('login-password').value = '';
      state.csrf = r.csrf;
      enterApp();
    } catch (e) {
      fieldError($('login-password'), e.code === 'wrong_password' ? t('Wrong password.') : e.message);
    } finally {
      btn.disabled = false;
    }
  });

  $('logout').addEventListener('click', async () => {
    await act($('logout'), () => api('POST', 'logout'));
    state.csrf = '';
    showOnly('login');
    toast(t('Logged out.'));
  });

  function enterApp() {
    showOnly('app');
    const want = location.hash.replace('#', '').split('?')[0];
    switchView([...VIEWS, ...Object.keys(extraViews)].includes(want) ? want : 'overview');
  }

  function switchView(name, { focus = false } = {}) {
    state.view = name;
    for (const b of $('nav').querySelectorAll('button')) {
      const on = b.dataset.view === name;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    for (const sec of document.querySelectorAll('.view')) sec.hidden = sec.id !== `view-${name}`;
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
    if (focus) $('nav').querySelector(`button[data-view="${name}"]`).focus();
    showView(name);
  }
  function showView(name) {
    stopLive();
    const loaders = { overview: loadUsage, usage: loadUsage, keys: loadKeys, providers: loadProviders, settings: loadSettings, requests: loadRequests, account: loadAccount };
    if (extraViews[name]) extraViews[name].load($(`view-${name}`));
    else loaders[name]();
    if (name === 'providers') startLive();
  }

  // ------------------------------------------------------------ views in their own files

  const extraViews = {};
  const viewLabel = (label) => (typeof label === 'function' ? label() : t(label));
  function addView(name, { label, load }) {
    if (extraViews[name] || VIEWS.includes(name) || !/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`view ${name}`);
    extraViews[name] = { load, label };
    $('nav').appendChild(h('button', { type: 'button', role: 'tab', id: `tab-${name}`, 'data-view': name, 'data-no-i18n': true, 'aria-controls': `view-${name}`, 'aria-selected': 'false', tabindex: -1 }, viewLabel(label)));
    $('app').appendChild(h('section', { id: `view-${name}`, class: 'view', role: 'tabpanel', 'aria-labelledby': `tab-${name}`, hidden: true }));
    if (!$('app').hidden && location.hash === `#${name}`) switchView(name);
  }
  window.llmgate = { api, act, h, clear, toast, addView, t, lang, locale, addStrings, translate, table, fieldError, clearErrors, fmt, pending: () => pending };

  $('nav').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-view]');
    if (b) switchView(b.dataset.view);
  });
  // arrow keys move between tabs
  $('nav').addEventListener('keydown', (ev) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) return;
    const tabs = [...$('nav').querySelectorAll('button[data-view]')];
    const i = tabs.findIndex((b) => b.dataset.view === state.view);
    const j = ev.key === 'Home' ? 0 : ev.key === 'End' ? tabs.length - 1 : (i + (ev.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    ev.preventDefault();
    switchView(tabs[j].dataset.view, { focus: true });
  });

  function setPressed(group, pred) {
    for (const b of group.querySelectorAll('button')) b.setAttribute('aria-pressed', String(pred(b)));
  }

  async function copyText(codeEl) {
    const text = codeEl.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // not a secure context: select it and use the old command
      const range = document.createRange();
      range.selectNodeContents(codeEl);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      if (!document.execCommand('copy')) return toast(t('Copy failed: select the text and copy it by hand.'), 'err');
    }
    toast(t('Copied.'));
  }

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
    setPressed($('period'), (b) => Number(b.dataset.days) === d);
    const sel = $('usage-days');
    if (![...sel.options].some((o) => Number(o.value) === d)) sel.appendChild(h('option', { value: d }, t('{n} days', { n: d })));
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
    setPressed($('chart-by'), (x) => x === b);
    renderChart();
  });

  function keyLabel(id, name) {
    if (id === '-') return t('no key');
    return name ? name : id;
  }

  // Open the request log with these filters (from/to: unix seconds, a range).
  function openRequests(f) {
    state.req.from = f.from || 0;
    state.req.to = f.to || 0;
    $('rq-key').dataset.want = f.key || '';
    $('rq-model').value = f.model || '';
    $('rq-provider').dataset.want = f.provider || '';
    $('rq-status').value = f.status || '';
    $('rq-since').value = f.since !== undefined ? String(f.since) : '';
    state.req.offset = 0;
    switchView('requests');
  }

  function renderOverview() {
    const u = state.usage;
    const tt = u.totals;
    const stat = (label, value, title) => h('div', { class: 'stat', title }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, t(label)));
    const errors = h('button', { type: 'button', class: 'stat stat-link', id: 'errors-card', onclick: () => openRequests({ status: 'error', since: state.days * 86400 }) },
      h('div', { class: 'v' }, fmtN(tt.errors)), h('div', { class: 'l' }, t('Errors'), ' ', h('span', { class: 'go' }, t('open the log →'))));
    clear($('totals')).append(
      stat('Requests', fmtN(tt.requests)),
      stat('Tokens in', fmtK(tt.prompt), fmtN(tt.prompt)),
      stat('Tokens out', fmtK(tt.completion), fmtN(tt.completion)),
      stat('Cached tokens', fmtK(tt.cached), fmtN(tt.cached)),
      stat('Cost', fmtCost(tt.cost)),
      errors,
    );
    renderChart();
    const names = Object.fromEntries(u.by_key.map((k) => [k.key_id, k.name]));
    const mcols = [{ label: t('Model') }, { label: t('Requests'), cls: 'num' }, { label: t('In'), cls: 'num' }, { label: t('Out'), cls: 'num' }, { label: t('Errors'), cls: 'num' }, { label: t('Cost'), cls: 'num' }];
    table(mcols, u.by_model.length ? u.by_model.map((m) => [m.model, fmtN(m.requests), fmtK(m.prompt), fmtK(m.completion),
      errLink(m.errors, { model: m.model, since: state.days * 86400 }), fmtCost(m.cost)]) : [emptyRow(mcols, t('No requests yet.'))], $('top-models'));
    const kcols = [{ label: t('Key') }, { label: t('Requests'), cls: 'num' }, { label: t('Tokens'), cls: 'num' }, { label: t('Errors'), cls: 'num' }, { label: t('Cost'), cls: 'num' }];
    table(kcols, u.by_key.length ? u.by_key.map((k) => [[keyLabel(k.key_id, names[k.key_id]), k.name ? h('div', { class: 'sub' }, k.key_id) : null],
      fmtN(k.requests), fmtK(tokensOf(k)), errLink(k.errors, { key: k.key_id, since: state.days * 86400 }), fmtCost(k.cost)]) : [emptyRow(kcols, t('No requests yet.'))], $('top-keys'));
    renderSettle(u.backlog);
  }

  // An error count that opens the request log filtered to those errors.
  function errLink(n, f) {
    n = Number(n || 0);
    if (!n) return '0';
    return h('button', { type: 'button', class: 'link errlink', onclick: () => openRequests({ ...f, status: 'error' }),
      'aria-label': t('{n} errors: open them in the request log', { n: fmtN(n) }) }, fmtN(n));
  }

  function settleText(b) {
    if (!b || b.error) return b && b.error ? t('Settlement state unknown: {why}', { why: b.error }) : '';
    const parts = [];
    const fresh = !b.last_run_ms && !b.unsettled_records && !(b.settled && b.settled.records) && !b.ledger_seq;
    if (fresh) {
      parts.push(t('No requests recorded yet, so there is nothing to settle.'));
    } else if (b.unsettled_records) {
      parts.push(t('Requests not settled yet: {n} (oldest: {ago}); they are counted above.', { n: fmtN(b.unsettled_records), ago: fmtAgo(b.oldest_ms) || '—' }));
    } else {
      parts.push(t('Every recorded request is settled.'));
    }
    if (b.last_run_ms) parts.push(t('llmgate-settle last ran {ago}.', { ago: fmtAgo(b.last_run_ms) }));
    else if (!fresh) parts.push(t('llmgate-settle has not run yet.'));
    if (b.backend && b.settled && b.settled.records) parts.push(t('{n} records wait for the billing backend.', { n: fmtN(b.settled.records) }));
    if (b.last_error) parts.push(t('Last settle error: {why}', { why: b.last_error }));
    return parts.join(' ');
  }
  function renderSettle(b) {
    $('backlog').textContent = settleText(b);
    const sch = b && b.schedule;
    $('cron').hidden = !sch;
    if (!sch) return;
    $('cron-text').textContent = sch.scheduled === 'cron'
      ? t('Settle is scheduled in {file}. The line for this install:', { file: sch.cron_file })
      : sch.scheduled === 'recent'
        ? t('Settle ran recently, but no system crontab runs it. To run it every hour, put this line in {file}:', { file: sch.crontab_file })
        : t('Settle is not scheduled. To run it every hour, put this line in {file}:', { file: sch.crontab_file });
    $('cron-line').textContent = sch.crontab_line;
  }
  $('cron-copy').addEventListener('click', () => copyText($('cron-line')));

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
    const other = { id: '', name: t('other'), values: days.map(() => 0) };
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
    const W = Math.max(300, Math.min(1100, box.clientWidth || 720));
    const H = W < 500 ? 200 : 240;
    const L = 44, R = 8, T = 10, B = 24;
    const n = Math.max(1, days.length);
    const sums = days.map((_, i) => series.reduce((a, sr) => a + sr.values[i], 0));
    const max = niceMax(Math.max(0, ...sums));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const step = (W - L - R) / n;
    const bw = Math.max(1, Math.min(28, step * 0.72));
    const root = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': t('Tokens per day') });
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
          s('title', {}, `${d} · ${sr.name}: ${t('{n} tokens', { n: fmtN(v) })}`)));
      });
      if ((n - 1 - i) % every === 0) {
        const cx = L + step * i + step / 2;
        const anchor = cx > W - R - 18 ? 'end' : cx < L + 18 ? 'start' : 'middle';
        const tx = anchor === 'end' ? W - R : anchor === 'start' ? L : cx;
        root.append(s('text', { x: tx.toFixed(1), y: H - 6, 'text-anchor': anchor }, d.slice(5)));
      }
    });
    if (!series.length) {
      root.append(s('text', { x: (L + W) / 2, y: H / 2, 'text-anchor': 'middle' }, t('No usage in this period yet.')));
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
    const sum = { requests: 0, prompt: 0, completion: 0, cached: 0, reasoning: 0, errors: 0, cost: 0 };
    for (const r of rows) for (const k of Object.keys(sum)) sum[k] += Number(r[k] || 0);
    const cols = ['Day', 'Key', 'Model', 'Requests', 'Tokens in', 'Tokens out', 'Cached', 'Reasoning', 'Errors', 'Cost'].map((c, i) => ({ label: t(c), cls: i > 2 ? 'num' : '' }));
    const dayRange = (day) => {
      const from = Date.parse(`${day}T00:00:00Z`) / 1000;
      return { from, to: from + 86400 };
    };
    const tb = table(cols, rows.length ? rows.map((r) => [r.day, keyLabel(r.key_id, names[r.key_id]), r.model,
      fmtN(r.requests), fmtN(r.prompt), fmtN(r.completion), fmtN(r.cached), fmtN(r.reasoning),
      errLink(r.errors, { key: r.key_id, model: r.model, ...dayRange(r.day) }), fmtCost(r.cost)]) :
      [emptyRow(cols, f ? t('Nothing matches the filter.') : t('No requests in this period.'))], $('usage-table'));
    const foot = h('tr', {}, h('td', { colspan: 3, 'data-label': '' }, t('Total')),
      ...[sum.requests, sum.prompt, sum.completion, sum.cached, sum.reasoning, sum.errors].map((v, i) => h('td', { class: 'num', 'data-label': cols[i + 3].label }, fmtN(v))),
      h('td', { class: 'num', 'data-label': cols[9].label }, fmtCost(sum.cost)));
    tb.append(h('tfoot', {}, foot));
    $('usage-csv').href = API + `usage.csv?days=${state.days}`;
    $('usage-backlog').textContent = settleText(u.backlog);
  }
  $('usage-filter').addEventListener('input', () => { if (state.usage) renderUsage(); });

  // ------------------------------------------------------------ request log

  function fillSelect(sel, options, keep) {
    const want = sel.dataset.want !== undefined && sel.dataset.want !== '' ? sel.dataset.want : keep;
    clear(sel).append(...options.map(([v, label]) => h('option', { value: v }, label)));
    if (want && !options.some(([v]) => v === want)) sel.append(h('option', { value: want }, want));
    sel.value = want || '';
    delete sel.dataset.want;
  }

  async function loadRequests() {
    const [keys, provs] = await Promise.all([
      state.keys ? state.keys : act(null, () => api('GET', 'keys')),
      state.providers ? state.providers : act(null, () => api('GET', 'providers')),
    ]);
    if (keys) state.keys = keys;
    if (provs) state.providers = provs;
    fillSelect($('rq-key'), [['', t('all keys')], ...((keys && keys.keys) || []).map((k) => [k.id, k.name || k.id])], $('rq-key').value);
    fillSelect($('rq-provider'), [['', t('all providers')], ...((provs && provs.providers) || []).map((p) => [p.name, p.name])], $('rq-provider').value);
    await fetchRequests();
  }

  function requestQuery() {
    const q = new URLSearchParams();
    const add = (k, v) => { if (v) q.set(k, v); };
    add('key', $('rq-key').value);
    add('model', $('rq-model').value.trim());
    add('provider', $('rq-provider').value);
    add('status', $('rq-status').value);
    const since = $('rq-since').value;
    if (state.req.from) { q.set('from', state.req.from); if (state.req.to) q.set('to', state.req.to); }
    else if (since) q.set('from', String(Math.floor(Date.now() / 1000) - Number(since)));
    q.set('limit', String(REQ_PAGE));
    q.set('offset', String(state.req.offset));
    return q.toString();
  }

  async function fetchRequests() {
    const data = await act(null, () => api('GET', `requests?${requestQuery()}`));
    if (!data) return;
    state.req.total = data.total;
    const cols = ['Time', 'Key', 'Route', 'Provider', 'Model', 'Status', 'Tokens in / out', 'Cost', 'First byte', 'Duration', 'Cache', 'Error']
      .map((c, i) => ({ label: t(c), cls: [6, 7, 8, 9].includes(i) ? 'num' : '' }));
    const keyName = Object.fromEntries(((state.keys && state.keys.keys) || []).map((k) => [k.id, k.name]));
    table(cols, data.requests.length ? data.requests.map((r) => ({
      attrs: { 'data-request-id': r.id, class: r.status >= 400 ? 'row-err' : null },
      cells: [
        fmtDateTime(r.ts / 1000), keyLabel(r.key_id, r.key_name || keyName[r.key_id]), r.endpoint || '', r.provider, r.model,
        h('span', { class: `badge ${r.status >= 400 || !r.status ? 'bad' : 'ok'}` }, String(r.status || '—')),
        `${fmtN(r.prompt)} / ${fmtN(r.completion)}${r.estimated ? ` (${t('estimated')})` : ''}`, fmtCost(r.cost), fmtMs(r.ttfb_ms), fmtMs(r.ms),
        [r.cache_hit ? t('hit') : '—'],
        [r.error ? h('span', { class: 'err-text' }, r.error) : r.client_gone ? t('client went away') : '',
          r.prompt_text !== undefined ? h('details', { class: 'prompt' }, h('summary', {}, t('Prompt')), h('pre', {}, r.prompt_text)) : null],
      ],
    })) : [emptyRow(cols, t('No requests match.'))], $('req-table'));
    const from = data.total ? data.offset + 1 : 0;
    const to = data.offset + data.requests.length;
    $('req-count').textContent = t('{from}–{to} of {total}', { from: fmtN(from), to: fmtN(to), total: fmtN(data.total) });
    $('req-prev').disabled = data.offset === 0;
    $('req-next').disabled = to >= data.total;
    $('req-note').textContent = data.archive
      ? t('Rows come from the usage records kept on disk, archive included. Keys are never recorded; prompts only for keys that keep them (Gateway keys, Edit).')
      : t('Rows come from the usage records not yet settled or archived; turn on [settle] archive to keep them all. Keys are never recorded; prompts only for keys that keep them (Gateway keys, Edit).');
  }
  $('req-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.req.offset = 0;
    state.req.from = state.req.to = 0;
    act(ev.submitter, fetchRequests);
  });
  $('req-prev').addEventListener('click', (ev) => { state.req.offset = Math.max(0, state.req.offset - REQ_PAGE); act(ev.currentTarget, fetchRequests); });
  $('req-next').addEventListener('click', (ev) => { state.req.offset += REQ_PAGE; act(ev.currentTarget, fetchRequests); });

  // ------------------------------------------------------------ gateway keys

  function limitInputs(container, limits, prefix) {
    clear(container);
    for (const [k, label, kind, help] of LIMITS) {
      const v = limits && limits[k] !== undefined && limits[k] !== 0 ? limits[k] : '';
      const id = `${prefix}-${k}`;
      container.append(h('div', { class: kind === 'text' ? 'wide' : '' },
        h('label', { for: id }, t(label)),
        h('input', { id, type: kind === 'text' ? 'text' : 'number', min: kind === 'text' ? null : '0',
          step: kind === 'int' ? '1' : kind === 'num' ? 'any' : null, value: v, 'aria-describedby': `${id}-help` }),
        h('p', { class: 'hint', id: `${id}-help` }, t(help), kind === 'text' ? '' : ` ${t('Empty: no limit.')}`)));
    }
  }

  // The limits typed in; with clearEmpty, empty fields become 0 / "" (remove).
  function readLimits(prefix, clearEmpty) {
    const out = {};
    for (const [k, label, kind] of LIMITS) {
      const input = $(`${prefix}-${k}`);
      const raw = input.value.trim();
      if (kind === 'text') {
        if (raw || clearEmpty) out[k] = raw;
        continue;
      }
      if (raw === '') {
        if (clearEmpty) out[k] = 0;
        continue;
      }
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || (kind === 'int' && !Number.isInteger(n))) {
        fieldError(input, t(kind === 'int' ? '{what}: a whole number from 0 up, please.' : '{what}: a number from 0 up, please.', { what: t(label) }));
        return null;
      }
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

  const BADGE = { active: 'ok', routing: 'ok', cooling: 'warn', revoked: 'bad', expired: 'bad', blocked: 'bad', disabled: 'off', unknown: 'off' };
  function stateBadge(st, extra) {
    return h('span', { class: `badge ${BADGE[st] || 'off'}`, title: extra || null }, t(st));
  }

  function limitsText(l) {
    const parts = [];
    if (l.rpm) parts.push(t('{n} req/min', { n: fmtN(l.rpm) }));
    if (l.tpm) parts.push(t('{n} tok/min', { n: fmtK(l.tpm) }));
    if (l.tokens_month) parts.push(t('{n} tok/month', { n: fmtK(l.tokens_month) }));
    if (l.tokens) parts.push(t('{n} tok lifetime', { n: fmtK(l.tokens) }));
    if (l.cost_month) parts.push(t('{n}/month', { n: fmtCost(l.cost_month) }));
    if (l.cost) parts.push(t('{n} lifetime', { n: fmtCost(l.cost) }));
    if (l.models) parts.push(t('models: {m}', { m: l.models }));
    return parts.length ? parts.join(' · ') : t('none');
  }

  // What is left of each budget the key has.
  function remainingText(k) {
    const l = k.limits || {};
    const all = k.usage || {};
    const month = k.usage_month || {};
    const parts = [];
    if (l.tokens) parts.push(t('{n} tok left of lifetime', { n: fmtK(Math.max(0, l.tokens - tokensOf(all))) }));
    if (l.tokens_month) parts.push(t('{n} tok left this month', { n: fmtK(Math.max(0, l.tokens_month - tokensOf(month))) }));
    if (l.cost) parts.push(t('{n} left of lifetime', { n: fmtCost(Math.max(0, l.cost - Number(all.cost || 0))) }));
    if (l.cost_month) parts.push(t('{n} left this month', { n: fmtCost(Math.max(0, l.cost_month - Number(month.cost || 0))) }));
    return parts.length ? parts.map((p) => h('div', {}, p)) : t('no budget');
  }

  function renderKeys() {
    const showRevoked = $('keys-show-revoked').checked;
    const keys = state.keys.keys.filter((k) => showRevoked || k.state === 'active');
    const cols = [{ label: t('Name') }, { label: t('Key') }, { label: t('State') }, { label: t('Expires') }, { label: t('Last used') },
      { label: t('This month'), cls: 'num' }, { label: t('Remaining') }, { label: t('Limits') }, { label: t('Actions'), cls: 'act' }];
    const rows = keys.map((k) => {
      const cfg = k.source === 'config';
      const month = k.usage_month || {};
      const last = k.last_used ? fmtAgo(k.last_used) : k.last_day || '—';
      return {
        attrs: { 'data-key-id': k.id },
        cells: [
          [k.name || k.id, h('div', { class: 'sub' }, k.id)],
          cfg ? h('span', { class: 'sub' }, t('from the config')) : h('code', {}, `${k.prefix}…`),
          cfg ? stateBadge('active') : stateBadge(k.state, k.state === 'revoked' && k.revoked_at ? t('revoked {d}', { d: fmtDay(k.revoked_at) }) : null),
          cfg ? '' : k.expires ? h('span', { class: 'expires' }, fmtDay(k.expires)) : t('never'),
          last,
          [t('{n} tok', { n: fmtK(tokensOf(month)) }), h('div', { class: 'sub' }, fmtCost(month.cost))],
          cfg ? '' : h('div', { class: 'sub remaining' }, remainingText(k)),
          cfg ? '' : [h('span', { class: 'sub' }, limitsText(k.limits || {})),
            k.log_prompts ? h('div', { class: 'sub prompts-kept' }, t('prompts kept')) : null],
          h('td', { class: 'act' }, cfg || k.state === 'revoked' ? h('span', { class: 'sub' }, '—') : [
            h('button', { type: 'button', class: 'small', 'aria-label': t('Edit {name}', { name: k.name }), onclick: (ev) => toggleEditor(ev.currentTarget.closest('tr'), k) }, t('Edit')),
            h('button', { type: 'button', class: 'small danger', 'aria-label': t('Revoke {name}', { name: k.name }), onclick: (ev) => revokeKey(ev.currentTarget, k) }, t('Revoke')),
          ]),
        ],
      };
    });
    table(cols, rows.length ? rows : [emptyRow(cols, t('No gateway keys yet. Create one above.'))], $('keys-table'));
  }
  $('keys-show-revoked').addEventListener('change', () => state.keys && renderKeys());

  const isoDay = (unixS) => new Date(unixS * 1000).toISOString().slice(0, 10);

  function toggleEditor(row, k) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('editor')) return next.remove();
    const prefix = `ed-${k.id}`;
    const nameInput = h('input', { id: `${prefix}-name`, value: k.name, maxlength: 63 });
    const expInput = h('input', { id: `${prefix}-expires`, type: 'date', value: k.expires ? isoDay(k.expires) : '', 'aria-describedby': `${prefix}-expires-help` });
    const limitsBox = h('div', { class: 'form-grid wide' });
    const logInput = h('input', { id: `${prefix}-log-prompts`, type: 'checkbox', checked: !!k.log_prompts, 'aria-describedby': `${prefix}-log-help` });
    const grid = h('div', { class: 'form-grid' },
      h('div', { class: 'wide' }, h('label', { for: nameInput.id }, t('Name')), nameInput),
      h('div', {}, h('label', { for: expInput.id }, t('Expires on (UTC)')), expInput, h('p', { class: 'hint', id: `${prefix}-expires-help` }, t('Empty: never.'))),
      h('div', { class: 'wide' }, h('label', { class: 'check' }, logInput, ' ', t('Keep this key\'s prompts')),
        h('p', { class: 'hint', id: `${prefix}-log-help` }, t('The last user message of each request, shown beside it in Requests (8 KB at most, secrets removed). Off: no prompt is written anywhere.'))),
      limitsBox);
    const save = h('button', { type: 'button', class: 'primary small' }, t('Save'));
    const cancel = h('button', { type: 'button', class: 'small' }, t('Cancel'));
    const editor = h('tr', { class: 'editor' }, h('td', { colspan: 9, 'data-label': '' }, grid, h('div', { class: 'row-actions' }, save, cancel)));
    row.after(editor);
    limitInputs(limitsBox, k.limits || {}, prefix);
    nameInput.focus();
    cancel.addEventListener('click', () => editor.remove());
    save.addEventListener('click', async () => {
      clearErrors(editor);
      const limits = readLimits(prefix, true);
      if (!limits) return;
      const body = { limits };
      if (nameInput.value.trim() && nameInput.value.trim() !== k.name) body.name = nameInput.value.trim();
      const d = expInput.value;
      const exp = d ? Math.floor(Date.parse(`${d}T23:59:59Z`) / 1000) : 0;
      if (d && exp <= Date.now() / 1000) return fieldError(expInput, t('A day in the future, please.'));
      if (exp !== (k.expires || 0)) body.expires = exp;
      if (logInput.checked !== !!k.log_prompts) body.log_prompts = logInput.checked;
      save.disabled = true;
      try {
        await api('PATCH', `keys/${encodeURIComponent(k.id)}`, body);
        toast(t('Key {name} updated.', { name: body.name || k.name }));
        loadKeys();
      } catch (e) {
        const field = /expires/.test(e.message) ? expInput : /name/.test(e.message) ? nameInput
          : LIMITS.map(([x]) => x).find((x) => e.message.includes(x));
        fieldError(typeof field === 'string' ? $(`${prefix}-${field}`) : field || save, e.message);
      } finally {
        save.disabled = false;
      }
    });
  }

  async function revokeKey(btn, k) {
    if (!confirm(t('Revoke the key "{name}"? Clients using it are refused at once. This cannot be undone.', { name: k.name }))) return;
    const r = await act(btn, () => api('POST', `keys/${encodeURIComponent(k.id)}/revoke`), t('Key {name} revoked.', { name: k.name }));
    if (r) loadKeys();
  }

  $('key-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('key-form'));
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    const body = { name: $('key-name').value.trim() };
    if (!body.name) return fieldError($('key-name'), t('A name, please.'));
    const lim = readLimits('nl', false);
    if (!lim) return;
    if (Object.keys(lim).length) body.limits = lim;
    const d = $('key-expires').value.trim();
    if (d) {
      const n = Number(d);
      if (!Number.isInteger(n) || n < 0) return fieldError($('key-expires'), t('A whole number of days, please.'));
      if (n > 0) body.expires = Math.floor(Date.now() / 1000) + n * 86400;
    }
    btn.disabled = true;
    try {
      const r = await api('POST', 'keys', body);
      toast(t('Key {name} created.', { name: r.name }));
      $('key-form').reset();
      limitInputs($('key-limits'), {}, 'nl');
      $('new-key-value').textContent = r.key;
      $('new-key').hidden = false;
      loadKeys();
    } catch (e) {
      fieldError(/name/.test(e.message) ? $('key-name') : /expires/.test(e.message) ? $('key-expires') : btn, e.message);
    } finally {
      btn.disabled = false;
    }
  });

  $('new-key-copy').addEventListener('click', () => copyText($('new-key-value')));
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
    $('providers-live').textContent = t('Live state, updated {time}.', { time: fmtTime(Date.now() / 1000) });
  }
  $('providers-refresh').addEventListener('click', (ev) => act(ev.currentTarget, loadProviders));
  $('providers-all').addEventListener('change', () => state.providers && renderProviders());

  // The providers view refreshes its live state on its own while shown.
  function startLive() {
    stopLive();
    state.liveTimer = setInterval(() => {
      if (document.hidden || state.view !== 'providers' || $('app').hidden) return;
      if (document.activeElement && document.activeElement.closest('#upkey-form')) return;
      api('GET', 'providers').then((d) => {
        state.providers = d;
        renderProviders();
        $('providers-live').textContent = t('Live state, updated {time}.', { time: fmtTime(Date.now() / 1000) });
      }).catch(() => {});
    }, LIVE_MS);
  }
  function stopLive() {
    if (state.liveTimer) clearInterval(state.liveTimer);
    state.liveTimer = 0;
  }

  function keyStateCell(k) {
    const parts = [];
    if (k.state === 'cooling' && k.cooldown_until) parts.push(stateBadge('cooling'), h('div', { class: 'sub' }, t('until {time}', { time: fmtTime(k.cooldown_until) })));
    else if (k.state === 'blocked') parts.push(stateBadge('blocked'), k.reason ? h('div', { class: 'sub' }, k.reason) : null);
    else parts.push(stateBadge(k.state || 'unknown', k.state === 'unknown' ? t('no running router has reported this key yet') : null));
    if (k.last_error) {
      parts.push(h('div', { class: 'sub last-error' }, t('Last error {ago}: {why}', { ago: fmtAgo(k.last_error_at * 1000), why: k.last_error })));
    }
    return parts;
  }

  function providerBadge(p) {
    if (p.disabled && p.source !== 'unknown') return stateBadge('disabled');
    if (p.source === 'unknown') return h('span', { class: 'badge bad', title: t('its keys are kept but not used') }, t('provider gone'));
    if (!p.usable) return h('span', { class: 'badge off' }, t('no keys'));
    if (p.routing === false) return h('span', { class: 'badge bad', title: t('every key is blocked or cooling down') }, t('not routing'));
    return h('span', { class: 'badge ok' }, t('routing'));
  }

  function testResultView(p) {
    const r = state.tests[p.name];
    if (!r) return null;
    if (r.running) return h('div', { class: 'test-result', role: 'status' }, t('Testing…'));
    if (r.error) return h('div', { class: 'test-result bad', role: 'status' }, r.error);
    return h('div', { class: `test-result ${r.ok ? 'ok' : 'bad'}`, role: 'status' },
      h('strong', {}, r.ok ? t('Test passed') : t('Test failed')),
      h('ul', {}, r.results.map((x) => h('li', { 'data-test-key': x.id || '' },
        h('span', { class: `badge ${x.ok ? 'ok' : 'bad'}` }, x.ok ? t('OK') : t('failed')), ' ',
        x.id ? h('code', {}, x.id) : null, ' ', x.model, ' · ',
        x.status ? t('HTTP {s}', { s: x.status }) : t('no answer'), x.ms !== undefined ? ` · ${fmtMs(x.ms)}` : '',
        x.error ? h('div', { class: 'err-text' }, x.error) : null,
        x.models && x.models.ok ? h('div', { class: 'sub' }, t('models list: {n} models', { n: fmtN(x.models.count) })) : null))));
  }

  async function testProvider(btn, p, keyId) {
    state.tests[p.name] = { running: true };
    renderProviders();
    try {
      const r = await api('POST', `providers/${encodeURIComponent(p.name)}/test`, keyId ? { key: keyId } : {});
      state.tests[p.name] = r;
    } catch (e) {
      state.tests[p.name] = { error: e.message };
    }
    await loadProviders();
  }
  $('providers-test-all').addEventListener('click', async (ev) => {
    const btn = ev.currentTarget;
    btn.disabled = true;
    const list = (state.providers ? state.providers.providers : []).filter((p) => p.usable && p.source !== 'unknown');
    for (const p of list) await testProvider(null, p);
    btn.disabled = false;
  });

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
      ? t('Live key state from {n} running router processes.', { n: data.live.routers })
      : t('No running router has reported its key state yet (state "unknown").')));
    if (!shown.length) list.append(h('div', { class: 'card empty' }, t('No provider has a key yet. Add one above.')));
    const cols = [{ label: t('Key') }, { label: t('Source') }, { label: t('Label') }, { label: t('State') }, { label: t('Uses'), cls: 'num' }, { label: t('Last used') }, { label: t('Actions'), cls: 'act' }];
    for (const p of shown) {
      const badges = [providerBadge(p), p.source === 'settings' ? h('span', { class: 'badge off' }, t('added in settings')) : null];
      const rows = p.keys.map((k) => {
        const own = k.source === 'state';
        return {
          attrs: { 'data-upkey-id': k.id },
          cells: [
            [h('code', {}, k.masked), h('div', { class: 'sub' }, k.id)],
            own ? t('added here') : t('config'),
            k.label || '',
            keyStateCell(k),
            k.uses !== undefined ? fmtN(k.uses) : '—',
            k.last_used ? fmtAgo(k.last_used * 1000) : '—',
            h('td', { class: 'act' },
              p.source !== 'unknown' && !k.disabled ? h('button', { type: 'button', class: 'small', 'aria-label': t('Test key {k}', { k: k.masked }), onclick: (ev) => testProvider(ev.currentTarget, p, k.id) }, t('Test')) : null,
              own ? [
                h('button', { type: 'button', class: 'small', onclick: (ev) => setUpkeyDisabled(ev.currentTarget, k, !k.disabled) }, k.disabled ? t('Enable') : t('Disable')),
                h('button', { type: 'button', class: 'small danger', 'aria-label': t('Remove key {k}', { k: k.masked }), onclick: (ev) => removeUpkey(ev.currentTarget, k) }, t('Remove')),
              ] : null),
          ],
        };
      });
      list.append(h('div', { class: 'card', 'data-provider': p.name },
        h('div', { class: 'prov-head' }, h('h2', {}, p.name), badges,
          p.usable && p.source !== 'unknown' ? h('button', { type: 'button', class: 'small test-btn', 'aria-label': t('Test {p}', { p: p.name }), onclick: (ev) => testProvider(ev.currentTarget, p) }, t('Test')) : null),
        h('div', { class: 'prov-url' }, p.base_url),
        p.models.length ? h('div', { class: 'models' }, t('Models: {list}', { list: p.models.join(', ') })) : null,
        p.routing === false && p.usable ? h('p', { class: 'warn-text small' }, t('Not routing: every key is blocked or cooling down, so requests for its models fail or fall back.')) : null,
        testResultView(p),
        p.keys.length ? table(cols, rows) : h('p', { class: 'muted small' }, p.no_auth ? t('Needs no key.') : t('No keys.')),
      ));
    }
  }

  async function setUpkeyDisabled(btn, k, disabled) {
    const r = await act(btn, () => api('PATCH', `upstream-keys/${encodeURIComponent(k.id)}`, { disabled }),
      t(disabled ? 'Key {k} disabled.' : 'Key {k} enabled.', { k: k.masked }));
    if (r) loadProviders();
  }

  async function removeUpkey(btn, k) {
    if (!confirm(t('Remove the upstream key {k}?', { k: k.masked + (k.label ? ` (${k.label})` : '') }))) return;
    const r = await act(btn, () => api('DELETE', `upstream-keys/${encodeURIComponent(k.id)}`), t('Key {k} removed.', { k: k.masked }));
    if (r) loadProviders();
  }

  $('upkey-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('upkey-form'));
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    const body = { provider: $('upkey-provider').value, key: $('upkey-key').value.trim() };
    if (body.key.length < 8 || /\s/.test(body.key)) return fieldError($('upkey-key'), t('The API key: at least 8 characters, no spaces.'));
    const label = $('upkey-label').value.trim();
    if (label) body.label = label;
    btn.disabled = true;
    try {
      const r = await api('POST', 'upstream-keys', body);
      toast(t('Key {k} added to {p}.', { k: r.masked, p: r.provider }));
      $('upkey-key').value = '';
      $('upkey-label').value = '';
      delete state.tests[r.provider];
      loadProviders();
    } catch (e) {
      fieldError(/label/.test(e.message) ? $('upkey-label') : /provider/.test(e.message) ? $('upkey-provider') : $('upkey-key'), e.message);
    } finally {
      btn.disabled = false;
    }
  });

  // ------------------------------------------------------------ settings

  async function loadSettings() {
    const data = await act(null, () => api('GET', 'settings'));
    if (!data) return;
    state.settings = data;
    renderSettings();
  }

  const linesOf = (obj, f) => Object.entries(obj || {}).map(([k, v]) => `${k} = ${f(v)}`).join('\n');
  function defaultsNote(id, text) {
    $(id).textContent = text ? t('From the configuration file (used where this is empty): {v}', { v: text.replace(/\n/g, '; ') }) : '';
  }

  function renderSettings() {
    const { settings: st, defaults: df } = state.settings;
    clearErrors($('settings-form'));
    $('settings-msg').textContent = '';
    const sp = st.system_prompt || {};
    $('sp-enabled').checked = !!sp.enabled;
    $('sp-text').value = sp.text || '';
    $('sp-text').placeholder = t('e.g. You are a helpful assistant.');
    $('sp-aliases').value = linesOf(st.aliases, (v) => v);
    $('sp-aliases').placeholder = t('e.g. {x}', { x: 'gpt-4o-mini = deepseek/deepseek-chat' });
    defaultsNote('sp-aliases-default', linesOf(df.aliases, (v) => v));
    $('sp-fallback').value = linesOf(st.fallback, (v) => v.join(', '));
    $('sp-fallback').placeholder = t('e.g. {x}', { x: 'deepseek-chat = moonshot/kimi-k2.5, zai/glm-5' });
    defaultsNote('sp-fallback-default', linesOf(df.fallback, (v) => v.join(', ')));
    const c = st.cache || {};
    $('sp-cache').value = c.enabled === undefined ? '' : c.enabled ? 'on' : 'off';
    $('sp-cache').options[0].textContent = t('as configured ({v})', { v: t(df.cache.enabled ? 'on' : 'off') });
    $('sp-cache-ttl').value = c.ttl_s ?? '';
    $('sp-cache-ttl').placeholder = t('default: {v}', { v: df.cache.ttl_s });
    $('sp-cache-max').value = c.max_bytes ?? '';
    $('sp-cache-max').placeholder = t('default: {v}', { v: df.cache.max_bytes });
    $('sp-prices').value = linesOf(st.prices, (v) => v.join(', '));
    $('sp-prices').placeholder = t('e.g. {x}', { x: 'deepseek-chat = 0.27, 0.07, 1.1' });
    const known = Object.keys(df.prices || {});
    $('sp-prices-default').textContent = known.length ? t('Built-in and configured prices cover {n} models, for example {list}.', { n: known.length, list: known.slice(0, 3).join(', ') }) : '';
    const cols = ['Provider', 'Base URL', 'Models', 'Off', 'Actions'].map((x, i) => ({ label: t(x), cls: i === 4 ? 'act' : i === 1 ? 'url' : '' }));
    const names = [...new Set([...Object.keys(df.providers), ...Object.keys(st.providers || {})])];
    const tb = table(cols, [], $('sp-providers'));
    const body = tb.querySelector('tbody');
    body.id = 'sp-providers-body';
    for (const name of names) body.append(providerRow(name, (st.providers || {})[name] || {}, df.providers[name]));
  }

  let rowSeq = 0;
  function providerRow(name, cur, def) {
    const isNew = !def;
    const id = `spr-${++rowSeq}`;
    const nameCell = name === null
      ? h('input', { class: 'p-name', id: `${id}-name`, placeholder: t('e.g. {x}', { x: 'my-host' }), pattern: '[a-z0-9._\\-]+', 'aria-label': t('Provider name') })
      : h('span', { class: 'p-name', 'data-name': name }, name);
    const td = (label, ...k) => h('td', { 'data-label': t(label) }, ...k);
    const row = h('tr', { 'data-provider-row': name || '' },
      td('Provider', nameCell),
      h('td', { 'data-label': t('Base URL'), class: 'url' }, h('input', { class: 'p-url', type: 'url', value: cur.base_url || '', placeholder: def ? def.base_url : t('e.g. {x}', { x: 'http://host:port/v1' }), 'aria-label': t('Base URL of {p}', { p: name || t('the new provider') }) })),
      td('Models', h('input', { class: 'p-models', value: (cur.models || []).join(', '), placeholder: def ? def.models.join(', ') : t('e.g. {x}', { x: 'model-a, model-b' }), 'aria-label': t('Models of {p}', { p: name || t('the new provider') }) })),
      td('Off', h('input', { class: 'p-off', type: 'checkbox', checked: !!cur.disabled, 'aria-label': t('Take {p} out of routing', { p: name || t('the new provider') }) })),
      h('td', { class: 'act', 'data-label': t('Actions') }, isNew ? h('button', { type: 'button', class: 'small danger', onclick: () => row.remove() }, t('Remove')) : h('span', { class: 'sub' }, '—')),
    );
    return row;
  }
  $('sp-add-provider').addEventListener('click', () => {
    const row = providerRow(null, {}, null);
    $('sp-providers-body').append(row);
    row.querySelector('.p-name').focus();
  });

  class FieldError extends Error {
    constructor(input, message) { super(message); this.input = input; }
  }

  // "a = b" lines into an object; conv turns the right side into a value.
  function parseLines(id, what, conv) {
    const out = {};
    $(id).value.split('\n').forEach((line, i) => {
      const tx = line.trim();
      if (!tx || tx.startsWith('#')) return;
      const eq = tx.indexOf('=');
      const where = t('{what}, line {n}', { what: t(what), n: i + 1 });
      if (eq <= 0) throw new FieldError($(id), t('{where}: write "name = value".', { where }));
      const k = tx.slice(0, eq).trim();
      if (Object.prototype.hasOwnProperty.call(out, k)) throw new FieldError($(id), t('{where}: "{k}" is already set above.', { where, k }));
      out[k] = conv(tx.slice(eq + 1).trim(), where);
    });
    return out;
  }
  const listOf = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);

  function buildSettings() {
    const old = state.settings.settings;
    const df = state.settings.defaults;
    const doc = JSON.parse(JSON.stringify(old));
    const set = (k, v, keep) => { if (keep) doc[k] = v; else delete doc[k]; };
    const text = $('sp-text').value;
    if ($('sp-enabled').checked && !text.trim()) throw new FieldError($('sp-text'), t('The system prompt is on: write its text.'));
    set('system_prompt', { enabled: $('sp-enabled').checked, text }, $('sp-enabled').checked || text.trim() !== '');
    const aliases = parseLines('sp-aliases', 'Aliases', (v, w) => { if (!v) throw new FieldError($('sp-aliases'), t('{where}: the target is missing.', { where: w })); return v; });
    set('aliases', aliases, Object.keys(aliases).length);
    const fallback = parseLines('sp-fallback', 'Fallback chains', (v, w) => {
      const l = listOf(v);
      if (!l.length) throw new FieldError($('sp-fallback'), t('{where}: list at least one target.', { where: w }));
      return l;
    });
    set('fallback', fallback, Object.keys(fallback).length);
    const cache = {};
    if ($('sp-cache').value) cache.enabled = $('sp-cache').value === 'on';
    for (const [id, k] of [['sp-cache-ttl', 'ttl_s'], ['sp-cache-max', 'max_bytes']]) {
      const raw = $(id).value.trim();
      if (!raw) continue;
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new FieldError($(id), t('A whole number, please.'));
      cache[k] = n;
    }
    set('cache', cache, Object.keys(cache).length);
    const prices = parseLines('sp-prices', 'Prices', (v, w) => {
      const l = listOf(v).map(Number);
      if (l.length !== 3 || l.some((x) => !Number.isFinite(x) || x < 0)) throw new FieldError($('sp-prices'), t('{where}: three prices, "input, cached input, output".', { where: w }));
      return l;
    });
    set('prices', prices, Object.keys(prices).length);
    const providers = {};
    const seen = new Set();
    for (const row of $('sp-providers-body').querySelectorAll('tr')) {
      const nameEl = row.querySelector('.p-name');
      const isNew = !nameEl.dataset.name;
      const name = (nameEl.dataset.name || nameEl.value || '').trim();
      const urlEl = row.querySelector('.p-url');
      const url = urlEl.value.trim();
      const models = listOf(row.querySelector('.p-models').value);
      const off = row.querySelector('.p-off').checked;
      if (!name) {
        if (url || models.length) throw new FieldError(nameEl, t('A new provider needs a name (a-z, 0-9, ".", "_", "-").'));
        continue;
      }
      if (isNew && !/^[a-z0-9._-]{1,63}$/.test(name)) throw new FieldError(nameEl, t('A name of a-z, 0-9, ".", "_", "-", please.'));
      if (isNew && (seen.has(name) || df.providers[name])) throw new FieldError(nameEl, t('A provider named "{p}" exists already: change its row instead, or choose another name.', { p: name }));
      seen.add(name);
      if (url && !urlOk(url)) throw new FieldError(urlEl, t('An http:// or https:// URL, please.'));
      if (isNew && !url) throw new FieldError(urlEl, t('A new provider needs its base URL.'));
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

  // The field a server refusal names (error.param: "aliases.fast", "providers.demo").
  function settingsField(param) {
    if (!param) return null;
    const [group, entry] = [param.split('.')[0], param.split('.').slice(1).join('.')];
    const ids = { aliases: 'sp-aliases', fallback: 'sp-fallback', prices: 'sp-prices', system_prompt: 'sp-text', cache: entry === 'max_bytes' ? 'sp-cache-max' : 'sp-cache-ttl' };
    if (group === 'providers') {
      const row = [...$('sp-providers-body').querySelectorAll('tr')].find((r) => {
        const n = r.querySelector('.p-name');
        return (n.dataset.name || n.value || '').trim() === entry;
      });
      return row ? row.querySelector('.p-url') : null;
    }
    return ids[group] ? $(ids[group]) : null;
  }

  $('settings-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('settings-form'));
    $('settings-msg').textContent = '';
    let doc;
    try { doc = buildSettings(); } catch (e) { return fieldError(e.input || null, e.message); }
    const btn = ev.submitter || ev.target.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const r = await api('PUT', 'settings', doc);
      state.settings.settings = r.settings;
      renderSettings();
      $('settings-msg').textContent = t('Settings saved. The router uses them within a second.');
      toast(t('Settings saved. The router uses them within a second.'));
    } catch (e) {
      fieldError(settingsField(e.param) || btn, e.message);
    } finally {
      btn.disabled = false;
    }
  });
  $('settings-reset').addEventListener('click', () => { if (state.settings) renderSettings(); $('settings-msg').textContent = t('Changes discarded.'); });

  // ------------------------------------------------------------ account

  async function loadAdmins() {
    const data = await act(null, () => api('GET', 'admins'));
    if (!data) return;
    const owner = data.you === data.owner;
    $('admin-form').hidden = !owner;
    const cols = ['Name', 'Added', 'By', 'Actions'].map((x, i) => ({ label: t(x), cls: i === 3 ? 'act' : '' }));
    const rows = [[h('span', {}, data.owner, ' ', h('span', { class: 'badge off' }, t('admin of setup'))), '—', '—', h('td', { class: 'act' }, h('span', { class: 'sub' }, '—'))],
      ...data.admins.map((a) => ({ attrs: { 'data-admin': a.name }, cells: [a.name, fmtDay(a.created), a.by || '—',
        h('td', { class: 'act' }, owner ? h('button', { type: 'button', class: 'small danger', 'aria-label': t('Remove {name}', { name: a.name }), onclick: (ev) => removeAdmin(ev.currentTarget, a.name) }, t('Remove')) : h('span', { class: 'sub' }, '—'))] }))];
    table(cols, rows, $('admins-table'));
  }
  async function removeAdmin(btn, name) {
    if (!confirm(t('Remove the admin "{name}"? Its sessions end at once.', { name }))) return;
    const r = await act(btn, () => api('DELETE', `admins/${encodeURIComponent(name)}`), t('Admin {name} removed.', { name }));
    if (r) { loadAdmins(); loadAudit(); }
  }
  $('admin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('admin-form'));
    const name = $('ad-name').value.trim();
    const pw = $('ad-pw').value;
    if (!/^[a-z0-9._-]{1,32}$/.test(name) || name === 'admin') return fieldError($('ad-name'), t('A name of a-z, 0-9, ".", "_", "-", please (not "admin").'));
    if ([...pw].length < 10) return fieldError($('ad-pw'), t('The password needs at least 10 characters.'));
    const btn = ev.submitter || ev.target.querySelector('button');
    btn.disabled = true;
    try {
      await api('POST', 'admins', { name, password: pw });
      $('admin-form').reset();
      toast(t('Admin {name} added.', { name }));
      loadAdmins();
      loadAudit();
    } catch (e) {
      fieldError(e.param === 'password' ? $('ad-pw') : $('ad-name'), e.message);
    } finally {
      btn.disabled = false;
    }
  });

  async function loadAccount() {
    await Promise.all([loadAdmins(), loadAudit()]);
  }

  async function loadAudit() {
    const data = await act(null, () => api('GET', 'audit'));
    if (!data) return;
    const cols = ['When', 'Who', 'What', 'Detail', 'Address'].map((x) => ({ label: t(x) }));
    table(cols, data.entries.length ? data.entries.map((e) => [fmtDateTime(e.time), e.who, t(e.what), e.detail, e.addr]) : [emptyRow(cols, t('Nothing changed yet.'))], $('audit-table'));
  }

  $('pw-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors($('pw-form'));
    const cur = $('pw-current').value;
    const p1 = $('pw-new').value;
    if (!cur) return fieldError($('pw-current'), t('The current password, please.'));
    if ([...p1].length < 10) return fieldError($('pw-new'), t('The password needs at least 10 characters.'));
    if (p1 !== $('pw-new2').value) return fieldError($('pw-new2'), t('The two passwords differ.'));
    const btn = ev.submitter || ev.target.querySelector('button');
    btn.disabled = true;
    try {
      await api('POST', 'account/password', { current: cur, password: p1 });
      $('pw-form').reset();
      toast(t('Password changed. Other sessions have ended.'));
      loadAudit();
    } catch (e) {
      fieldError(e.code === 'wrong_password' ? $('pw-current') : $('pw-new'), e.code === 'wrong_password' ? t('The current password is wrong.') : e.message);
    } finally {
      btn.disabled = false;
    }
  });

  // Feature views may open the request log filtered ({ key, model, provider, status, since | from, to }).
  window.llmgate.openRequests = openRequests;

  // ------------------------------------------------------------ 中文
  // The page's text in Simplified Chinese, keyed by its English.
  addStrings({
    'llmgate admin': 'llmgate 管理',
    'Skip to content': '跳到正文',
    'Language': '语言',
    'Views': '视图',
    'Log out': '退出登录',
    'Overview': '概览',
    'Requests': '请求',
    'Gateway keys': '网关密钥',
    'Providers': '服务商',
    'Settings': '设置',
    'Usage': '用量',
    'Account': '账户',
    'Assistant': '助手',
    'This page needs JavaScript.': '此页面需要 JavaScript。',
    'Loading…': '加载中…',
    'Welcome to llmgate': '欢迎使用 llmgate',
    'Choose the admin password. It protects this page: gateway keys, upstream keys and settings.': '请设置管理员密码。它保护此页面：网关密钥、上游密钥和设置。',
    'Admin password': '管理员密码',
    'Again': '再输入一次',
    'At least 10 characters. There is no way to recover it from this page.': '至少 10 个字符。此页面无法找回密码。',
    'Set password': '设置密码',
    'Where chats go, and (optional) the embedding model that indexes documents for the knowledge base. Both speak the OpenAI API (for example SiliconFlow, DeepSeek, a local server).': '对话请求发往哪里，以及（可选）为知识库索引文档的嵌入模型。两者都使用 OpenAI 接口（例如硅基流动、DeepSeek、本地服务）。',
    'Chat provider': '对话服务商',
    'Base URL': '接口地址',
    'Name': '名称',
    'Lower-case letters, digits, dot, dash, underscore. Clients may ask for "name/model".': '小写字母、数字、点、短横线、下划线。客户端可以请求“名称/模型”。',
    'API key': 'API 密钥',
    'Model': '模型',
    'Embedding provider (optional)': '嵌入服务商（可选）',
    'Leave empty to skip. Added as the provider "embedding".': '留空则跳过。以服务商“embedding”添加。',
    'Save providers': '保存服务商',
    'Skip for now': '暂时跳过',
    'Your first gateway key': '您的第一个网关密钥',
    'Clients use a gateway key instead of the providers\' keys.': '客户端使用网关密钥，而不是服务商的密钥。',
    'Create key': '创建密钥',
    'Copy this key now.': '请立即复制此密钥。',
    'It is shown only once.': '它只显示这一次。',
    'Copy': '复制',
    'Open the console': '打开控制台',
    'Log in': '登录',
    'Period': '时间段',
    '7 days': '7 天',
    '30 days': '30 天',
    '90 days': '90 天',
    'a year': '一年',
    '{n} days': '{n} 天',
    'Tokens per day': '每日令牌数',
    'Split by': '拆分方式',
    'by model': '按模型',
    'by key': '按密钥',
    'Models': '模型',
    'Settlement': '结算',
    'Key': '密钥',
    'Provider': '服务商',
    'Status': '状态',
    'all': '全部',
    'succeeded': '成功',
    'errors': '错误',
    'last hour': '最近一小时',
    'last 24 hours': '最近 24 小时',
    'last 7 days': '最近 7 天',
    'last 30 days': '最近 30 天',
    'all kept': '全部保留的',
    'Show': '显示',
    'any model': '任意模型',
    'Newer': '较新',
    'Older': '较旧',
    'New key': '新建密钥',
    'Expires in (days)': '有效期（天）',
    'Empty: never.': '留空：永不过期。',
    'Limits (optional)': '限额（可选）',
    'Done': '完成',
    'Keys': '密钥',
    'show revoked': '显示已吊销',
    'Providers & upstream keys': '服务商与上游密钥',
    'Test all': '全部测试',
    'Refresh': '刷新',
    'Add an upstream key': '添加上游密钥',
    'Label': '标签',
    'optional': '可选',
    'admin': 'admin',
    'Add key': '添加密钥',
    'show providers without keys': '显示没有密钥的服务商',
    'System prompt': '系统提示词',
    'add to chats that have no system message': '加入没有系统消息的对话',
    'System prompt text': '系统提示词内容',
    'Change a provider\'s base URL or models, take it out of routing, or add an OpenAI-compatible one. Empty fields keep the configuration file\'s value, shown in italics.': '修改服务商的接口地址或模型、暂停其路由，或添加兼容 OpenAI 的服务商。留空的字段沿用配置文件的值（以斜体显示）。',
    'Add a provider': '添加服务商',
    'Aliases': '别名',
    'One per line:': '每行一个：',
    'Fallback chains': '备用链',
    'Response cache': '响应缓存',
    'Cache': '缓存',
    'as configured': '按配置',
    'on': '开',
    'off': '关',
    'Time to live (s)': '有效时间（秒）',
    'Size limit (bytes)': '大小上限（字节）',
    'Prices': '价格',
    'Per million tokens, one model per line:': '每百万令牌，每行一个模型：',
    'Save settings': '保存设置',
    'Discard changes': '放弃修改',
    'Download CSV': '下载 CSV',
    'Filter by key or model': '按密钥或模型筛选',
    'Change the admin password': '修改管理员密码',
    'Current password': '当前密码',
    'New password': '新密码',
    'At least 10 characters. Every other session ends.': '至少 10 个字符。其他所有会话都会结束。',
    'Change password': '修改密码',
    'Audit log': '审计日志',
    'Password': '密码',
    'Empty: the admin of setup.': '留空：初始设置的管理员。',
    'Admins': '管理员',
    'Each admin has a name and a password of its own; the audit log names who made each change. Only the admin of setup adds and removes admins.': '每个管理员都有自己的名称和密码；审计日志记录每项更改的操作者。只有初始设置的管理员可以添加和删除管理员。',
    'Add admin': '添加管理员',
    'Added': '添加时间',
    'By': '添加者',
    'admin of setup': '初始管理员',
    'Remove {name}': '删除 {name}',
    'Remove the admin "{name}"? Its sessions end at once.': '删除管理员“{name}”？其会话会立即结束。',
    'Admin {name} removed.': '管理员 {name} 已删除。',
    'A name of a-z, 0-9, ".", "_", "-", please (not "admin").': '名称只能包含 a-z、0-9、“.”、“_”、“-”（不能是“admin”）。',
    'Admin {name} added.': '管理员 {name} 已添加。',
    'admin.add': '添加管理员',
    'admin.remove': '删除管理员',
    'Dismiss': '关闭',
    'Cannot reach the server ({why}).': '无法连接服务器（{why}）。',
    'The server answered {status}.': '服务器返回 {status}。',
    'Your session has ended. Please log in again.': '会话已结束，请重新登录。',
    'Cannot load the admin page: {why}': '无法加载管理页面：{why}',
    'The password needs at least 10 characters.': '密码至少需要 10 个字符。',
    'The two passwords differ.': '两次输入的密码不一致。',
    'An http:// or https:// URL, please.': '请输入 http:// 或 https:// 开头的地址。',
    'A name of a-z, 0-9, ".", "_", "-", please.': '名称只能包含 a-z、0-9、“.”、“_”、“-”。',
    '"embedding" is the embedding provider\'s name: choose another.': '“embedding”是嵌入服务商的名称，请另选一个。',
    'The API key: at least 8 characters, no spaces.': 'API 密钥：至少 8 个字符，不含空格。',
    'The model name, without spaces.': '请输入模型名称，不含空格。',
    'A name, please.': '请输入名称。',
    'Wrong password.': '密码错误。',
    'Logged out.': '已退出登录。',
    'Copy failed: select the text and copy it by hand.': '复制失败：请选中文本手动复制。',
    'Copied.': '已复制。',
    'no key': '无密钥',
    'Errors': '错误',
    'open the log →': '查看日志 →',
    'Tokens in': '输入令牌',
    'Tokens out': '输出令牌',
    'Cached tokens': '缓存令牌',
    'Cost': '费用',
    'In': '输入',
    'Out': '输出',
    'Tokens': '令牌',
    'No requests yet.': '还没有请求。',
    '{n} errors: open them in the request log': '{n} 个错误：在请求日志中查看',
    'Settlement state unknown: {why}': '结算状态未知：{why}',
    'No requests recorded yet, so there is nothing to settle.': '还没有记录任何请求，暂无需结算。',
    'Requests not settled yet: {n} (oldest: {ago}); they are counted above.': '尚未结算的请求：{n} 个（最早：{ago}），已计入上面的统计。',
    'Every recorded request is settled.': '所有已记录的请求均已结算。',
    'llmgate-settle last ran {ago}.': 'llmgate-settle 上次运行于{ago}。',
    'llmgate-settle has not run yet.': 'llmgate-settle 尚未运行过。',
    '{n} records wait for the billing backend.': '{n} 条记录等待计费后端接收。',
    'Last settle error: {why}': '上次结算错误：{why}',
    'Settle is scheduled in {file}. The line for this install:': '结算已在 {file} 中定时运行。本安装对应的行：',
    'Settle ran recently, but no system crontab runs it. To run it every hour, put this line in {file}:': '结算最近运行过，但没有系统 crontab 定时运行它。要每小时运行，请把这一行放入 {file}：',
    'Settle is not scheduled. To run it every hour, put this line in {file}:': '结算尚未定时运行。要每小时运行，请把这一行放入 {file}：',
    'other': '其他',
    '{n} tokens': '{n} 个令牌',
    'No usage in this period yet.': '此时间段内还没有用量。',
    'Day': '日期',
    'Cached': '缓存',
    'Reasoning': '推理',
    'Nothing matches the filter.': '没有符合筛选条件的记录。',
    'No requests in this period.': '此时间段内没有请求。',
    'Total': '合计',
    'all keys': '全部密钥',
    'all providers': '全部服务商',
    'Time': '时间',
    'Route': '接口',
    'Tokens in / out': '输入 / 输出令牌',
    'First byte': '首字节',
    'Duration': '耗时',
    'Error': '错误',
    'estimated': '估算',
    'hit': '命中',
    'client went away': '客户端已断开',
    'No requests match.': '没有匹配的请求。',
    '{from}–{to} of {total}': '第 {from}–{to} 条，共 {total} 条',
    'Rows come from the usage records kept on disk, archive included. Keys are never recorded; prompts only for keys that keep them (Gateway keys, Edit).': '记录来自磁盘上保留的用量记录（含归档）。密钥从不记录；提示词只为选择保留它们的密钥记录（网关密钥 → 编辑）。',
    "Keep this key's prompts": '保留此密钥的提示词',
    'The last user message of each request, shown beside it in Requests (8 KB at most, secrets removed). Off: no prompt is written anywhere.': '每个请求的最后一条用户消息，显示在“请求”中（最多 8 KB，已去除密钥等机密）。关闭时不写入任何提示词。',
    'prompts kept': '保留提示词',
    'Prompt': '提示词',
    'Rows come from the usage records not yet settled or archived; turn on [settle] archive to keep them all. Keys are never recorded; prompts only for keys that keep them (Gateway keys, Edit).': '记录来自尚未结算或已归档的用量记录；打开 [settle] archive 可全部保留。密钥从不记录；提示词只为选择保留它们的密钥记录（网关密钥 → 编辑）。',
    'Requests / minute': '每分钟请求数',
    'Tokens / minute': '每分钟令牌数',
    'Tokens / month': '每月令牌数',
    'Tokens in all': '令牌总额度',
    'Cost / month': '每月费用',
    'Cost in all': '费用总额度',
    'Models allowed': '允许的模型',
    'More are refused (429) until the minute has passed.': '超出的请求会被拒绝（429），直到这一分钟过去。',
    'Prompt and answer tokens per minute.': '每分钟的提示和回答令牌数。',
    'Per calendar month (UTC); starts again on the 1st.': '按自然月（UTC）计算，每月 1 日重新开始。',
    'Lifetime budget: the key stops when its total reaches this.': '终身额度：累计用量达到此值后密钥停用。',
    'Spending per calendar month, in the price currency.': '每个自然月的花费，以价格货币计。',
    'Lifetime spending budget.': '终身花费额度。',
    'Comma-separated; prefix* matches a family; empty: all.': '以逗号分隔；前缀* 匹配一个系列；留空：全部。',
    'Empty: no limit.': '留空：不限。',
    '{what}: a whole number from 0 up, please.': '{what}：请输入 0 或更大的整数。',
    '{what}: a number from 0 up, please.': '{what}：请输入 0 或更大的数字。',
    'active': '有效',
    'routing': '路由中',
    'cooling': '冷却中',
    'revoked': '已吊销',
    'expired': '已过期',
    'blocked': '已封禁',
    'disabled': '已停用',
    'unknown': '未知',
    '{n} req/min': '{n} 次/分钟',
    '{n} tok/min': '{n} 令牌/分钟',
    '{n} tok/month': '{n} 令牌/月',
    '{n} tok lifetime': '终身 {n} 令牌',
    '{n}/month': '{n}/月',
    '{n} lifetime': '终身 {n}',
    'models: {m}': '模型：{m}',
    'none': '无',
    '{n} tok left of lifetime': '终身额度剩余 {n} 令牌',
    '{n} tok left this month': '本月剩余 {n} 令牌',
    '{n} left of lifetime': '终身额度剩余 {n}',
    '{n} left this month': '本月剩余 {n}',
    'no budget': '无额度限制',
    'State': '状态',
    'Expires': '到期',
    'Last used': '上次使用',
    'This month': '本月',
    'Remaining': '剩余',
    'Limits': '限额',
    'Actions': '操作',
    'from the config': '来自配置文件',
    'revoked {d}': '吊销于 {d}',
    'never': '永不',
    '{n} tok': '{n} 令牌',
    'Edit {name}': '编辑 {name}',
    'Revoke {name}': '吊销 {name}',
    'Edit': '编辑',
    'Revoke': '吊销',
    'No gateway keys yet. Create one above.': '还没有网关密钥。请在上方创建。',
    'Expires on (UTC)': '到期日（UTC）',
    'Save': '保存',
    'Cancel': '取消',
    'A day in the future, please.': '请选择一个将来的日期。',
    'Key {name} updated.': '密钥 {name} 已更新。',
    'Revoke the key "{name}"? Clients using it are refused at once. This cannot be undone.': '吊销密钥“{name}”？使用它的客户端会立即被拒绝。此操作无法撤销。',
    'Key {name} revoked.': '密钥 {name} 已吊销。',
    'A whole number of days, please.': '请输入整数天数。',
    'Key {name} created.': '密钥 {name} 已创建。',
    'Live state, updated {time}.': '实时状态，更新于 {time}。',
    'until {time}': '直到 {time}',
    'no running router has reported this key yet': '还没有运行中的路由进程报告此密钥',
    'Last error {ago}: {why}': '上次错误（{ago}）：{why}',
    'its keys are kept but not used': '其密钥被保留但不会使用',
    'provider gone': '服务商已不存在',
    'no keys': '没有密钥',
    'every key is blocked or cooling down': '所有密钥都被封禁或在冷却中',
    'not routing': '未路由',
    'Testing…': '测试中…',
    'Test passed': '测试通过',
    'Test failed': '测试失败',
    'OK': '正常',
    'failed': '失败',
    'HTTP {s}': 'HTTP {s}',
    'no answer': '无响应',
    'models list: {n} models': '模型列表：{n} 个模型',
    'Live key state from {n} running router processes.': '实时密钥状态来自 {n} 个运行中的路由进程。',
    'No running router has reported its key state yet (state "unknown").': '还没有运行中的路由进程报告密钥状态（状态为“未知”）。',
    'No provider has a key yet. Add one above.': '还没有服务商配置密钥。请在上方添加。',
    'Source': '来源',
    'Uses': '使用次数',
    'added in settings': '在设置中添加',
    'added here': '在此添加',
    'config': '配置文件',
    'Test key {k}': '测试密钥 {k}',
    'Test': '测试',
    'Enable': '启用',
    'Disable': '停用',
    'Remove key {k}': '删除密钥 {k}',
    'Remove': '删除',
    'Test {p}': '测试 {p}',
    'Models: {list}': '模型：{list}',
    'Not routing: every key is blocked or cooling down, so requests for its models fail or fall back.': '未路由：所有密钥都被封禁或在冷却中，其模型的请求会失败或转到备用。',
    'Needs no key.': '不需要密钥。',
    'No keys.': '没有密钥。',
    'Key {k} disabled.': '密钥 {k} 已停用。',
    'Key {k} enabled.': '密钥 {k} 已启用。',
    'Remove the upstream key {k}?': '删除上游密钥 {k}？',
    'Key {k} removed.': '密钥 {k} 已删除。',
    'Key {k} added to {p}.': '密钥 {k} 已添加到 {p}。',
    'From the configuration file (used where this is empty): {v}': '来自配置文件（此处留空时使用）：{v}',
    'e.g. You are a helpful assistant.': '例如：你是一个乐于助人的助手。',
    'e.g. {x}': '例如：{x}',
    'as configured ({v})': '按配置（{v}）',
    'default: {v}': '默认：{v}',
    'Built-in and configured prices cover {n} models, for example {list}.': '内置和配置的价格覆盖 {n} 个模型，例如 {list}。',
    'Off': '暂停',
    'Provider name': '服务商名称',
    'Base URL of {p}': '{p} 的接口地址',
    'Models of {p}': '{p} 的模型',
    'Take {p} out of routing': '暂停 {p} 的路由',
    'the new provider': '新服务商',
    '{what}, line {n}': '{what}，第 {n} 行',
    '{where}: write "name = value".': '{where}：请写成“名称 = 值”。',
    '{where}: "{k}" is already set above.': '{where}：“{k}”在上面已经设置过。',
    'The system prompt is on: write its text.': '系统提示词已开启：请填写内容。',
    '{where}: the target is missing.': '{where}：缺少目标。',
    '{where}: list at least one target.': '{where}：至少列出一个目标。',
    'A whole number, please.': '请输入整数。',
    '{where}: three prices, "input, cached input, output".': '{where}：三个价格，“输入, 缓存输入, 输出”。',
    'A new provider needs a name (a-z, 0-9, ".", "_", "-").': '新服务商需要名称（a-z、0-9、“.”、“_”、“-”）。',
    'A provider named "{p}" exists already: change its row instead, or choose another name.': '已存在名为“{p}”的服务商：请修改它所在的行，或换一个名称。',
    'A new provider needs its base URL.': '新服务商需要接口地址。',
    'Settings saved. The router uses them within a second.': '设置已保存，路由将在一秒内生效。',
    'Changes discarded.': '已放弃修改。',
    'When': '时间',
    'Who': '操作者',
    'What': '操作',
    'Detail': '详情',
    'Address': '地址',
    'Nothing changed yet.': '还没有任何更改。',
    'The current password, please.': '请输入当前密码。',
    'Password changed. Other sessions have ended.': '密码已修改，其他会话已结束。',
    'The current password is wrong.': '当前密码错误。',
    'just now': '刚刚',
    'setup': '初始设置',
    'login': '登录',
    'password': '修改密码',
    'settings': '保存设置',
    'key.create': '创建密钥',
    'key.change': '修改密钥',
    'key.revoke': '吊销密钥',
    'upkey.add': '添加上游密钥',
    'upkey.change': '修改上游密钥',
    'upkey.remove': '删除上游密钥',
  });

  start();
})();
