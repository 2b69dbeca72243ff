/* The 'linlens serve' page: submits a job, polls it, and draws each prompt's sections as they arrive. */
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  const el = LinLens.el;
  const POLL_MS = 400;
  let job = null;
  let drawn = [];   // per prompt: the section keys drawn so far

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

  function columns(prompts) {
    drawn = prompts.map(() => '');
    $('results').className = prompts.length > 1 ? 'grid2' : '';
    $('results').replaceChildren(...prompts.map((p, i) => el('div', { class: 'result', id: 'result-' + i },
      el('h2', {}, JSON.stringify(p)), el('div', { class: 'downloads' }), el('div', { class: 'figures' }))));
  }

  function showProgress(s) {
    const box = $('progress');
    box.hidden = false;
    const frac = s.total > 0 ? s.done / s.total : 0;
    box.querySelector('.bar > div').style.width = (s.state === 'done' ? 100 : 100 * frac).toFixed(1) + '%';
    const of = s.results.length > 1 ? 'prompt ' + (s.current_prompt + 1) + ' of ' + s.results.length + ': ' : '';
    box.querySelector('.label').textContent = s.state === 'queued' ? 'queued, position ' + s.queue_position
      : s.state === 'running' ? of + s.stage + (s.total > 1 ? ' ' + s.done + '/' + s.total : '') : s.state;
    document.body.dataset.state = s.state;
  }

  async function draw(s) {
    for (let i = 0; i < s.results.length; i++) {
      const keys = s.results[i].sections.join(',');
      if (!keys || keys === drawn[i]) continue;
      const data = await api('GET', '/api/jobs/' + encodeURIComponent(s.id) + '/results/' + i);
      const col = $('result-' + i);
      LinLens.render(col.querySelector('.figures'), data, 'p' + i);
      drawn[i] = keys;
      if (data.decomposition) {
        const base = '/api/jobs/' + encodeURIComponent(s.id) + '/results/' + i + '/';
        col.querySelector('.downloads').replaceChildren(
          el('a', { href: base + 'decomposition.json', download: '' }, 'JSON'),
          el('a', { href: base + 'arrays.npz', download: '' }, 'NumPy (.npz)'),
          el('a', { href: base + 'report.html', download: '' }, 'HTML report'));
      }
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
      if (['done', 'failed', 'cancelled'].includes(s.state)) {
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

  $('ask').addEventListener('submit', async e => {
    e.preventDefault();
    message('');
    const prompts = [$('prompt').value].concat($('compare').checked ? [$('prompt2').value] : []);
    try {
      job = await api('POST', '/api/jobs', { model: $('model').value, prompts, precision: $('precision').value });
    } catch (err) { message(err.message); return; }
    $('cancel').disabled = false;
    columns(prompts);
    poll(job.id);
  });

  $('cancel').addEventListener('click', async () => {
    if (!job) return;
    try { await api('DELETE', '/api/jobs/' + job.id); } catch (e) { message(e.message); }
  });

  loadModels();
})();
