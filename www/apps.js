// apps.js — the admin page's Apps view: the prompt apps (GET
// /admin/api/apps) and each one's call log (GET apps/<name>/log), newest
// first, searched by client id and text, a page at a time.
'use strict';

(function () {
  const L = window.llmgate;
  if (!L) return;
  const { api, h, clear, toast } = L;
  const PAGE = 50;
  const view = { app: '', client: '', q: '', offset: 0 };

  const when = (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const kb = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

  function appCard(a, section) {
    const facts = a.configured === false
      ? ['not in this page\'s configuration (made by the router\'s environment)']
      : [`POST ${a.path}`, `model ${a.model}`, a.auth === 'open' ? `open, ${a.rate_limit} a minute per client` : 'gateway key',
        `answer ${a.answer}`, `fields ${a.fields.map((f) => `${f.name} (≤ ${f.max_bytes} B)`).join(', ')}`,
        `log kept ${a.log_days} days, at most ${kb(a.log_max_bytes)}`];
    return h('div', { class: 'card', 'data-app': a.name },
      h('h2', {}, a.name),
      h('p', { class: 'muted small' }, facts.join(' · ')),
      h('p', { class: 'small' }, `Log: ${kb(a.log_bytes || 0)}`),
      h('button', { type: 'button', onclick: () => { Object.assign(view, { app: a.name, client: '', q: '', offset: 0 }); showLog(section); } },
        `Show the log of ${a.name}`));
  }

  function entryRow(e) {
    const input = e.input ? Object.entries(e.input).map(([k, v]) => `${k}: ${v}`).join('\n') : '';
    return h('tr', { 'data-key': e.key },
      h('td', { class: 'small' }, when(e.ts)),
      h('td', {}, h('button', { type: 'button', class: 'link', title: 'Only this client',
        onclick: (ev) => { view.client = e.client; view.offset = 0; showLog(ev.target.closest('section')); } }, e.client)),
      h('td', { class: 'num' }, String(e.status)),
      h('td', {}, h('details', {}, h('summary', {}, (input.split('\n')[1] || input).slice(0, 80)), h('pre', { class: 'small' }, input))),
      h('td', {}, h('pre', { class: 'small' }, e.answer || e.error || '')));
  }

  async function showLog(section) {
    const qs = new URLSearchParams({ offset: String(view.offset), limit: String(PAGE) });
    if (view.client) qs.set('client', view.client);
    if (view.q) qs.set('q', view.q);
    let data;
    try {
      data = await api('GET', `apps/${encodeURIComponent(view.app)}/log?${qs}`);
    } catch (e) {
      toast(e.message, 'err');
      return;
    }
    const box = clear(section.querySelector('.app-log') || section.appendChild(h('div', { class: 'app-log' })));
    const client = h('input', { type: 'search', value: view.client, placeholder: 'client id', 'aria-label': 'Client id' });
    const text = h('input', { type: 'search', value: view.q, placeholder: 'text', 'aria-label': 'Search text' });
    const form = h('form', { class: 'row', onsubmit: (ev) => {
      ev.preventDefault();
      Object.assign(view, { client: client.value.trim(), q: text.value.trim(), offset: 0 });
      showLog(section);
    } }, client, text, h('button', { type: 'submit' }, 'Search'));
    const first = data.total ? view.offset + 1 : 0;
    const last = view.offset + data.entries.length;
    box.append(h('h2', {}, `Log of ${view.app}`), form,
      h('p', { class: 'muted small', 'data-total': String(data.total) }, `${first}–${last} of ${data.total}, newest first`),
      data.entries.length
        ? h('div', { class: 'scroll' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Time', 'Client', 'Status', 'Input', 'Answer'].map((c, i) => h('th', { class: i === 2 ? 'num' : '' }, c)))),
          h('tbody', {}, data.entries.map(entryRow))))
        : h('div', { class: 'card empty' }, 'No calls logged.'),
      h('div', { class: 'row' },
        h('button', { type: 'button', disabled: view.offset === 0, onclick: () => { view.offset = Math.max(0, view.offset - PAGE); showLog(section); } }, 'Newer'),
        h('button', { type: 'button', disabled: data.next_offset === null, onclick: () => { view.offset = data.next_offset; showLog(section); } }, 'Older')));
  }

  L.addView('apps', {
    label: 'Apps',
    async load(section) {
      let data;
      try {
        data = await api('GET', 'apps');
      } catch (e) {
        toast(e.message, 'err');
        return;
      }
      clear(section).append(h('h1', {}, 'Prompt apps'));
      if (!data.apps.length) {
        section.append(h('div', { class: 'card empty' }, 'No prompt app is configured. See the README, "Prompt apps".'));
        return;
      }
      for (const a of data.apps) section.append(appCard(a, section));
      if (view.app && data.apps.some((a) => a.name === view.app)) showLog(section);
    },
  });
}());
