// The self-contained HTML report in chromium: offline, every figure drawn, PNG and SVG export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { browser, linlens, figureState, SCREENSHOTS } from './lib.mjs';

const PROMPT = 'The bridge out of Marin is the';
let dir, report, result, chromium;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'linlens-report-'));
  report = path.join(dir, 'report.html');
  const json = path.join(dir, 'result.json');
  await linlens(['decompose', '--quiet', '--prompt', PROMPT, '--components', '4', '--top', '5', '--json', json, '--report', report]);
  result = JSON.parse(readFileSync(json, 'utf8'));
  chromium = await browser();
});

after(async () => { if (chromium) await chromium.close(); });

async function openOffline() {
  const context = await chromium.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await context.setOffline(true);
  const remote = [];
  await context.route(url => !url.toString().startsWith('file:'), route => { remote.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto('file://' + report);
  await page.waitForFunction(() => window.LinLens && Object.keys(window.LinLens.charts).length >= 5);
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
      'r-reconstruction': [d, 2],
      'r-jacobian': [160 * 160, d],
      'r-spectra': Array(n).fill(d),
      'r-stable-rank': [n],
    };
    for (const [id, series] of Object.entries(expect)) {
      const s = await figureState(page, id);
      assert.ok(s, id + ' missing');
      assert.deepEqual(s.series, series, id + ' series sizes');
      assert.ok(s.inked > 0.01 * s.pixels, id + ' looks blank: ' + s.inked + ' of ' + s.pixels + ' pixels drawn');
    }
    // the heat map is J's: strongly coloured cells, not a flat colour
    const heat = await figureState(page, 'r-jacobian');
    assert.ok(heat.inked > 0.2 * heat.pixels, 'heat map mostly blank');
    // decoded singular vectors: n positions × 4 components, with the tokens of the JSON
    const rows = page.locator('table.decoded tbody tr');
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
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('each figure exports to PNG and SVG', async () => {
  const { context, page } = await openOffline();
  try {
    for (const id of ['r-prediction', 'r-reconstruction', 'r-jacobian', 'r-spectra', 'r-stable-rank']) {
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
    // the SVG heat map carries every cell
    const heat = readFileSync(path.join(dir, 'r-jacobian.svg'), 'utf8');
    assert.ok((heat.match(/<(path|rect)\b/g) || []).length >= 160 * 160 * 0.9, 'SVG heat map lost cells');
  } finally {
    await context.close();
  }
});
