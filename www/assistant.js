// assistant.js — the admin page's "Assistant" view: the settings of the
// gateway as an AI application (public model names, system prompt,
// conversations kept per key, the drawing trigger) and the stored
// conversations of each gateway key (count, last used, delete). It edits
// the same settings document as the Settings view (PUT settings) and reads
// GET conversations, GET conversations/<key>, POST conversations/<key>/delete.

'use strict';

(() => {
  const { api, act, h, clear, toast, addView } = window.llmgate;
  const when = (t) => (t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) : '—');
  let doc = null;   // the settings document as last read or saved

  function field(label, input, hint) {
    return h('label', {}, label, input, hint ? h('span', { class: 'hint' }, hint) : null);
  }

  function settingsForm(data) {
    const st = data.settings;
    const df = data.defaults || {};
    const conv = st.conversations || {};
    const dconv = df.conversations || {};
    const draw = st.drawing || {};
    const ddraw = df.drawing || {};
    const sp = st.system_prompt || {};
    const inp = {
      models: h('input', { id: 'as-public', value: (st.public_models || []).join(', '), placeholder: 'gpt-4o-mini' }),
      prompt: h('textarea', { id: 'as-prompt', rows: 3, value: sp.enabled ? sp.text || '' : '' }),
      max: h('input', { id: 'as-max', type: 'number', min: 0, value: conv.max_per_key ?? '', placeholder: dconv.max_per_key ?? '' }),
      days: h('input', { id: 'as-days', type: 'number', min: 1, value: conv.retention_days ?? '', placeholder: dconv.retention_days ?? '' }),
      chars: h('input', { id: 'as-chars', type: 'number', min: 256, value: conv.history_chars ?? '', placeholder: dconv.history_chars ?? '' }),
      drawOn: h('input', { id: 'as-draw', type: 'checkbox', checked: draw.enabled ?? ddraw.enabled }),
      drawModel: h('input', { id: 'as-draw-model', value: draw.model ?? '', placeholder: ddraw.model || 'Kwai-Kolors/Kolors' }),
    };
    const form = h('form', { id: 'as-form', class: 'card' },
      h('h2', {}, 'Assistant settings'),
      field('Public model names', inp.models, 'Comma-separated; the models clients are told to use, first in /v1/models. Each must route: an alias or a provider\'s model.'),
      field('System prompt', inp.prompt, 'Added to every chat that has none; empty: none.'),
      field('Conversations kept per key', inp.max, '0 turns conversations off; beyond it the least recently used goes.'),
      field('Days a conversation is kept unused', inp.days),
      field('History sent, in characters', inp.chars, 'Oldest turns are dropped first; the system prompt is always sent.'),
      h('label', { class: 'check' }, inp.drawOn, ' Drawing: a message starting with 画 or /draw makes a picture'),
      field('Image model', inp.drawModel),
      h('button', { type: 'submit', class: 'primary' }, 'Save'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const next = JSON.parse(JSON.stringify(doc));
      const models = inp.models.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (models.length) next.public_models = models; else delete next.public_models;
      const text = inp.prompt.value;
      if (text.trim()) next.system_prompt = { enabled: true, text }; else delete next.system_prompt;
      const c = {};
      for (const [k, el] of [['max_per_key', inp.max], ['retention_days', inp.days], ['history_chars', inp.chars]]) {
        if (el.value.trim() === '') continue;
        const n = Number(el.value);
        if (!Number.isInteger(n)) return toast(`${k}: a whole number, please.`, 'err');
        c[k] = n;
      }
      if (Object.keys(c).length) next.conversations = c; else delete next.conversations;
      const d = { enabled: inp.drawOn.checked };
      if (inp.drawModel.value.trim()) d.model = inp.drawModel.value.trim();
      if (d.enabled && !d.model && !ddraw.model) return toast('Drawing needs an image model.', 'err');
      next.drawing = d;
      const r = await act(ev.submitter, () => api('PUT', 'settings', next), 'Assistant settings saved.');
      if (r) doc = r.settings;
    });
    return form;
  }

  async function showKey(box, key) {
    const data = await act(null, () => api('GET', `conversations/${encodeURIComponent(key.id)}`));
    if (!data) return;
    clear(box);
    box.append(h('h3', {}, `Conversations of ${key.name || key.id}`));
    if (!data.conversations.length) {
      box.append(h('p', { class: 'muted' }, 'None kept.'));
      return;
    }
    const body = h('tbody', {});
    for (const c of data.conversations) {
      const del = h('button', { type: 'button', class: 'small danger' }, 'Delete');
      del.addEventListener('click', async () => {
        const r = await act(del, () => api('POST', `conversations/${encodeURIComponent(key.id)}/delete`, { id: c.id }),
          'Conversation deleted.');
        if (r) await load(box.closest('section'));
      });
      body.append(h('tr', { 'data-conversation': c.id },
        h('td', {}, c.id), h('td', { class: 'num' }, String(c.turns)), h('td', {}, when(c.last_used)), h('td', { class: 'act' }, del)));
    }
    box.append(h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Conversation', 'Turns', 'Last used', ''].map((x) => h('th', {}, x)))), body));
  }

  function keysTable(data, box) {
    const body = h('tbody', {});
    for (const k of data.keys) {
      const open = h('button', { type: 'button', class: 'small' }, 'Show');
      open.addEventListener('click', () => showKey(box, k));
      body.append(h('tr', { 'data-key': k.id },
        h('td', {}, k.name || k.id), h('td', { class: 'num' }, String(k.conversations)), h('td', {}, when(k.last_used)),
        h('td', { class: 'act' }, k.conversations ? open : null)));
    }
    return h('table', { class: 'table', id: 'as-keys' },
      h('thead', {}, h('tr', {}, ['Gateway key', 'Conversations', 'Last used', ''].map((x) => h('th', {}, x)))), body);
  }

  async function load(section) {
    const [settings, convs] = await Promise.all([
      act(null, () => api('GET', 'settings')),
      act(null, () => api('GET', 'conversations')),
    ]);
    if (!settings || !convs) return;
    doc = settings.settings;
    clear(section);
    const box = h('div', { id: 'as-detail' });
    section.append(h('h1', {}, 'Assistant'), settingsForm(settings),
      h('div', { class: 'card' }, h('h2', {}, 'Conversations'), keysTable(convs, box), box));
  }

  addView('assistant', { label: 'Assistant', load });
})();
