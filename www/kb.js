// kb.js — the admin page's knowledge-base view: vector stores shared by the
// admin (made, removed, indexed again), their documents with chunk counts
// and status, a file uploaded or text pasted into a store, a document
// removed. Talks to llmgate-admin's kb API (docs/admin.md); registers with
// window.llmgate.addView (app.js). Documents are embedded by the router the
// first time a request searches their store.

'use strict';

(() => {
  const { api, act, h, clear, toast, addView } = window.llmgate;

  // A raw upload (the file's bytes as the body): the JSON helper cannot
  // send those, so the session's CSRF token is fetched for it.
  async function uploadRaw(store, name, body, type) {
    const se = await api('GET', 'session');
    const res = await fetch(`${new URL('/admin/api/', document.baseURI).href}kb/stores/${encodeURIComponent(store)}/documents?name=${encodeURIComponent(name)}`, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store', body,
      headers: { 'Content-Type': type || 'application/octet-stream', 'X-CSRF-Token': se.csrf, Accept: 'application/json' },
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.error && data.error.message) || `The server answered ${res.status}.`);
    return data;
  }

  function statusBadge(f) {
    const done = f.status === 'completed';
    return h('span', { class: `badge ${done ? 'ok' : 'warn'}`, title: done ? `embedded with ${f.model}` : 'embedded when a request first searches this store' },
      done ? 'indexed' : 'waiting');
  }

  function docsTable(section, store) {
    if (!store.files.length) return h('p', { class: 'empty' }, 'No documents yet.');
    return h('div', { class: 'scroll' }, h('table', { class: 'kb-docs' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Document'), h('th', {}, 'Type'), h('th', { class: 'num' }, 'Chunks'),
        h('th', {}, 'Status'), h('th', {}, ''))),
      h('tbody', {}, store.files.map((f) => h('tr', {},
        h('td', {}, f.filename), h('td', {}, f.kind), h('td', { class: 'num' }, String(f.chunks)), h('td', {}, statusBadge(f)),
        h('td', {}, h('button', {
          type: 'button', class: 'link danger', 'aria-label': `Remove ${f.filename}`,
          onclick: (ev) => act(ev.currentTarget, () => api('POST', `kb/stores/${store.id}/remove`, { file_id: f.id }), 'Document removed.')
            .then((r) => r && load(section)),
        }, 'Remove')))))));
  }

  function addForm(section, store) {
    const file = h('input', { type: 'file', accept: '.txt,.md,.markdown,.html,.htm,.csv,.json,.pdf', 'aria-label': `File for ${store.name}` });
    const title = h('input', { placeholder: 'title (for pasted text)', maxlength: 120, 'aria-label': 'Title of the pasted text' });
    const text = h('textarea', { rows: 3, placeholder: 'or paste text here', 'aria-label': `Text for ${store.name}` });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add to store');
    return h('form', {
      class: 'stack kb-add',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const f = file.files[0];
        if (!f && !text.value.trim()) return toast('Choose a file or paste some text.', 'err');
        const name = f ? f.name : `${(title.value.trim() || 'pasted text').replace(/[\\/]/g, '-')}.txt`;
        const r = await act(submit, () => (f ? uploadRaw(store.id, f.name, f, f.type) : uploadRaw(store.id, name, text.value, 'text/plain; charset=utf-8')),
          (d) => `${d.filename}: ${d.chunks} chunk${d.chunks === 1 ? '' : 's'}.`);
        if (r) load(section);
      },
    }, file, title, text, h('div', {}, submit));
  }

  function storeCard(section, store) {
    return h('div', { class: 'card kb-store', 'data-store': store.id },
      h('div', { class: 'bar' },
        h('h2', {}, store.name, ' ', h('span', { class: 'muted small' }, store.id),
          store.shared ? ' ' : h('span', { class: 'badge', title: 'made with a gateway key' }, ` key ${store.owner}`)),
        h('div', { class: 'actions' },
          h('button', {
            type: 'button', title: 'embed every document again (after the embedding model changed)',
            onclick: (ev) => act(ev.currentTarget, () => api('POST', `kb/stores/${store.id}/reindex`), (r) => `${r.pending} document(s) to index again.`)
              .then((r) => r && load(section)),
          }, 'Re-index'),
          h('button', {
            type: 'button', class: 'danger',
            onclick: (ev) => {
              if (!window.confirm(`Remove the store ${store.name} and its index?`)) return;
              act(ev.currentTarget, () => api('DELETE', `kb/stores/${store.id}`), 'Store removed.').then((r) => r && load(section));
            },
          }, 'Remove store'))),
      docsTable(section, store),
      store.shared ? addForm(section, store) : null);
  }

  async function load(section) {
    const data = await act(null, () => api('GET', 'kb'));
    if (!data) return;
    const name = h('input', { required: true, maxlength: 200, placeholder: 'e.g. Team handbook', 'aria-label': 'Name of the new store' });
    clear(section).append(
      h('div', { class: 'bar' }, h('h1', {}, 'Knowledge bases'),
        h('button', { type: 'button', onclick: (ev) => act(ev.currentTarget, () => load(section)) }, 'Refresh')),
      h('p', { class: 'hint' },
        data.model ? `Embedding model: ${data.model}. ` : 'No embedding model is configured ([rag] model, or RAG_MODEL): documents cannot be indexed. ',
        `Chunks of ${data.chunk_size} characters. `,
        data.pdf ? 'PDF files are read with pdftotext.' : 'PDF files are refused: pdftotext (poppler-utils) is not installed.',
        ' Stores made here are shared: every gateway key may search them (X-Llmgate-Vector-Stores, or file_search).'),
      h('form', {
        class: 'card form-grid',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const r = await act(ev.submitter, () => api('POST', 'kb/stores', { name: name.value.trim() }), 'Store made.');
          if (r) load(section);
        },
      }, h('label', { class: 'wide' }, 'New store ', name), h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Make store'))),
      ...(data.stores.length ? data.stores.map((s) => storeCard(section, s)) : [h('p', { class: 'empty' }, 'No vector stores yet.')]));
  }

  addView('kb', { label: 'Knowledge', load });
})();
