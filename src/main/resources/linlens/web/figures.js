/*
 * Linear Lens figures, drawn with ECharts. The data is a map of sections, one analysis's result
 * per key (see HtmlReport.java); each entry of SECTIONS draws one figure from the keys it needs,
 * and is skipped when they are absent. A new analysis adds its key on the Java side and an entry
 * here. Used by the self-contained report and by the 'linlens serve' app.
 */
(function () {
  'use strict';
  const LinLens = window.LinLens = window.LinLens || {};
  /** id → ECharts instance of every figure drawn (export, resize, tests). */
  LinLens.charts = {};

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }
  LinLens.el = el;

  const fmt = (v, digits = 4) => Number(v).toPrecision(digits);
  /** A log axis's tick in one format: up to 3 significant digits without trailing zeros; 1e5, 1e-4 beyond. */
  const tick = v => v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)
    ? Number(v).toExponential(0).replace('e+', 'e') : String(Number(Number(v).toPrecision(3)));
  LinLens.tick = tick;
  /** A colour scale's value: 0 for what rounds to it (never "-0"), else 2 significant digits with a true minus. */
  const scaleValue = (v, lim) => Math.abs(v) < lim * 5e-3 ? '0' : (v < 0 ? '−' : '+') + fmt(Math.abs(v), 2);
  LinLens.scaleValue = scaleValue;
  const pct = p => (100 * p).toFixed(p < 0.001 ? 3 : 1) + '%';
  /** A token as text you can see: quotes keep leading spaces visible. */
  const quoted = t => JSON.stringify(t);
  /**
   * Text for an ECharts tooltip formatter, which ECharts inserts as HTML: every piece of data in
   * it goes through this (its default tooltips escape by themselves).
   */
  const esc = s => echarts.format.encodeHTML(String(s));

  function download(url, name) {
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function exportPng(chart, name) {
    download(chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' }), name + '.png');
  }

  /** Renders the figure's current option again with the SVG renderer, off screen. */
  function exportSvg(chart, name) {
    const svgChart = echarts.init(document.createElement('div'), null, { renderer: 'svg', width: chart.getWidth(), height: chart.getHeight() });
    svgChart.setOption(Object.assign(chart.getOption(), { animation: false }));
    const svg = svgChart.renderToSVGString();
    svgChart.dispose();
    const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
    download(url, name + '.svg');
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /** A figure panel: title, optional controls, the chart, a caption, PNG and SVG buttons. */
  function figure(root, id, title, caption, height, option, controls) {
    const box = el('div', { class: 'chart', style: 'height:' + height + 'px' });
    const exports = el('span', { class: 'exports' });
    const panel = el('section', { class: 'figure', id: id, 'data-figure': id },
      el('div', { class: 'figure-head' }, el('h3', {}, title), controls || null, exports),
      box, el('p', { class: 'caption' }, caption));
    root.append(panel);
    const chart = echarts.init(box, null, { renderer: 'canvas' });
    chart.setOption(option);
    LinLens.charts[id] = chart;
    exports.append(
      el('button', { type: 'button', class: 'export-png', onclick: () => exportPng(chart, id) }, 'PNG'),
      el('button', { type: 'button', class: 'export-svg', onclick: () => exportSvg(chart, id) }, 'SVG'));
    return { panel, chart };
  }

  // ------------------------------------------------------------------ sections

  /** The result that has the prompt, its tokens and the prediction (every analysis but steering has one). */
  const promptResult = d => Object.values(d).find(v => v && typeof v === 'object' && v.prompt !== undefined && v.tokens && v.prediction);

  /** The prompt, its tokens, the prediction and the reconstruction check. */
  function summary(root, data) {
    const r = promptResult(data);
    const m = r.model;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Model', m.family + ' · d=' + m.hidden_size + ' · ' + m.layers + ' layers · vocab ' + m.vocab_size + ' · ' + m.source.split('/').pop());
    fact('Prompt', quoted(r.prompt) + ' (' + r.tokens.length + ' tokens)');
    // --chat: the text the model's chat template wrote, which the tokens encode
    if (r.formatted_prompt !== undefined) fact('Chat template', el('pre', { class: 'formatted-prompt' }, r.formatted_prompt));
    const p = r.prediction;
    fact('Prediction', el('span', {}, el('span', { class: 'token pred' }, p.text), ' p=' + fmt(p.probability, 3) + ', logit ' + fmt(p.logit)));
    if (data.decomposition) {
      const rc = data.decomposition.reconstruction;
      fact('Reconstruction', '‖Σ J_i x_i − y‖ / ‖y‖ = ' + Number(rc.relative_error).toExponential(2) + ' (' + rc.precision + ', MLP path ' + rc.mlp_path + ')');
      const nl = data.decomposition.nonlinear_reconstruction;
      if (nl) fact('Ordinary Jacobian', '‖Σ J_i x_i − y‖ / ‖y‖ = ' + Number(nl.relative_error).toExponential(2) + ' (nothing frozen)');
    }
    if (data.layers) fact('Analysis', 'layers ' + data.layers.layers.join(', ') + ' · sites ' + data.layers.keys.join(', ') + ' · ' + data.layers.precision + ', MLP path ' + data.layers.mlp_path);
    root.append(el('section', { class: 'card summary' }, el('h3', {}, 'Prompt and prediction'),
      el('div', { class: 'tokens prompt-tokens' }, ...r.tokens.map((t, i) => el('span', { class: 'token', title: 'position ' + i + ', id ' + t.id }, t.text))),
      facts));
  }

  function prediction(root, data, prefix) {
    const top = promptResult(data).prediction.top.slice().reverse();
    figure(root, prefix + '-prediction', 'Next-token prediction',
      'The model\'s top next tokens and their probabilities.', Math.max(160, 40 * top.length), {
        animation: false,
        grid: { left: 120, right: 60, top: 10, bottom: 30 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'value', axisLabel: { formatter: v => Math.round(100 * v) + '%' } },
        yAxis: { type: 'category', data: top.map(c => quoted(c.text)) },
        series: [{ type: 'bar', data: top.map(c => c.probability), itemStyle: { color: '#2f6fd6' },
          label: { show: true, position: 'right', formatter: o => pct(o.value) } }]
      });
  }

  /** Figure 3: each output coordinate, reconstructed by Σ_i J_i x_i, against its true value. */
  function reconstruction(root, data, prefix) {
    const series = data.reconstruction.series;
    let lo = Infinity, hi = -Infinity;
    for (const s of series) for (const v of s.y.concat(s.reconstructed)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    figure(root, prefix + '-reconstruction', 'Reconstruction of the output embedding (paper figure 3)',
      'Each point is one coordinate of y (the last position\'s final-normed hidden state): its true value against Σ_i J_i x_i. '
      + series.map(s => s.label + ': relative error ' + Number(s.relative_error).toExponential(2)).join('; ')
      + '. Points on the diagonal reproduce y exactly.', 420, {
        animation: false,
        legend: { top: 0 },
        grid: { left: 70, right: 30, top: 36, bottom: 50 },
        tooltip: { trigger: 'item', formatter: o => esc(o.seriesName) + '<br>coordinate ' + o.dataIndex + '<br>y = ' + fmt(o.value[0]) + '<br>Σ J x = ' + fmt(o.value[1]) },
        xAxis: { type: 'value', name: 'y', nameLocation: 'middle', nameGap: 28 },
        yAxis: { type: 'value', name: 'Σ_i J_i x_i', nameLocation: 'middle', nameGap: 45 },
        series: series.map(s => ({ type: 'scatter', name: s.label, symbolSize: 5, data: s.y.map((v, i) => [v, s.reconstructed[i]]) }))
          .concat([{ type: 'line', name: 'y = Σ J x', data: [[lo, lo], [hi, hi]], symbol: 'none', lineStyle: { type: 'dashed', color: '#888' }, silent: true }])
      });
  }

  /** Symmetric colour limit: the 99th percentile of |value|, so a few outliers do not wash it out. */
  function clipLimit(values) {
    const a = Array.from(values, Math.abs).sort((x, y) => x - y);
    return a[Math.min(a.length - 1, Math.floor(0.99 * a.length))] || 1;
  }

  /** Figure 2: the heat map of one J_i with its singular values in an inset; a selector picks i. */
  function jacobians(root, data, prefix) {
    const J = data.jacobians, svd = data.decomposition && data.decomposition.svd;
    const maps = J.maps;
    const select = el('select', { class: 'position', 'aria-label': 'input position' },
      ...maps.map((m, i) => el('option', { value: i }, i + ': ' + quoted(m.token))));
    select.value = String(maps.length - 1);
    const option = i => {
      const m = maps[i], side = J.side, lim = clipLimit(m.values), cells = new Array(side * side);
      for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) cells[r * side + c] = [c, r, m.values[r * side + c]];
      const sv = svd ? svd[m.position].singular_values : [];
      return {
        animation: false,
        title: [{ text: 'J_' + m.position + ' for ' + quoted(m.token), left: 10, top: 0, textStyle: { fontSize: 13 } },
                { text: 'singular values σ_k (log scale)', left: '76%', top: 0, textStyle: { fontSize: 12 } }],
        tooltip: { formatter: o => o.seriesType === 'heatmap'
          ? 'output ' + o.value[1] * J.block + ', input ' + o.value[0] * J.block + (J.block > 1 ? ' (block of ' + J.block + ')' : '') + '<br>J = ' + fmt(o.value[2])
          : 'σ_' + (o.dataIndex + 1) + ' = ' + fmt(o.value[1]) },
        grid: [{ left: 50, top: 30, bottom: 40, width: '58%' }, { left: '76%', right: 20, top: 40, height: '45%' }],
        xAxis: [{ gridIndex: 0, type: 'category', data: [...Array(side).keys()], name: 'input feature', nameLocation: 'middle', nameGap: 25, axisLabel: { formatter: v => v * J.block, interval: Math.ceil(side / 8) - 1 } },
                { gridIndex: 1, type: 'value', name: 'k', min: 1, max: sv.length || 1 }],
        yAxis: [{ gridIndex: 0, type: 'category', inverse: true, data: [...Array(side).keys()], name: 'output feature', axisLabel: { formatter: v => v * J.block, interval: Math.ceil(side / 8) - 1 } },
                // the inset's title names the axis: an axis name there would overlap it
                { gridIndex: 1, type: 'log', axisLabel: { formatter: tick } }],
        visualMap: { min: -lim, max: lim, calculable: true, orient: 'horizontal', left: 'right', bottom: 0, seriesIndex: 0,
          formatter: v => scaleValue(v, lim),
          inRange: { color: ['#2166ac', '#67a9cf', '#f7f7f7', '#ef8a62', '#b2182b'] }, text: ['+' + fmt(lim, 2), '−' + fmt(lim, 2)] },
        series: [{ type: 'heatmap', xAxisIndex: 0, yAxisIndex: 0, data: cells, progressive: 0 },
                 { type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, data: sv.map((v, k) => [k + 1, v]), lineStyle: { color: '#2f6fd6' } }]
      };
    };
    const { chart } = figure(root, prefix + '-jacobian', 'Detached Jacobian J_i (paper figure 2)',
      'Rows are output features of y, columns input features of x_i; red positive, blue negative, colours clipped at the 99th percentile of |J|.'
      + (J.block > 1 ? ' d=' + J.dim + ' is shown as ' + J.side + '×' + J.side + ' cells, each the largest-magnitude entry of a ' + J.block + '×' + J.block + ' block.' : '')
      + ' Inset: all singular values of J_i (log scale).', 520, option(maps.length - 1), select);
    select.addEventListener('change', () => chart.setOption(option(Number(select.value)), true));
  }

  /** Figure 4: singular values per position, and the tokens their singular vectors decode to. */
  function spectra(root, data, prefix) {
    const svd = data.decomposition.svd;
    const palette = ['#2f6fd6', '#d9822b', '#3a9e5c', '#b3261e', '#7b52ab', '#1b998b', '#c2407f', '#6d6d6d'];
    figure(root, prefix + '-spectra', 'Singular values of each J_i (paper figure 4)',
      'A few singular values dominate each J_i: the map from that input token to the output is low-dimensional. Log scale.', 380, {
        animation: false,
        color: palette,
        legend: { type: 'scroll', top: 0 },
        tooltip: { trigger: 'axis' },
        grid: { left: 60, right: 30, top: 40, bottom: 45 },
        xAxis: { type: 'value', name: 'k', nameLocation: 'middle', nameGap: 26, min: 1, max: svd[0].singular_values.length },
        yAxis: { type: 'log', name: 'σ_k', axisLabel: { formatter: tick } },
        series: svd.map(s => ({ type: 'line', name: s.position + ': ' + quoted(s.token), showSymbol: false,
          data: s.singular_values.map((v, k) => [k + 1, Math.max(v, 1e-30)]) }))
      });
    figure(root, prefix + '-stable-rank', 'Stable rank of each J_i',
      'Stable rank ‖J_i‖_F² / σ₁² (the paper\'s dimensionality) per input position.', 260, {
        animation: false,
        grid: { left: 60, right: 30, top: 20, bottom: 60 },
        tooltip: { trigger: 'axis' },
        xAxis: { type: 'category', data: svd.map(s => s.position + ': ' + quoted(s.token)), axisLabel: { rotate: 30 } },
        yAxis: { type: 'value', name: 'stable rank' },
        series: [{ type: 'bar', data: svd.map(s => s.stable_rank), itemStyle: { color: '#3a9e5c' },
          label: { show: true, position: 'top', formatter: o => fmt(o.value, 3) } }]
      });
    const rows = [];
    for (const s of svd) s.components.forEach((c, k) => rows.push(el('tr', {},
      el('td', {}, k === 0 ? s.position + ': ' + quoted(s.token) : ''), el('td', { class: 'num' }, String(k + 1)),
      el('td', { class: 'num' }, fmt(c.sigma)),
      el('td', {}, el('div', { class: 'tokens' }, ...c.u_tokens.map(t => el('span', { class: 'token u' }, t)))),
      el('td', {}, el('div', { class: 'tokens' }, ...c.v_tokens.map(t => el('span', { class: 'token v' }, t)))))));
    root.append(el('section', { class: 'card decoded-tokens', id: prefix + '-decoded' },
      el('h3', {}, 'Decoded singular vectors'),
      el('p', { class: 'caption' }, 'u_k decoded by the unembedding (top tokens of W_U u_k), v_k by the input embeddings (cosine-nearest rows); pairs oriented so u_k·y > 0.'),
      el('table', { class: 'decoded' },
        el('thead', {}, el('tr', {}, ...['position', 'k', 'σ_k', 'u_k → output tokens', 'v_k → input tokens'].map(h => el('th', {}, h)))),
        el('tbody', {}, ...rows))));
  }

  const PALETTE = ['#2f6fd6', '#d9822b', '#3a9e5c', '#b3261e', '#7b52ab', '#1b998b', '#c2407f', '#6d6d6d'];
  const KEY_COLOURS = { layer: '#2f6fd6', attn: '#d9822b', mlp: '#3a9e5c' };
  const chips = (tokens, cls) => el('div', { class: 'tokens' }, ...tokens.map(t => el('span', { class: 'token ' + cls }, t)));
  const table = (cls, heads, rows) => el('table', { class: 'decoded ' + cls },
    el('thead', {}, el('tr', {}, ...heads.map(h => el('th', {}, h)))), el('tbody', {}, ...rows));
  const td = (v, num) => el('td', num ? { class: 'num' } : {}, v);
  /** A select of the given labels; value i is the label's index. */
  const selector = (cls, label, labels, initial) => {
    const s = el('select', { class: cls, 'aria-label': label }, ...labels.map((t, i) => el('option', { value: i }, t)));
    s.value = String(initial || 0);
    return s;
  };

  /** The SVD of [J_0 … J_{n−1}] (all positions at once) and where its right singular vectors live. */
  function combinedSpectrum(root, data, prefix) {
    const r = data.decomposition, c = r.svd_combined, toks = r.tokens.map((t, i) => i + ': ' + quoted(t.text));
    figure(root, prefix + '-combined', 'Tokens combined: SVD of [J_0 … J_n−1]',
      'Left: singular values of the d×(n·d) matrix of all J_i side by side (stable rank ' + fmt(c.stable_rank, 3) + '), log scale. '
      + 'Right: for each leading pair k, the share ‖v_k block i‖ of its right singular vector at input position i.', 340, {
        animation: false,
        color: PALETTE,
        legend: { top: 0, left: '52%', type: 'scroll' },
        tooltip: { trigger: 'item', formatter: o => o.seriesIndex === 0 ? 'σ_' + o.value[0] + ' = ' + fmt(o.value[1]) : esc(o.seriesName) + ', ' + esc(toks[o.dataIndex]) + ': ' + fmt(o.value, 3) },
        grid: [{ left: 60, top: 30, bottom: 45, width: '36%' }, { left: '54%', right: 20, top: 60, bottom: 70 }],
        xAxis: [{ gridIndex: 0, type: 'value', name: 'k', nameLocation: 'middle', nameGap: 26, min: 1, max: c.singular_values.length },
                { gridIndex: 1, type: 'category', data: toks, axisLabel: { rotate: 30 } }],
        yAxis: [{ gridIndex: 0, type: 'log', name: 'σ_k', axisLabel: { formatter: tick } },
                { gridIndex: 1, type: 'value', name: '‖v_k at i‖', max: 1 }],
        series: [{ type: 'line', name: 'σ_k', xAxisIndex: 0, yAxisIndex: 0, showSymbol: false, color: '#6d6d6d',
                   data: c.singular_values.map((v, k) => [k + 1, Math.max(v, 1e-30)]) }]
          .concat(c.components.map((p, k) => ({ type: 'bar', name: 'k=' + (k + 1), xAxisIndex: 1, yAxisIndex: 1, data: p.v_position_weights })))
      });
    root.append(el('section', { class: 'card decoded-combined', id: prefix + '-combined-decoded' },
      el('h3', {}, 'Tokens combined: decoded singular vectors'),
      el('p', { class: 'caption' }, 'u_k decoded by the unembedding; v_k by the input embeddings at its heaviest position.'),
      table('combined', ['k', 'σ_k', 'heaviest position', 'u_k → output tokens', 'v_k → input tokens'], c.components.map((p, k) => {
        const w = p.v_position_weights, best = w.indexOf(Math.max(...w));
        return el('tr', {}, td(String(k + 1), true), td(fmt(p.sigma), true), td(toks[best] + ' (' + fmt(w[best], 3) + ')'),
          el('td', {}, chips(p.u_tokens, 'u')), el('td', {}, chips(p.v_tokens, 'v')));
      }))));
  }

  /** The analysis's sites of one key, in layer order. */
  const sitesOf = (L, key) => L.sites.filter(s => s.key === key).sort((a, b) => a.layer - b.layer);

  /** Figure 5: singular values of each site's cumulative tokens-combined J, one line per layer; a selector picks the key. */
  function layerSpectra(root, data, prefix) {
    const L = data.layers, keys = L.keys;
    const select = selector('key', 'site', keys);
    const option = key => {
      const sites = sitesOf(L, key), last = Math.max(1, sites.length - 1);
      return {
        animation: false,
        legend: { type: 'scroll', top: 0 },
        tooltip: { trigger: 'item', formatter: o => esc(o.seriesName) + '<br>σ_' + o.value[0] + ' = ' + fmt(o.value[1]) },
        grid: { left: 60, right: 30, top: 40, bottom: 45 },
        xAxis: { type: 'value', name: 'k', nameLocation: 'middle', nameGap: 26, min: 1, max: sites[0].cumulative.tokens_combined.singular_values.length },
        yAxis: { type: 'log', name: 'σ_k', axisLabel: { formatter: tick } },
        // early layers light, late layers dark
        series: sites.map((s, i) => ({ type: 'line', name: 'layer ' + s.layer, showSymbol: false,
          color: 'hsl(218, 70%, ' + Math.round(75 - 50 * i / last) + '%)',
          data: s.cumulative.tokens_combined.singular_values.map((v, k) => [k + 1, Math.max(v, 1e-30)]) }))
      };
    };
    const { chart } = figure(root, prefix + '-layer-spectra', 'Singular values by layer (paper figure 5)',
      'For each layer: all singular values of the cumulative Jacobian of the final-normed site vector at the last position '
      + 'w.r.t. all input embeddings, tokens combined. Log scale; lighter lines are earlier layers.', 400, option(keys[0]), select);
    select.addEventListener('change', () => chart.setOption(option(keys[Number(select.value)]), true));
  }

  /** Figure 6, left: stable rank of the cumulative tokens-combined J against depth, per key. */
  function layerStableRank(root, data, prefix) {
    const L = data.layers;
    figure(root, prefix + '-layer-stable-rank', 'Stable rank by depth (paper figure 6, left)',
      'Stable rank ‖J‖_F² / σ₁² of each site\'s cumulative tokens-combined Jacobian, against the layer.', 320, {
        animation: false,
        legend: { top: 0 },
        tooltip: { trigger: 'axis' },
        grid: { left: 60, right: 30, top: 36, bottom: 45 },
        xAxis: { type: 'value', name: 'layer', nameLocation: 'middle', nameGap: 26, minInterval: 1, min: 0, max: L.model.layers - 1 },
        yAxis: { type: 'value', name: 'stable rank' },
        series: L.keys.map(key => ({ type: 'line', name: key, color: KEY_COLOURS[key], symbolSize: 7,
          data: L.layers.map((l, i) => [l, L.stable_rank[key][i]]) }))
      });
  }

  /** Figure 6, right: how much of each leading u_k lies in the final layer's leading subspace. */
  function layerPaths(root, data, prefix) {
    const L = data.layers, keys = L.keys;
    const select = selector('key', 'site', keys);
    const option = key => {
      const sites = sitesOf(L, key).filter(s => s.projection_on_final), K = sites[0].projection_on_final.length;
      return {
        animation: false,
        color: PALETTE,
        legend: { top: 0 },
        tooltip: { trigger: 'axis' },
        grid: { left: 60, right: 30, top: 36, bottom: 45 },
        xAxis: { type: 'value', name: 'layer', nameLocation: 'middle', nameGap: 26, minInterval: 1, min: 0, max: L.model.layers - 1 },
        yAxis: { type: 'value', name: '‖U_finalᵀ u_k‖', min: 0, max: 1 },
        series: [...Array(K).keys()].map(k => ({ type: 'line', name: 'u_' + (k + 1), symbolSize: 7,
          data: sites.map(s => [s.layer, s.projection_on_final[k]]) }))
      };
    };
    const { chart } = figure(root, prefix + '-layer-paths', 'Path of the singular vectors (paper figure 6, right)',
      'Norm of the projection of each leading left singular vector u_k (cumulative, tokens combined) onto the span of the last layer\'s '
      + 'leading u\'s: 1 means it already points where the model ends up.', 320, option(keys[0]), select);
    select.addEventListener('change', () => chart.setOption(option(keys[Number(select.value)]), true));
  }

  /** Reconstruction errors of every site, and the decoded u tokens per layer and key. */
  function layerTables(root, data, prefix) {
    const L = data.layers, e = v => Number(v).toExponential(2);
    root.append(el('section', { class: 'card layer-errors', id: prefix + '-layer-errors' },
      el('h3', {}, 'Reconstruction per site'),
      el('p', { class: 'caption' }, 'Relative error of Σ_i J_i x_i (+ constant) against the final-normed site vector: cumulative J w.r.t. the input embeddings, layer-wise J w.r.t. the layer\'s input stream.'),
      table('errors', ['layer', 'key', 'hook', 'cumulative error', 'layer-wise error', 'stable rank (cum.)', 'stable rank (layer-wise)'],
        L.sites.map(s => el('tr', {}, td(String(s.layer), true), td(s.key), td(s.hook), td(e(s.cumulative.relative_error), true),
          td(e(s.layerwise.relative_error), true), td(fmt(s.cumulative.tokens_combined.stable_rank, 3), true),
          td(fmt(s.layerwise.tokens_combined.stable_rank, 3), true))))));
    const rows = [];
    for (const s of L.sites) s.cumulative.tokens_combined.components.forEach((c, k) => rows.push(el('tr', {},
      td(k === 0 ? String(s.layer) : '', true), td(k === 0 ? s.key : ''), td(String(k + 1), true), td(fmt(c.sigma), true),
      el('td', {}, chips(c.u_tokens, 'u')), el('td', {}, chips(s.layerwise.tokens_combined.components[k].u_tokens, 'u')))));
    root.append(el('section', { class: 'card layer-tokens', id: prefix + '-layer-tokens' },
      el('h3', {}, 'Decoded singular vectors by layer'),
      el('p', { class: 'caption' }, 'Top tokens of W_U u_k for the tokens-combined Jacobians: an exact logit lens per layer and site.'),
      table('layer-tokens', ['layer', 'key', 'k', 'σ_k (cum.)', 'u_k → tokens (cumulative)', 'u_k → tokens (layer-wise)'], rows)));
  }

  const signed = v => v >= 0 ? '#b2182b' : '#2166ac';

  /** The logit split over input positions, Σ_i w_tᵀ J_i x_i (+ the biases' constant) = logit. */
  function attributionByPosition(root, data, prefix) {
    const a = data.attribution.attribution;
    const labels = a.contributions.map(c => c.position + ': ' + quoted(c.token)), values = a.contributions.map(c => c.value);
    if (a.constant !== 0) { labels.push('constant (biases)'); values.push(a.constant); }
    const what = 'logit of ' + quoted(a.text) + (a.versus_text != null ? ' minus logit of ' + quoted(a.versus_text) : '');
    root.append(el('section', { class: 'card attribution-sum', id: prefix + '-attribution-sum' },
      el('h3', {}, 'Attribution of the ' + what),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Logit'), el('dd', { class: 'logit' }, fmt(a.logit, 7)),
        el('dt', {}, 'Σ contributions' + (a.constant !== 0 ? ' + constant' : '')), el('dd', { class: 'sum' }, fmt(a.sum, 7)),
        el('dt', {}, 'Relative error'), el('dd', {}, Number(a.relative_error).toExponential(2) + ' (' + data.attribution.precision + ')'))));
    figure(root, prefix + '-attribution', 'Attribution over the prompt\'s tokens',
      'Contribution w_tᵀ J_i x_i of each input position to the ' + what + '; red raises it, blue lowers it. '
      + 'They sum to ' + fmt(a.sum, 6) + ' against the logit ' + fmt(a.logit, 6) + '.', 360, {
        animation: false,
        grid: { left: 70, right: 30, top: 36, bottom: 80 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: p => esc(p[0].name) + ': ' + fmt(p[0].value) },
        xAxis: { type: 'category', data: labels, axisLabel: { rotate: 30, interval: 0 } },
        yAxis: { type: 'value', name: 'logit contribution' },
        series: [{ type: 'bar', data: values.map(v => ({ value: v, itemStyle: { color: signed(v) } })),
          label: { show: labels.length <= 24, position: 'top', formatter: o => fmt(o.value, 3) } }]
      });
  }

  /** The logit split by layer and branch (attention, MLP): each branch's total, its bias constant included. */
  function attributionByComponent(root, data, prefix) {
    const a = data.attribution.attribution, comps = a.components;
    const layers = [...new Set(comps.map(c => c.layer))].sort((x, y) => x - y);
    const series = ['attn', 'mlp'].map(key => ({ type: 'bar', name: key, color: KEY_COLOURS[key],
      data: layers.map(l => comps.find(c => c.layer === l && c.key === key).total) }));
    const withConstants = comps.some(c => c.constant !== 0);
    if (withConstants) series.push(...['attn', 'mlp'].map(key => ({ type: 'line', name: key + ' constant', showSymbol: true, symbolSize: 5,
      lineStyle: { type: 'dashed' }, data: layers.map(l => comps.find(c => c.layer === l && c.key === key).constant) })));
    figure(root, prefix + '-attribution-components', 'Attribution by layer and branch',
      'Each branch output at the last position is linear in the embeddings, so the logit splits exactly over (layer, attention or MLP), '
      + 'plus the embedding\'s direct path ' + fmt(a.embedding_direct, 4) + '.'
      + (withConstants ? ' Dashed: the part of each branch due to its biases (included in the bars).' : ''), 360, {
        animation: false,
        legend: { top: 0 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        grid: { left: 70, right: 30, top: 36, bottom: 45 },
        xAxis: { type: 'category', data: layers, name: 'layer', nameLocation: 'middle', nameGap: 26 },
        yAxis: { type: 'value', name: 'logit contribution' },
        series
      });
  }

  /** The steered continuations beside the plain one, by strength; tokens that differ from the plain one are marked. */
  function steering(root, data, prefix) {
    const r = data.steering, plain = r.unsteered.tokens;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Model', r.model.family + ' · d=' + r.model.hidden_size + ' · ' + r.model.layers + ' layers · ' + r.model.source.split('/').pop());
    fact('Source prompt', el('span', {}, quoted(r.source_prompt) + ' (' + r.source_tokens.length + ' tokens, predicts ',
      el('span', { class: 'token pred' }, r.source_prediction.text), ')'));
    if (r.formatted_prompt !== undefined) fact('Chat template', el('pre', { class: 'formatted-prompt' }, r.formatted_prompt));
    fact('Steered layer', String(r.layer) + ' (residual stream after it)');
    fact('λ', String(r.strength) + ((r.comparison || []).length ? ' (compared with ' + r.comparison.map(c => String(c.strength)).join(', ') + ')' : ''));
    fact('Target prompt', quoted(r.target_prompt));
    const line = (cls, label, toks) => el('div', { class: 'continuation ' + cls },
      el('div', { class: 'label' }, label),
      el('div', { class: 'tokens' }, el('span', { class: 'token prompt' }, r.target_prompt),
        ...toks.map((t, i) => el('span', { class: 'token' + (cls === 'unsteered' || plain[i] === t ? '' : ' differs'), title: 'generated token ' + (i + 1) }, t))));
    // every strength in order, the headline λ among them
    const rows = [{ strength: r.strength, tokens: r.steered.tokens, headline: true }, ...(r.comparison || [])]
      .sort((a, b) => a.strength - b.strength);
    root.append(el('section', { class: 'card steering', id: prefix + '-steering' },
      el('h3', {}, 'Steering with the source prompt\'s Jacobian'), facts,
      line('unsteered', 'unsteered', plain),
      ...rows.map(c => line(c.headline ? 'steered' : 'compare', 'λ = ' + c.strength, c.tokens)),
      el('p', { class: 'caption' }, 'Greedy continuations of the target prompt. Steered: Σ_k J_(k mod n) e_k, with J the source prompt\'s cumulative Jacobian at the steered layer, '
        + 'is added to the residual stream at every position, scaled to λ times its norm. Marked tokens differ from the unsteered continuation.')));
  }

  /** The logit lens: where the prediction appears across the layers, and each layer's top tokens. */
  function logitLens(root, data, prefix) {
    const r = data.logit_lens, pred = r.prediction.text;
    figure(root, prefix + '-logit-lens', 'Logit lens: the prediction across the layers',
      'Each layer\'s residual stream at the last position, through the final norm and the unembedding. Line: the probability of the '
      + 'model\'s prediction ' + quoted(pred) + ' at each layer; bars: the probability of that layer\'s own top token (hover for it). '
      + (r.last_layer_error === null || r.last_layer_error === undefined ? ''
        : 'At the last layer the lens is the model\'s output (relative error ' + Number(r.last_layer_error).toExponential(1) + ').'), 360, {
        animation: false,
        grid: { left: 60, right: 30, top: 30, bottom: 50 },
        legend: { top: 0 },
        tooltip: { trigger: 'axis', formatter: ps => {
          const l = r.layers[ps[0].dataIndex];
          return 'layer ' + l.layer + '<br>top: ' + esc(quoted(l.top[0].text)) + ' ' + pct(l.top[0].probability)
            + '<br>' + esc(quoted(pred)) + ': rank ' + l.predicted_rank + ', ' + pct(l.predicted_probability);
        } },
        xAxis: { type: 'category', name: 'layer', nameLocation: 'middle', nameGap: 28, data: r.layers.map(l => String(l.layer)) },
        yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: v => Math.round(100 * v) + '%' } },
        series: [
          { name: 'top token', type: 'bar', data: r.layers.map(l => l.top[0].probability), itemStyle: { color: '#c9d6ee' } },
          { name: quoted(pred), type: 'line', data: r.layers.map(l => l.predicted_probability), itemStyle: { color: '#2f6fd6' } }]
      });
    const head = el('tr', {}, el('th', {}, 'layer'), el('th', {}, 'top tokens'), el('th', {}, 'rank of ' + quoted(pred)));
    const rows = r.layers.map(l => el('tr', {}, el('td', {}, String(l.layer)),
      el('td', {}, ...l.top.map(c => el('span', { class: 'token', title: pct(c.probability) + ', logit ' + fmt(c.logit) }, c.text))),
      el('td', {}, String(l.predicted_rank))));
    root.append(el('section', { class: 'card logit-lens', id: prefix + '-logit-lens-table' },
      el('h3', {}, 'Top tokens by layer'), el('table', { class: 'decoded' }, el('thead', {}, head), el('tbody', {}, ...rows))));
  }

  /** A concept's logit split over positions and over layers, its spectral shares, and the baselines beside them. */
  function concept(root, data, prefix) {
    const r = data.concept, c = r.concept, a = r.attribution;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Concept', c.name + (c.description ? ' — ' + c.description : ''));
    if (c.source) fact('Source', c.source);
    fact('Tokens', c.tokens + (c.versus_tokens ? ' versus ' + c.versus_tokens : '') + ' (words with no single-token form: ' + c.multi_token_words.length + ')');
    fact('Concept logit wᵀy', fmt(r.logit, 6) + (c.versus_tokens ? ' (its tokens\' mean logit over the versus tokens\')' : ' (its tokens\' mean logit over the vocabulary\'s)'));
    fact('Exactness', 'Σ positions + constant off by ' + Number(a.relative_error).toExponential(1) + ', Σ components by '
      + Number(a.components_relative_error).toExponential(1) + ' (' + r.precision + ')');
    if (r.spectral) fact('Spectral share (top ' + r.spectral.k + ')', 'last position ' + fmt(r.spectral.last_position.share, 3)
      + (r.spectral.tokens_combined ? ', tokens combined ' + fmt(r.spectral.tokens_combined.share, 3) : '')
      + ' (chance ' + fmt(r.spectral.chance, 3) + ', subspace rank ' + c.rank + ')');
    fact('Baselines', 'probability of its tokens ' + fmt(r.baselines.probability, 3)
      + (r.baselines.versus_probability != null ? ' (versus ' + fmt(r.baselines.versus_probability, 3) + ')' : '')
      + '; gradient × input sums to ' + fmt(r.baselines.grad_x_input_sum, 4));
    root.append(el('section', { class: 'card concept', id: prefix + '-concept-facts' }, el('h3', {}, 'Concept ' + c.name), facts));
    const labels = a.positions.map(p => p.position + ': ' + quoted(p.token));
    figure(root, prefix + '-concept-positions', 'The concept logit over the prompt\'s tokens',
      'Bars: the exact contribution wᵀJ_i x_i of each position (they sum, with the biases\' constant ' + fmt(a.constant, 3)
      + ', to the concept logit). Dots: gradient × input of the ordinary Jacobian, the baseline, which need not sum to it.', 360, {
        animation: false, legend: { top: 0 },
        grid: { left: 70, right: 30, top: 36, bottom: 80 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'category', data: labels, axisLabel: { rotate: 30, interval: 0 } },
        yAxis: { type: 'value', name: 'concept logit' },
        series: [
          { name: 'exact (detached J)', type: 'bar', data: a.positions.map(p => ({ value: p.value, itemStyle: { color: signed(p.value) } })) },
          { name: 'gradient × input', type: 'scatter', symbolSize: 8, data: r.baselines.grad_x_input, itemStyle: { color: '#333' } }]
      });
    const layers = a.layers.map(l => String(l.layer));
    const series = [
      { name: 'attn', type: 'bar', stack: 'x', color: KEY_COLOURS.attn, data: a.layers.map(l => l.attn) },
      { name: 'mlp', type: 'bar', stack: 'x', color: KEY_COLOURS.mlp, data: a.layers.map(l => l.mlp) },
      { name: 'logit lens (baseline)', type: 'line', data: r.baselines.logit_lens, itemStyle: { color: '#555' } }];
    if (r.spectral && r.spectral.layer_shares) series.push({ name: 'spectral share', type: 'line', yAxisIndex: 1,
      data: r.spectral.layer_shares, lineStyle: { type: 'dashed' }, itemStyle: { color: '#2f6fd6' } });
    figure(root, prefix + '-concept-layers', 'The concept by layer',
      'Bars: each layer\'s attention and MLP output at the last position read by the concept (exact; with the embedding\'s direct path '
      + fmt(a.embedding_direct, 3) + ' they sum to the concept logit). Line: the logit lens, the concept read from the residual stream after each layer.'
      + (r.spectral && r.spectral.layer_shares ? ' Dashed (right axis): the spectral share of each layer\'s cumulative Jacobian'
        + (r.spectral.emergence_layer != null ? '; it reaches ' + Math.round(100 * r.spectral.fraction) + '% of the final share at layer ' + r.spectral.emergence_layer : '') + '.' : ''), 360, {
        animation: false, legend: { top: 0 },
        grid: { left: 70, right: 60, top: 36, bottom: 45 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'category', data: layers, name: 'layer', nameLocation: 'middle', nameGap: 26 },
        yAxis: [{ type: 'value', name: 'concept logit' }, { type: 'value', name: 'share', min: 0, show: !!(r.spectral && r.spectral.layer_shares) }],
        series
      });
  }

  /** decompose --concept: the concept logit over the positions, and its shares of the decomposition's own spectra. */
  function decompositionConcept(root, data, prefix) {
    const r = data.decomposition.concept, c = r.concept;
    const share = s => fmt(s.share, 3) + ' (top ' + s.u_shares.length + '; u₁ ' + fmt(s.u_shares[0], 3) + ')';
    figure(root, prefix + '-decompose-concept', 'Concept ' + c.name + ': its logit over the prompt\'s tokens',
      'wᵀy = ' + fmt(r.logit, 5) + ' (' + (c.versus_tokens ? 'its tokens\' mean logit over the versus tokens\'' : 'its tokens\' mean logit over the vocabulary\'s')
      + '), split exactly: bars wᵀJ_i x_i' + (r.constant ? ', plus the biases\' constant ' + fmt(r.constant, 3) : '') + ' (off by '
      + Number(r.relative_error).toExponential(1) + '). Share of the top singular subspace in the concept\'s: last position ' + share(r.last_position)
      + ', tokens combined ' + share(r.tokens_combined) + '; chance ' + fmt(c.chance, 3) + '.', 320, {
        animation: false,
        grid: { left: 70, right: 30, top: 20, bottom: 80 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'category', data: r.positions.map(p => p.position + ': ' + quoted(p.token)), axisLabel: { rotate: 30, interval: 0 } },
        yAxis: { type: 'value', name: 'concept logit' },
        series: [{ name: 'exact (detached J)', type: 'bar', data: r.positions.map(p => ({ value: p.value, itemStyle: { color: signed(p.value) } })) }]
      });
  }

  /** layers --concept: the concept's logit at every site, and its share of each site's tokens-combined spectra. */
  function layerConcept(root, data, prefix) {
    const L = data.layers, c = L.concept, keys = L.keys;
    const at = (key, f) => L.layers.map(l => { const s = L.sites.find(x => x.layer === l && x.key === key); return s ? [l, f(s.concept)] : null; }).filter(Boolean);
    const series = [];
    for (const key of keys) {
      series.push({ name: key + ' logit', type: 'line', color: KEY_COLOURS[key], data: at(key, x => x.logit) });
      series.push({ name: key + ' share', type: 'line', yAxisIndex: 1, color: KEY_COLOURS[key], lineStyle: { type: 'dashed' }, data: at(key, x => x.cumulative_combined) });
    }
    figure(root, prefix + '-layers-concept', 'Concept ' + c.name + ' by layer',
      'Solid: the concept logit wᵀ of each site\'s final-normed output (an exact logit lens of the concept). Dashed (right axis): the share of the site\'s '
      + 'cumulative Jacobian\'s top singular subspace, tokens combined, in the concept\'s subspace (chance ' + fmt(c.chance, 3) + ').', 360, {
        animation: false, legend: { top: 0 },
        grid: { left: 70, right: 60, top: 40, bottom: 45 },
        tooltip: { trigger: 'axis' },
        xAxis: { type: 'value', name: 'layer', nameLocation: 'middle', nameGap: 26, minInterval: 1, min: 0, max: L.model.layers - 1 },
        yAxis: [{ type: 'value', name: 'concept logit' }, { type: 'value', name: 'share', min: 0, max: 1 }],
        series
      });
  }

  // ------------------------------------------------------------------ concept evaluation (linlens concepts evaluate --report)

  /** Equal-width bins over both labels' scores: counts of each. */
  function bins(pos, neg, count) {
    const all = pos.concat(neg).map(Number).filter(Number.isFinite);
    const lo = Math.min(...all), hi = Math.max(...all), w = (hi - lo) / count || 1;
    const at = v => Math.min(count - 1, Math.max(0, Math.floor((v - lo) / w)));
    const p = Array(count).fill(0), n = Array(count).fill(0);
    pos.forEach(v => p[at(v)]++);
    neg.forEach(v => n[at(v)]++);
    return { labels: p.map((_, i) => fmt(lo + (i + 0.5) * w, 3)), p, n };
  }

  /** The evaluation's toxicity tasks (ROC curves, scores by label, layer profiles, flagged prompts) and bias sets. */
  function conceptEvaluation(root, data, prefix) {
    const E = data.concept_evaluation, o = E.options;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Model', E.model.split('/').pop());
    fact('Run', 'at most ' + o.items + ' items per set · seed ' + o.seed + ' · top-' + o.k + ' spectral shares · ' + o.resamples
      + ' bootstrap resamples · ' + Math.round(E.seconds) + ' s');
    fact('Method', 'variants chosen on a seeded development third, figures and tables on the other two thirds (the test items)');
    root.append(el('section', { class: 'card concept-evaluation', id: prefix + '-ce-facts' }, el('h3', {}, 'Concept evaluation'), facts));
    E.toxicity.forEach((t, ti) => {
      const id = prefix + '-ce-' + ti, F = t.figures;
      root.append(el('h2', { class: 'task' }, t.name + ': ' + t.positives + ' against ' + t.negatives));
      const auc = r => Number.isFinite(Number(r.auroc.value)) ? fmt(r.auroc.value, 3) : 'n/a';
      figure(root, id + '-roc', 'ROC curves: ' + t.name,
        'Each method\'s chosen variant on the ' + t.testItems + ' test items (' + t.rows.map(r => r.method + ' AUROC ' + auc(r)).join('; ')
        + '). Dashed: chance.', 380, {
          animation: false, legend: { type: 'scroll', top: 0 },
          tooltip: { trigger: 'item', formatter: p => esc(p.seriesName) + '<br>FPR ' + fmt(p.value[0], 3) + ', TPR ' + fmt(p.value[1], 3) },
          grid: { left: 60, right: 30, top: 50, bottom: 45 },
          xAxis: { type: 'value', name: 'false-positive rate', nameLocation: 'middle', nameGap: 26, min: 0, max: 1 },
          yAxis: { type: 'value', name: 'true-positive rate', min: 0, max: 1 },
          series: F.methods.map(m => ({ name: m.method, type: 'line', showSymbol: false, data: m.roc }))
            .concat([{ name: 'chance', type: 'line', showSymbol: false, data: [[0, 0], [1, 1]], lineStyle: { type: 'dashed', color: '#999' }, itemStyle: { color: '#999' } }])
        });
      const select = selector('method', 'method', F.methods.map(m => m.method));
      const option = i => {
        const m = F.methods[i], b = bins(m.positives, m.negatives, 12);
        return {
          animation: false, legend: { top: 0 },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          grid: { left: 50, right: 30, top: 36, bottom: 60 },
          xAxis: { type: 'category', data: b.labels, name: m.variant, nameLocation: 'middle', nameGap: 40, axisLabel: { rotate: 30 } },
          yAxis: { type: 'value', name: 'prompts', minInterval: 1 },
          series: [{ name: 'positive (' + m.positives.length + ')', type: 'bar', data: b.p, itemStyle: { color: '#b2182b' } },
            { name: 'negative (' + m.negatives.length + ')', type: 'bar', data: b.n, itemStyle: { color: '#2166ac' } }]
        };
      };
      const { chart } = figure(root, id + '-scores', 'Scores by label: ' + t.name,
        'The chosen variant\'s scores of the test items, positives against negatives; the selector picks the method.', 320, option(0), select);
      select.addEventListener('change', () => chart.setOption(option(Number(select.value)), true));
      const layers = F.positives.attn.map((_, l) => String(l));
      const sum = p => p.attn.map((a, l) => a + p.mlp[l]);
      figure(root, id + '-layers', 'Layer profile: ' + t.name,
        'Means over each label\'s prompts: bars, each layer\'s attention plus MLP output read by the concept at the last position (exact; '
        + 'with the embedding\'s direct path they sum to the concept logit); lines, the logit lens of the concept after each layer.', 340, {
          animation: false, legend: { top: 0 },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          grid: { left: 60, right: 30, top: 36, bottom: 45 },
          xAxis: { type: 'category', data: layers, name: 'layer', nameLocation: 'middle', nameGap: 26 },
          yAxis: { type: 'value', name: 'concept logit' },
          series: [
            { name: 'positives: attn + mlp (' + F.positives.prompts + ')', type: 'bar', data: sum(F.positives), itemStyle: { color: '#b2182b' } },
            { name: 'negatives: attn + mlp (' + F.negatives.prompts + ')', type: 'bar', data: sum(F.negatives), itemStyle: { color: '#2166ac' } },
            { name: 'positives: logit lens', type: 'line', data: F.positives.lens, itemStyle: { color: '#b2182b' }, lineStyle: { type: 'dashed' } },
            { name: 'negatives: logit lens', type: 'line', data: F.negatives.lens, itemStyle: { color: '#2166ac' }, lineStyle: { type: 'dashed' } }]
        });
      const chips = toks => el('span', {}, ...toks.map(x => el('span', { class: 'token' }, quoted(x))));
      const rows = F.flagged.map(f => el('tr', { class: f.positive ? 'positive' : 'negative' },
        td(f.prompt), td(f.positive ? 'positive' : 'negative'), td(fmt(f.score, 4), true),
        el('td', {}, ...f.positions.slice(0, 3).map(p => el('span', { class: 'token', title: 'position ' + p.position }, quoted(p.token) + ' ' + fmt(p.value, 3)))),
        el('td', {}, f.lastPositionU.length ? chips(f.lastPositionU[0]) : ''),
        el('td', {}, f.combinedU.length ? chips(f.combinedU[0]) : ''),
        td(fmt(f.lastPositionShare, 3) + ' / ' + fmt(f.combinedShare, 3), true)));
      root.append(el('section', { class: 'card flagged', id: id + '-flagged' }, el('h3', {}, 'Most flagged test prompts: ' + t.name),
        el('p', { class: 'caption' }, 'The test items with the highest ' + (F.flagged.length ? F.flagged[0].variant : 'exact score')
          + ': the positions that drive it (exact contributions wᵀJ_i x_i, largest first, BOS left out) and the decoded first singular vector u₁ '
          + 'of the detached Jacobian at the last position and tokens combined, with the concept\'s share of each top subspace.'),
        table('flagged', ['prompt', 'label', 'score', 'top positions', 'u₁ last position', 'u₁ tokens combined', 'share last / combined'], rows)));
    });
    E.bias.forEach((b, bi) => {
      const id = prefix + '-ce-bias-' + bi, L = b.attnByLayer.length;
      root.append(el('h2', { class: 'task' }, b.name + ': stereotype score ' + fmt(b.stereotypeScore.value, 3)
        + ' [' + fmt(b.stereotypeScore.low, 3) + ', ' + fmt(b.stereotypeScore.high, 3) + '] over ' + b.items + ' items'));
      figure(root, id + '-layers', 'Where the stereotype difference comes from, by layer: ' + b.name,
        'Mean over the items of the logit difference (stereotypical word over the other) read from each layer\'s attention and MLP output at the '
        + 'last position (exact; with the embedding\'s direct path ' + fmt(b.embeddingDirect, 3) + ' they sum to the mean difference '
        + fmt(b.meanDifference.value, 3) + '); line, the logit lens.', 320, {
          animation: false, legend: { top: 0 },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          grid: { left: 60, right: 30, top: 36, bottom: 45 },
          xAxis: { type: 'category', data: Array.from({ length: L }, (_, l) => String(l)), name: 'layer', nameLocation: 'middle', nameGap: 26 },
          yAxis: { type: 'value', name: 'logit difference' },
          series: [
            { name: 'attn', type: 'bar', stack: 'x', color: KEY_COLOURS.attn, data: b.attnByLayer },
            { name: 'mlp', type: 'bar', stack: 'x', color: KEY_COLOURS.mlp, data: b.mlpByLayer },
            { name: 'logit lens (baseline)', type: 'line', data: b.lensByLayer, itemStyle: { color: '#555' } }]
        });
      const back = b.byPositionFromEnd.map((_, i) => i === 0 ? 'last token' : i === b.byPositionFromEnd.length - 1 ? 'earlier' : i + ' before');
      figure(root, id + '-positions', 'Where it comes from, by position: ' + b.name,
        'Mean exact contribution of the positions counted back from the last token (BOS apart: ' + fmt(b.bosShare, 3)
        + '), beside gradient × input of the ordinary Jacobian, which need not sum to the difference.', 280, {
          animation: false, legend: { top: 0 },
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          grid: { left: 60, right: 30, top: 36, bottom: 45 },
          xAxis: { type: 'category', data: back },
          yAxis: { type: 'value', name: 'logit difference' },
          series: [{ name: 'exact (detached J)', type: 'bar', data: b.byPositionFromEnd, itemStyle: { color: '#2f6fd6' } },
            { name: 'gradient × input', type: 'bar', data: b.gradByPositionFromEnd, itemStyle: { color: '#999' } }]
        });
    });
  }

  // ------------------------------------------------------------------ scan reports (linlens scan-report)

  const sci = v => v === null || v === undefined ? '' : (v === 0 ? '0' : Number(v).toExponential(2));

  /** The scan's model, dataset and counts. */
  function scanSummary(root, data) {
    const s = data.scan.summary;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Model', (s.model || '?') + (s.modelPath ? ' (' + s.modelPath + ')' : ''));
    fact('Dataset', (s.dataset || '?') + (s.datasetRows !== null ? ' · ' + s.datasetRows + ' rows' : '') + (s.datasetPath ? ' (' + s.datasetPath + ')' : ''));
    fact('Analyses', s.analyses.join(', ') + (s.k !== null ? ' · k = ' + s.k : ''));
    fact('Prompts', String(s.prompts) + ' scanned · ' + s.analysed + ' analysed · ' + s.errors + ' with an error');
    if (s.medianRowMs !== null) fact('Time', 'median ' + (s.medianRowMs / 1000).toFixed(2) + ' s a prompt · ' + Number(s.totalRowS).toFixed(0) + ' s in all');
    if (s.created) fact('Scan started', s.created);
    const section = el('section', { class: 'card scan-summary', id: 'scan-summary' }, el('h3', {}, 'Scan'), facts);
    if (s.errorKinds.length) section.append(el('p', { class: 'caption' }, 'Errors, the most frequent first:'),
      table('scan-errors', ['error', 'rows'], s.errorKinds.map(c => el('tr', {}, td(c.text), td(String(c.n), true)))));
    root.append(section);
  }

  /** One bar chart per distribution: log bins for the errors, integer bins for layers and lengths. */
  function scanHistograms(root, data, prefix) {
    for (const h of data.scan.histograms) {
      const label = b => h.log ? tick(b.lo) + '–' + tick(b.hi) : (b.lo === b.hi ? String(b.lo) : b.lo + '–' + b.hi);
      const apart = [];
      if (h.zeros) apart.push(h.zeros + ' exactly 0');
      if (h.nonFinite) apart.push(h.nonFinite + ' not finite');
      if (h.missing) apart.push(h.missing + (h.column === 'first_prediction_layer' ? ' where no layer gives the prediction' : ' without a value'));
      const stats = h.values ? ' Min ' + (h.log ? sci(h.min) : fmt(h.min, 4)) + ', median ' + (h.log ? sci(h.median) : fmt(h.median, 4))
        + ', max ' + (h.log ? sci(h.max) : fmt(h.max, 4)) + ' over ' + h.values + ' prompts' + (apart.length ? ' (not in the bars: ' + apart.join(', ') + ')' : '') + '.'
        : ' No values' + (apart.length ? ' (' + apart.join(', ') + ')' : '') + '.';
      figure(root, prefix + '-hist-' + h.column, h.title, h.caption + stats, 280, {
        animation: false,
        grid: { left: 60, right: 30, top: 20, bottom: 60 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'category', data: h.bins.map(label), name: h.column, nameLocation: 'middle', nameGap: 40, axisLabel: { rotate: h.log ? 30 : 0 } },
        yAxis: { type: 'value', name: 'prompts', minInterval: 1 },
        series: [{ type: 'bar', data: h.bins.map(b => b.n), itemStyle: { color: '#2f6fd6' }, barCategoryGap: '8%' }]
      });
    }
  }

  /** σ_k/σ_1 against k: the median over the prompts and the band between the quartiles. */
  function scanSpectra(root, data, prefix) {
    for (const d of data.scan.spectra) {
      if (!d.ratios.length) continue;
      const ks = d.ratios.map(r => r.k), floor = v => Math.max(v, 1e-12);
      figure(root, prefix + '-decay-' + d.column, 'Singular-value decay: ' + d.title,
        'σ_k / σ_1 of the matrix-free top-' + ks.length + ' (' + d.column + ') over ' + d.prompts + ' prompts: the median, and the band from the '
        + 'lower to the upper quartile. A fast drop means a few directions carry the map from the prompt to the output. Log scale.', 320, {
          animation: false,
          legend: { top: 0 },
          tooltip: { trigger: 'axis' },
          grid: { left: 60, right: 30, top: 36, bottom: 45 },
          xAxis: { type: 'category', data: ks, name: 'k', nameLocation: 'middle', nameGap: 26 },
          yAxis: { type: 'log', name: 'σ_k / σ_1', axisLabel: { formatter: tick } },
          series: [
            { type: 'line', name: 'lower quartile', data: d.ratios.map(r => floor(r.q1)), lineStyle: { type: 'dashed', color: '#8fb0e8' }, itemStyle: { color: '#8fb0e8' }, showSymbol: false },
            { type: 'line', name: 'median', data: d.ratios.map(r => floor(r.median)), itemStyle: { color: '#2f6fd6' } },
            { type: 'line', name: 'upper quartile', data: d.ratios.map(r => floor(r.q3)), lineStyle: { type: 'dashed', color: '#8fb0e8' }, itemStyle: { color: '#8fb0e8' }, showSymbol: false }]
        });
    }
  }

  /** The most frequent decoded tokens, one table per column, side by side. */
  function scanConcepts(root, data) {
    const grid = el('div', { class: 'concept-grid' });
    for (const c of data.scan.concepts)
      grid.append(el('div', { class: 'concepts', 'data-column': c.column }, el('h4', {}, c.title),
        el('p', { class: 'caption' }, c.caption + ' Of ' + c.prompts + ' prompts.'),
        table('concepts', ['token', 'prompts'], c.top.map(t => el('tr', {}, el('td', {}, el('span', { class: 'token' }, quoted(t.text))), td(String(t.n), true))))));
    root.append(el('section', { class: 'card scan-concepts', id: 'scan-concepts' }, el('h3', {}, 'Most frequent tokens'), grid));
  }

  /** Copies text, or selects it where the page may not use the clipboard (file pages in some browsers). */
  function copyText(text, node) {
    const select = () => { const r = document.createRange(); r.selectNodeContents(node); const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).catch(select); else select();
  }

  /** The prompts: search, sort by any column, pages of 100; each row opens its decompose command line. */
  function scanPrompts(root, data) {
    const P = data.scan.prompts, PAGE = 100;
    const cols = [
      { key: 'index', head: 'row', num: true },
      { key: 'prompt', head: 'prompt' },
      { key: 'prediction', head: 'prediction' },
      { key: 'p', head: 'p', num: true },
      { key: 'tokens', head: 'tokens', num: true },
      ...P.errorColumns.map(c => ({ key: c === 'attribution_error' ? 'attributionError' : 'reconstructionError', head: c.replace('_', ' '), num: true })),
      { key: 'error', head: 'error' }];
    let sortKey = 'index', ascending = true, page = 0, open = null;
    const search = el('input', { type: 'search', class: 'scan-search', placeholder: 'search prompts, predictions, errors', 'aria-label': 'search the prompts' });
    const count = el('span', { class: 'caption scan-count' });
    const body = el('tbody', {});
    const pager = el('div', { class: 'pager' });
    const heads = cols.map(c => el('th', { 'data-key': c.key, class: 'sortable', title: 'sort by ' + c.head }, c.head));
    const cell = (r, c) => {
      const v = r[c.key];
      if (v === null || v === undefined) return td('');
      if (c.key === 'prompt') return td(v + (r.cut ? ' … (' + r.promptChars + ' characters)' : ''));
      if (c.key === 'prediction') return el('td', {}, el('span', { class: 'token pred' }, quoted(v)));
      if (c.key === 'p') return td(fmt(v, 3), true);
      if (c.num && c.key !== 'index' && c.key !== 'tokens') return td(sci(v), true);
      return td(String(v), c.num);
    };
    const detail = r => {
      const code = el('pre', { class: 'command' }, r.command || '');
      const what = r.command
        ? [el('p', { class: 'caption' }, 'Decompose this prompt alone (writes row-' + r.index + '.html):'), code,
           el('button', { type: 'button', class: 'copy', onclick: () => copyText(r.command, code) }, 'Copy')]
        : [el('p', { class: 'caption' }, r.prompt === null ? 'This row has no prompt.'
          : 'The prompt has ' + r.promptChars + ' characters, more than the report keeps: read it with linlens query "SELECT prompt FROM results WHERE row_index = ' + r.index + '".')];
      return el('tr', { class: 'detail' }, el('td', { colspan: String(cols.length) }, ...what));
    };
    const matching = () => {
      const q = search.value.trim().toLowerCase();
      const rows = q ? P.rows.filter(r => [r.prompt, r.prediction, r.error, String(r.index)].some(v => v !== null && String(v).toLowerCase().includes(q))) : P.rows.slice();
      const key = sortKey, sign = ascending ? 1 : -1;
      rows.sort((a, b) => {
        const x = a[key], y = b[key];
        if (x === y) return a.index - b.index;
        if (x === null || x === undefined) return 1;   // empty cells last either way
        if (y === null || y === undefined) return -1;
        return sign * (typeof x === 'number' ? x - y : String(x).localeCompare(String(y)));
      });
      return rows;
    };
    const draw = () => {
      const rows = matching(), pages = Math.max(1, Math.ceil(rows.length / PAGE));
      page = Math.min(page, pages - 1);
      body.replaceChildren();
      for (const r of rows.slice(page * PAGE, (page + 1) * PAGE)) {
        const tr = el('tr', { class: 'prompt-row' + (r.error ? ' failed' : ''), id: 'scan-row-' + r.index, tabindex: '0', title: 'show the decompose command' },
          ...cols.map(c => cell(r, c)));
        const toggle = () => { open = open === r.index ? null : r.index; draw(); };
        tr.addEventListener('click', toggle);
        tr.addEventListener('keydown', e => { if (e.key === 'Enter') toggle(); });
        body.append(tr);
        if (open === r.index) body.append(detail(r));
      }
      count.textContent = rows.length + ' of ' + P.shown + ' rows' + (P.shown < P.total ? ' (the first ' + P.shown + ' of ' + P.total + ' by row index)' : '');
      heads.forEach(h => h.setAttribute('aria-sort', h.dataset.key === sortKey ? (ascending ? 'ascending' : 'descending') : 'none'));
      pager.replaceChildren(
        el('button', { type: 'button', class: 'prev', onclick: () => { page--; draw(); } }, '‹'),
        el('span', {}, ' page ' + (page + 1) + ' of ' + pages + ' '),
        el('button', { type: 'button', class: 'next', onclick: () => { page++; draw(); } }, '›'));
      pager.firstChild.disabled = page === 0;
      pager.lastChild.disabled = page >= pages - 1;
    };
    heads.forEach(h => h.addEventListener('click', () => {
      if (sortKey === h.dataset.key) ascending = !ascending; else { sortKey = h.dataset.key; ascending = true; }
      draw();
    }));
    search.addEventListener('input', () => { page = 0; draw(); });
    root.append(el('section', { class: 'card scan-prompts', id: 'scan-prompts' }, el('h3', {}, 'Prompts'),
      el('p', { class: 'caption' }, 'Click a row for the command line that decomposes its prompt alone (full figures, its own report). Click a heading to sort.'),
      el('div', { class: 'scan-tools' }, search, count),
      el('table', { class: 'decoded scan-table' }, el('thead', {}, el('tr', {}, ...heads)), body), pager));
    draw();
  }

  /** In drawing order: the keys a section needs, and how it draws. */
  const SECTIONS = [
    { needs: promptResult, draw: summary },
    { needs: promptResult, draw: prediction },
    { needs: d => d.reconstruction, draw: reconstruction },
    { needs: d => d.jacobians, draw: jacobians },
    { needs: d => d.decomposition, draw: spectra },
    { needs: d => d.decomposition && d.decomposition.svd_combined, draw: combinedSpectrum },
    { needs: d => d.layers, draw: layerSpectra },
    { needs: d => d.layers, draw: layerStableRank },
    { needs: d => d.layers && d.layers.sites.some(s => s.projection_on_final), draw: layerPaths },
    { needs: d => d.layers, draw: layerTables },
    { needs: d => d.attribution, draw: attributionByPosition },
    { needs: d => d.attribution && d.attribution.attribution.components, draw: attributionByComponent },
    { needs: d => d.steering, draw: steering },
    { needs: d => d.logit_lens, draw: logitLens },
    { needs: d => d.concept, draw: concept },
    { needs: d => d.decomposition && d.decomposition.concept, draw: decompositionConcept },
    { needs: d => d.layers && d.layers.concept, draw: layerConcept },
    { needs: d => d.concept_evaluation, draw: conceptEvaluation },
    { needs: d => d.scan, draw: scanSummary },
    { needs: d => d.scan && d.scan.histograms.length, draw: scanHistograms },
    { needs: d => d.scan && d.scan.spectra.length, draw: scanSpectra },
    { needs: d => d.scan && d.scan.concepts.length, draw: scanConcepts },
    { needs: d => d.scan, draw: scanPrompts },
  ];

  /** Draws every section the data has into root (replacing what was there); ids start with prefix. */
  LinLens.render = function (root, data, prefix) {
    for (const id of Object.keys(LinLens.charts))
      if (id.startsWith(prefix + '-')) { LinLens.charts[id].dispose(); delete LinLens.charts[id]; }
    root.replaceChildren();
    for (const s of SECTIONS) if (s.needs(data)) s.draw(root, data, prefix);
  };

  window.addEventListener('resize', () => Object.values(LinLens.charts).forEach(c => c.resize()));
})();
