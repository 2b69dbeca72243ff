/*
 * The 'linlens serve' page: lists the analyses (GET /api/analyses) with a form for each one's
 * options, submits a job, polls it, and draws each prompt's sections as they arrive.
 */
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  const el = LinLens.el;
  const POLL_MS = 400;
  let job = null;
  let drawn = [];   // per prompt: the section keys drawn so far
  let analyses = {}; // name -> { description, default_prompt, options: [{ name, kind, description, default, min, max }] }

  async function api(method, url, body) {
    const r = await fetch(url, body === undefined ? { method } :
      { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || 'HTTP ' + r.status);
    return data;
  }

  const message = text => { $('message').textContent = text || ''; };

  async function loadModels() {
    try {
      const { models } = await api('GET', '/api/models');
      $('model').replaceChildren(...models.map(m => el('option', { value: m.name, title: m.path }, m.name)));
      if (!models.length) message('No models: run "linlens models fetch gemma-3-270m" or start the server with --model FILE.gguf.');
    } catch (e) { message(e.message); }
  }

  async function loadAnalyses() {
    try {
      const list = (await api('GET', '/api/analyses')).analyses;
      analyses = Object.fromEntries(list.map(a => [a.name, a]));
      $('analysis').replaceChildren(...list.map(a => el('option', { value: a.name, title: a.description }, a.name)));
      $('analysis').value = 'decompose';
      showOptions();
    } catch (e) { message(e.message); }
  }

  const label = name => name.replace(/_/g, ' ');

  /** One input per option of the chosen analysis, at its default; empty means "the default". */
  function showOptions() {
    const a = analyses[$('analysis').value];
    if (!a) return;
    $('run').textContent = a.name.charAt(0).toUpperCase() + a.name.slice(1);
    const previous = $('prompt').dataset.defaultFor;
    if (previous && previous !== a.name && $('prompt').value === analyses[previous].default_prompt) $('prompt').value = a.default_prompt;
    $('prompt').dataset.defaultFor = a.name;
    $('prompt').title = a.prompt_description;
    $('options').replaceChildren(...a.options.flatMap(o => {
      const id = 'opt-' + o.name;
      let input;
      if (o.kind === 'precision' || o.kind === 'mlp_path') {
        const values = o.kind === 'precision' ? ['fp32', 'fp64'] : ['up', 'gate'];
        input = el('select', { id }, ...values.map(v => el('option', { value: v }, v)));
        input.value = o.default;
      } else if (o.kind === 'flag') {
        input = el('input', { id, type: 'checkbox' });
      } else {
        const numeric = o.kind === 'int' || o.kind === 'optional_int' || o.kind === 'double';
        input = el('input', { id, type: numeric ? 'number' : 'text', autocomplete: 'off',
          placeholder: o.default === null || o.default === undefined ? (o.required ? 'required' : 'default') : String(o.default) });
        if (o.kind === 'double') input.step = 'any';
        if (o.min !== null && o.min !== undefined) input.min = o.min;
        if (o.max !== null && o.max !== undefined) input.max = o.max;
      }
      input.dataset.kind = o.kind;
      return [el('label', { for: id, title: o.description }, label(o.name)), input];
    }));
  }

  /** The options typed in, as the API takes them; empty fields are left to their defaults. */
  function optionValues() {
    const a = analyses[$('analysis').value], out = {};
    if (!a) return out;
    for (const o of a.options) {
      const input = $('opt-' + o.name);
      if (!input) continue;
      if (o.kind === 'flag') { if (input.checked) out[o.name] = true; continue; }
      const v = input.value.trim();
      if (v === '') continue;
      if (o.kind === 'int' || o.kind === 'optional_int' || o.kind === 'double') out[o.name] = Number(v);
      else if (o.kind === 'int_list' || o.kind === 'double_list') out[o.name] = v.split(',').map(x => Number(x.trim()));
      else if (o.kind === 'site_list') out[o.name] = v.split(',').map(x => x.trim());
      else out[o.name] = v;
    }
    return out;
  }

  function columns(prompts) {
    drawn = prompts.map(() => '');
    $('results').className = prompts.length > 1 ? 'grid2' : '';
    $('results').replaceChildren(...prompts.map((p, i) => el('div', { class: 'result', id: 'result-' + i },
      el('h2', {}, JSON.stringify(p)), el('div', { class: 'downloads' }), el('div', { class: 'figures' }))));
  }

  const ENDED = ['done', 'failed', 'cancelled'];

  function showProgress(s) {
    const box = $('progress');
    box.hidden = false;
    const frac = s.total > 0 ? s.done / s.total : 0;
    box.querySelector('.bar > div').style.width = (s.state === 'done' ? 100 : 100 * frac).toFixed(1) + '%';
    const of = s.results.length > 1 ? 'prompt ' + (s.current_prompt + 1) + ' of ' + s.results.length + ': ' : '';
    box.querySelector('.label').textContent = s.state === 'queued' ? 'queued, position ' + s.queue_position
      : s.state === 'running' ? of + s.stage + (s.total > 1 ? ' ' + s.done + '/' + s.total : '') : s.state;
    // an ended job's state is set once its results are drawn (poll), so "done" means they are on the page
    if (!ENDED.includes(s.state)) document.body.dataset.state = s.state;
  }

  async function draw(s) {
    for (let i = 0; i < s.results.length; i++) {
      const keys = s.results[i].sections.join(',');
      if (!keys || keys === drawn[i]) continue;
      const data = await api('GET', '/api/jobs/' + encodeURIComponent(s.id) + '/results/' + i);
      const col = $('result-' + i);
      LinLens.render(col.querySelector('.figures'), data, 'p' + i);
      drawn[i] = keys;
    }
    for (let i = 0; i < s.results.length; i++) {
      const downloads = s.results[i].downloads || [], box = $('result-' + i).querySelector('.downloads');
      if (!downloads.length || box.childElementCount) continue;
      const base = '/api/jobs/' + encodeURIComponent(s.id) + '/results/' + i + '/';
      const names = { 'result.json': 'JSON', 'arrays.npz': 'NumPy (.npz)', 'report.html': 'HTML report' };
      box.replaceChildren(...downloads.map(d => el('a', { href: base + d, download: '' }, names[d] || d)));
    }
  }

  /** Follows job {@code id} until it ends or another job replaces it. */
  async function poll(id) {
    if (!job || job.id !== id) return;
    try {
      const s = await api('GET', '/api/jobs/' + id);
      if (!job || job.id !== id) return;
      showProgress(s);
      await draw(s);
      if (ENDED.includes(s.state)) {
        document.body.dataset.state = s.state;
        // a refusal shown meanwhile ("busy") no longer applies once the job ends
        message(s.state === 'failed' ? s.error : s.state === 'cancelled' ? 'Cancelled.' : '');
        finish();
        return;
      }
    } catch (e) {
      if (job && job.id === id) { message(e.message); finish(); }
      return;
    }
    setTimeout(() => poll(id), POLL_MS);
  }

  function finish() {
    job = null;
    $('cancel').disabled = true;
  }

  $('compare').addEventListener('change', () => {
    $('prompt2').hidden = $('prompt2-label').hidden = !$('compare').checked;
  });

  $('chat').addEventListener('change', () => {
    $('system').hidden = $('system-label').hidden = !$('chat').checked;
  });

  /** The request's chat fields: the prompts in the model's chat template, after a system turn if one is typed. */
  function chatFields() {
    if (!$('chat').checked) return {};
    return $('system').value.trim() ? { chat: true, system: $('system').value } : { chat: true };
  }

  $('ask').addEventListener('submit', async e => {
    e.preventDefault();
    message('');
    const prompts = [$('prompt').value].concat($('compare').checked ? [$('prompt2').value] : []);
    try {
      job = await api('POST', '/api/jobs', Object.assign(optionValues(), chatFields(),
        { analysis: $('analysis').value, model: $('model').value, prompts }));
    } catch (err) { message(err.message); return; }
    document.body.dataset.state = job.state; // the previous job's "done" no longer describes the page
    $('cancel').disabled = false;
    columns(prompts);
    poll(job.id);
  });

  $('cancel').addEventListener('click', async () => {
    if (!job) return;
    try { await api('DELETE', '/api/jobs/' + job.id); } catch (e) { message(e.message); }
  });

  $('analysis').addEventListener('change', showOptions);

  loadModels();
  loadAnalyses();
})();
