// The self-contained HTML reports in chromium: offline, every figure drawn, PNG and SVG export;
// for decompose and for the layers, attribute and steer analyses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { browser, linlens, figureState, SCREENSHOTS } from './lib.mjs';

const PROMPT = 'The bridge out of Marin is the';
let dir, report, result, chromium;
/** The analyses' reports and results, by command. */
const analyses = {};

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'linlens-report-'));
  report = path.join(dir, 'report.html');
  const json = path.join(dir, 'result.json');
  await linlens(['decompose', '--quiet', '--prompt', PROMPT, '--components', '4', '--top', '5', '--nonlinear', '--json', json, '--report', report]);
  result = JSON.parse(readFileSync(json, 'utf8'));
  const runs = {
    // a short prompt and two layers: every site is one reverse sweep of d cotangents
    layers: ['--prompt', 'The Golden Gate', '--layers', '8,17', '--components', '3', '--top', '4', '--concept', 'gender'],
    // the same decomposition reading a concept (the main report above has none)
    decompose: ['--prompt', 'The nurse said that', '--components', '3', '--top', '3', '--concept', 'gender'],
    attribute: ['--prompt', PROMPT, '--by-component'],
    steer: ['--prompt', 'The Golden Gate Bridge', '--target', 'I went for a walk to the', '--tokens', '6', '--strength', '0.8'],
    concept: ['--prompt', 'You stupid', '--concept', 'profanity', '--k', '2'],
  };
  for (const [cmd, args] of Object.entries(runs)) {
    const file = path.join(dir, cmd + '.html'), out = path.join(dir, cmd + '.json');
    await linlens([cmd, '--quiet', ...args, '--json', out, '--report', file]);
    analyses[cmd] = { file, result: JSON.parse(readFileSync(out, 'utf8')) };
  }
  chromium = await browser();
});

after(async () => { if (chromium) await chromium.close(); });

async function openOffline(file = report, figures = 6) {
  const context = await chromium.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await context.setOffline(true);
  const remote = [];
  await context.route(url => !url.toString().startsWith('file:'), route => { remote.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  // a Content-Security-Policy refusal is logged as a console error
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto('file://' + file);
  await page.waitForFunction(n => window.LinLens && Object.keys(window.LinLens.charts).length >= n, figures);
  return { context, page, remote, errors };
}

test('the report opens offline and draws every figure from its data', async () => {
  const { context, page, remote, errors } = await openOffline();
  try {
    assert.deepEqual(remote, [], 'the report asked for remote resources');
    assert.deepEqual(errors, []);
    const n = result.tokens.length, d = result.model.hidden_size;
    // the prompt's tokens and the prediction, as the JSON export has them
    const chips = await page.locator('.prompt-tokens .token').allTextContents();
    assert.deepEqual(chips, result.tokens.map(t => t.text));
    assert.equal(await page.locator('.summary .token.pred').textContent(), result.prediction.text);
    // every figure has its data and ink on its canvas
    const expect = {
      'r-prediction': [result.prediction.top.length],
      'r-reconstruction': [d, d, 2],
      'r-jacobian': [160 * 160, d],
      'r-spectra': Array(n).fill(d),
      'r-stable-rank': [n],
      'r-combined': [d, n, n, n, n],
    };
    await expectFigures(page, expect);
    // the ordinary Jacobian's series is the JSON's, and far from the diagonal
    const ordinary = await page.evaluate(() => LinLens.charts['r-reconstruction'].getOption().series[1]);
    assert.equal(ordinary.name, 'ordinary Jacobian');
    assert.deepEqual(ordinary.data.map(p => p[1]), result.reconstruction_vectors.nonlinear);
    const caption = await page.locator('#r-reconstruction .caption').textContent();
    assert.ok(caption.includes('ordinary Jacobian: relative error ' + Number(result.nonlinear_reconstruction.relative_error).toExponential(2)), caption);
    const combinedRows = page.locator('table.combined tbody tr');
    assert.equal(await combinedRows.count(), 4);
    assert.deepEqual(await combinedRows.nth(0).locator('.token.u').allTextContents(), result.svd_combined.components[0].u_tokens);
    // the heat map is J's: strongly coloured cells, not a flat colour
    const heat = await figureState(page, 'r-jacobian');
    assert.ok(heat.inked > 0.2 * heat.pixels, 'heat map mostly blank');
    // decoded singular vectors: n positions × 4 components, with the tokens of the JSON
    const rows = page.locator('#r-decoded table.decoded tbody tr');
    assert.equal(await rows.count(), n * 4);
    const lastU = await rows.nth((n - 1) * 4).locator('.token.u').allTextContents();
    assert.deepEqual(lastU, result.svd[n - 1].components[0].u_tokens);
    // the position selector redraws the heat map for another J_i
    const before = await page.evaluate(() => LinLens.charts['r-jacobian'].getOption().title[0].text);
    await page.selectOption('#r-jacobian select.position', '1');
    const afterText = await page.evaluate(() => LinLens.charts['r-jacobian'].getOption().title[0].text);
    assert.notEqual(afterText, before);
    assert.match(afterText, /^J_1 /);
    await page.selectOption('#r-jacobian select.position', String(n - 1));
    // the colour scale's handles: 0 is "0" (never "-0"), signs are true minus and plus
    const scale = await page.evaluate(() => {
      const vm = LinLens.charts['r-jacobian'].getOption().visualMap[0];
      return [vm.formatter(-1e-9), vm.formatter(0), vm.formatter(vm.min), vm.formatter(vm.max)];
    });
    assert.equal(scale[0], '0');
    assert.equal(scale[1], '0');
    assert.match(scale[2], /^−\d/);
    assert.match(scale[3], /^\+\d/);
    // log ticks in one format; the inset's title is its axis label, above its grid
    assert.deepEqual(await page.evaluate(() => [0.001, 0.01, 0.5, 1, 10, 100, 1000, 1e4, 1e-4, 250].map(LinLens.tick)),
      ['0.001', '0.01', '0.5', '1', '10', '100', '1000', '1e4', '1e-4', '250']);
    const inset = await page.evaluate(() => {
      const o = LinLens.charts['r-jacobian'].getOption();
      return { title: o.title[1].text, name: o.yAxis[1].name || '', top: o.grid[1].top };
    });
    assert.match(inset.title, /σ_k/);
    assert.equal(inset.name, '', 'no axis name to overlap the title');
    assert.ok(inset.top >= 40, 'the inset starts below its title');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

/** Every figure has its data (series sizes) and ink on its canvas. */
async function expectFigures(page, expect) {
  for (const [id, series] of Object.entries(expect)) {
    const s = await figureState(page, id);
    assert.ok(s, id + ' missing');
    assert.deepEqual(s.series, series, id + ' series sizes');
    assert.ok(s.inked > 0.01 * s.pixels, id + ' looks blank: ' + s.inked + ' of ' + s.pixels + ' pixels drawn');
  }
}

test('the layers report draws spectra by layer, stable rank by depth, paths and tables', async () => {
  const { file, result: L } = analyses.layers;
  const { context, page, remote, errors } = await openOffline(file, 4);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    const d = L.model.hidden_size, layers = L.layers.length, K = 3;
    await expectFigures(page, {
      'r-prediction': [L.prediction.top.length],
      'r-layer-spectra': Array(layers).fill(d),
      'r-layer-stable-rank': Array(L.keys.length).fill(layers),
      'r-layer-paths': Array(K).fill(layers),
      'r-layers-concept': Array(2 * L.keys.length).fill(layers),
    });
    // --concept: each key's concept logit and share at its sites, as the JSON has them
    const cs = await page.evaluate(() => LinLens.charts['r-layers-concept'].getOption().series.map(s => s.data.map(p => p[1])));
    L.keys.forEach((k, i) => {
      const at = L.layers.map(l => L.sites.find(s => s.key === k && s.layer === l).concept);
      assert.deepEqual(cs[2 * i], at.map(c => c.logit));
      assert.deepEqual(cs[2 * i + 1], at.map(c => c.cumulative_combined));
    });
    // stable rank points are the JSON's, per key
    const sr = await page.evaluate(() => LinLens.charts['r-layer-stable-rank'].getOption().series.map(s => [s.name, s.data.map(p => p[1])]));
    assert.deepEqual(sr, L.keys.map(k => [k, L.stable_rank[k]]));
    // the key selector redraws the spectra for another site
    const first = await page.evaluate(() => LinLens.charts['r-layer-spectra'].getOption().series[0].data[0][1]);
    await page.selectOption('#r-layer-spectra select.key', '2');
    const mlp = await page.evaluate(() => LinLens.charts['r-layer-spectra'].getOption().series[0].data[0][1]);
    assert.equal(first, L.sites.find(s => s.key === 'layer' && s.layer === L.layers[0]).cumulative.tokens_combined.singular_values[0]);
    assert.equal(mlp, L.sites.find(s => s.key === 'mlp' && s.layer === L.layers[0]).cumulative.tokens_combined.singular_values[0]);
    assert.equal(await page.locator('table.errors tbody tr').count(), L.sites.length);
    const tokenRows = page.locator('table.layer-tokens tbody tr');
    assert.equal(await tokenRows.count(), L.sites.length * K);
    assert.deepEqual(await tokenRows.nth(0).locator('td').nth(4).locator('.token').allTextContents(),
      L.sites[0].cumulative.tokens_combined.components[0].u_tokens);
    await page.selectOption('#r-layer-spectra select.key', '0');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-layers.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('the attribution report draws contributions by position and by component', async () => {
  const { file, result: R } = analyses.attribute;
  const a = R.attribution;
  const { context, page, remote, errors } = await openOffline(file, 3);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    const n = R.tokens.length, L = R.model.layers;
    await expectFigures(page, {
      'r-attribution': [n + (a.constant !== 0 ? 1 : 0)],
      'r-attribution-components': [L, L],
    });
    const bars = await page.evaluate(() => LinLens.charts['r-attribution'].getOption());
    assert.deepEqual(bars.series[0].data.slice(0, n).map(b => b.value), a.contributions.map(c => c.value));
    assert.deepEqual(bars.xAxis[0].data.slice(0, n), a.contributions.map(c => c.position + ': ' + JSON.stringify(c.token)));
    assert.equal(await page.locator('.attribution-sum dd.logit').textContent(), Number(a.logit).toPrecision(7));
    assert.equal(await page.locator('.attribution-sum dd.sum').textContent(), Number(a.sum).toPrecision(7));
    const mlp = await page.evaluate(() => LinLens.charts['r-attribution-components'].getOption().series[1]);
    assert.equal(mlp.name, 'mlp');
    assert.deepEqual(mlp.data, a.components.filter(c => c.key === 'mlp').map(c => c.total));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-attribution.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('decompose --concept draws the concept logit over the positions', async () => {
  const { file, result: D } = analyses.decompose;
  const { context, page, remote, errors } = await openOffline(file, 6);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    const n = D.tokens.length;
    await expectFigures(page, { 'r-decompose-concept': [n] });
    const opt = await page.evaluate(() => LinLens.charts['r-decompose-concept'].getOption());
    assert.deepEqual(opt.series[0].data.map(b => b.value), D.concept.positions.map(p => p.value));
    assert.match(await page.locator('#r-decompose-concept .caption').textContent(), /tokens combined/);
  } finally {
    await context.close();
  }
});

test('the concept report draws the exact split beside the baselines', async () => {
  const { file, result: C } = analyses.concept;
  const { context, page, remote, errors } = await openOffline(file, 3);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    const n = C.tokens.length, L = C.model.layers;
    await expectFigures(page, { 'r-concept-positions': [n, n], 'r-concept-layers': [L, L, L] });
    const opt = await page.evaluate(() => LinLens.charts['r-concept-positions'].getOption());
    assert.deepEqual(opt.series[0].data.map(b => b.value), C.attribution.positions.map(p => p.value));
    assert.deepEqual(opt.series[1].data, C.baselines.grad_x_input);
    const layers = await page.evaluate(() => LinLens.charts['r-concept-layers'].getOption());
    assert.deepEqual(layers.series[2].data, C.baselines.logit_lens);
    assert.match(await page.locator('.concept').textContent(), /profanity/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-concept.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('the concept evaluation report draws ROC curves, scores, layer profiles and flagged prompts', async () => {
  // written by ConceptEvaluationTest (a real-model test that bin/test runs before these)
  const file = path.resolve('..', 'target', 'concept-evaluation', 'report.html');
  assert.ok(statSync(file, { throwIfNoEntry: false }), file + ' is missing: run mvn test -Pall -Dtest=ConceptEvaluationTest first');
  const E = JSON.parse(readFileSync(path.resolve('..', 'target', 'concept-evaluation', 'evaluation.json'), 'utf8'));
  const { context, page, remote, errors } = await openOffline(file, 9);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    for (const [i, t] of E.toxicity.entries()) {
      const F = t.figures;
      await expectFigures(page, {
        ['r-ce-' + i + '-roc']: F.methods.map(m => m.roc.length).concat([2]),
        ['r-ce-' + i + '-layers']: [F.positives.attn.length, F.positives.attn.length, F.positives.lens.length, F.negatives.lens.length],
      });
      const roc = await page.evaluate(id => LinLens.charts[id].getOption().series.map(s => s.data), 'r-ce-' + i + '-roc');
      assert.deepEqual(roc.slice(0, -1), F.methods.map(m => m.roc));
      // the score histogram counts every test item once, per label
      const hist = await page.evaluate(id => LinLens.charts[id].getOption().series.map(s => s.data.reduce((a, b) => a + b, 0)), 'r-ce-' + i + '-scores');
      assert.deepEqual(hist, [F.methods[0].positives.length, F.methods[0].negatives.length]);
      const rows = page.locator('#r-ce-' + i + '-flagged tbody tr');
      assert.equal(await rows.count(), F.flagged.length);
      if (F.flagged.length) assert.equal(await rows.nth(0).locator('td').nth(0).textContent(), F.flagged[0].prompt);
    }
    for (const [i, b] of E.bias.entries())
      await expectFigures(page, { ['r-ce-bias-' + i + '-layers']: [b.attnByLayer.length, b.mlpByLayer.length, b.lensByLayer.length] });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-concept-evaluation.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('the steering report shows both continuations with the differences marked', async () => {
  const { file, result: S } = analyses.steer;
  const { context, page, remote, errors } = await openOffline(file, 0);
  try {
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    const plain = await page.locator('.continuation.unsteered .token:not(.prompt)').allTextContents();
    const steered = await page.locator('.continuation.steered .token:not(.prompt)').allTextContents();
    assert.deepEqual(plain, S.unsteered.tokens);
    assert.deepEqual(steered, S.steered.tokens);
    const differs = await page.locator('.continuation.steered .token.differs').count();
    assert.equal(differs, S.steered.tokens.filter((t, i) => S.unsteered.tokens[i] !== t).length);
    // the comparison: λ/2 and 2λ by default, every strength in order with the headline λ among them
    assert.deepEqual(S.comparison.map(c => c.strength), [S.strength / 2, S.strength * 2]);
    const labels = await page.locator('.steering .continuation .label').allTextContents();
    assert.deepEqual(labels, ['unsteered', ...[S.strength / 2, S.strength, S.strength * 2].map(l => 'λ = ' + l)]);
    const half = await page.locator('.continuation.compare').first().locator('.token:not(.prompt)').allTextContents();
    assert.deepEqual(half, S.comparison[0].tokens);
    const facts = await page.locator('.steering .facts').textContent();
    assert.ok(facts.includes(JSON.stringify(S.source_prompt)) && facts.includes(String(S.layer)) && facts.includes(String(S.strength)), facts);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-steering.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

/** Clicks a figure's PNG and SVG buttons and checks the files. */
async function expectExports(page, id) {
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#' + id + ' button.export-png')]);
  assert.equal(png.suggestedFilename(), id + '.png');
  const pngFile = path.join(dir, id + '.png');
  await png.saveAs(pngFile);
  const bytes = readFileSync(pngFile);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], id + ' PNG signature');
  assert.ok(statSync(pngFile).size > 5000, id + ' PNG too small');

  const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#' + id + ' button.export-svg')]);
  assert.equal(svg.suggestedFilename(), id + '.svg');
  const svgFile = path.join(dir, id + '.svg');
  await svg.saveAs(svgFile);
  const text = readFileSync(svgFile, 'utf8');
  assert.match(text, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok((text.match(/<(path|rect)\b/g) || []).length > 10, id + ' SVG has no shapes');
}

test('the analyses\' figures export to PNG and SVG', async () => {
  for (const [cmd, ids] of [['layers', ['r-layer-spectra', 'r-layer-stable-rank', 'r-layer-paths']],
                            ['attribute', ['r-attribution', 'r-attribution-components']]]) {
    const { context, page } = await openOffline(analyses[cmd].file, ids.length);
    try {
      for (const id of ids) await expectExports(page, id);
    } finally {
      await context.close();
    }
  }
});

test('each figure exports to PNG and SVG', async () => {
  const { context, page } = await openOffline();
  try {
    for (const id of ['r-prediction', 'r-reconstruction', 'r-jacobian', 'r-spectra', 'r-stable-rank', 'r-combined']) await expectExports(page, id);
    // the SVG heat map carries every cell
    const heat = readFileSync(path.join(dir, 'r-jacobian.svg'), 'utf8');
    assert.ok((heat.match(/<(path|rect)\b/g) || []).length >= 160 * 160 * 0.9, 'SVG heat map lost cells');
  } finally {
    await context.close();
  }
});
