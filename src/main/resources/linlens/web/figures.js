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
  const pct = p => (100 * p).toFixed(p < 0.001 ? 3 : 1) + '%';
  /** A token as text you can see: quotes keep leading spaces visible. */
  const quoted = t => JSON.stringify(t);

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

  /** The prompt, its tokens, the prediction and the reconstruction check. */
  function summary(root, data) {
    const r = data.decomposition || data.forward;
    const m = r.model;
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Model', m.family + ' · d=' + m.hidden_size + ' · ' + m.layers + ' layers · vocab ' + m.vocab_size + ' · ' + m.source.split('/').pop());
    fact('Prompt', quoted(r.prompt) + ' (' + r.tokens.length + ' tokens)');
    const p = r.prediction;
    fact('Prediction', el('span', {}, el('span', { class: 'token pred' }, p.text), ' p=' + fmt(p.probability, 3) + ', logit ' + fmt(p.logit)));
    if (data.decomposition) {
      const rc = data.decomposition.reconstruction;
      fact('Reconstruction', '‖Σ J_i x_i − y‖ / ‖y‖ = ' + Number(rc.relative_error).toExponential(2) + ' (' + rc.precision + ', MLP path ' + rc.mlp_path + ')');
    }
    root.append(el('section', { class: 'card summary' }, el('h3', {}, 'Prompt and prediction'),
      el('div', { class: 'tokens prompt-tokens' }, ...r.tokens.map((t, i) => el('span', { class: 'token', title: 'position ' + i + ', id ' + t.id }, t.text))),
      facts));
  }

  function prediction(root, data, prefix) {
    const top = (data.decomposition || data.forward).prediction.top.slice().reverse();
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
        tooltip: { trigger: 'item', formatter: o => o.seriesName + '<br>coordinate ' + o.dataIndex + '<br>y = ' + fmt(o.value[0]) + '<br>Σ J x = ' + fmt(o.value[1]) },
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
                { text: 'singular values', left: '76%', top: 0, textStyle: { fontSize: 12 } }],
        tooltip: { formatter: o => o.seriesType === 'heatmap'
          ? 'output ' + o.value[1] * J.block + ', input ' + o.value[0] * J.block + (J.block > 1 ? ' (block of ' + J.block + ')' : '') + '<br>J = ' + fmt(o.value[2])
          : 'σ_' + (o.dataIndex + 1) + ' = ' + fmt(o.value[1]) },
        grid: [{ left: 50, top: 30, bottom: 40, width: '58%' }, { left: '76%', right: 20, top: 30, height: '45%' }],
        xAxis: [{ gridIndex: 0, type: 'category', data: [...Array(side).keys()], name: 'input feature', nameLocation: 'middle', nameGap: 25, axisLabel: { formatter: v => v * J.block, interval: Math.ceil(side / 8) - 1 } },
                { gridIndex: 1, type: 'value', name: 'k', min: 1, max: sv.length || 1 }],
        yAxis: [{ gridIndex: 0, type: 'category', inverse: true, data: [...Array(side).keys()], name: 'output feature', axisLabel: { formatter: v => v * J.block, interval: Math.ceil(side / 8) - 1 } },
                { gridIndex: 1, type: 'log', name: 'σ_k', axisLabel: { formatter: v => fmt(v, 2) } }],
        visualMap: { min: -lim, max: lim, calculable: true, orient: 'horizontal', left: 'right', bottom: 0, seriesIndex: 0,
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
        yAxis: { type: 'log', name: 'σ_k', axisLabel: { formatter: v => fmt(v, 2) } },
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

  /** In drawing order: the keys a section needs, and how it draws. */
  const SECTIONS = [
    { needs: d => d.decomposition || d.forward, draw: summary },
    { needs: d => d.decomposition || d.forward, draw: prediction },
    { needs: d => d.reconstruction, draw: reconstruction },
    { needs: d => d.jacobians, draw: jacobians },
    { needs: d => d.decomposition, draw: spectra },
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
