// The scan report (linlens scan-report) in chromium: offline, its figures drawn, hostile prompts shown
// as text (no script of theirs runs, no markup of theirs is parsed), the table's search, sort and
// per-row decompose command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { browser, linlens, figureState, ROOT, SCREENSHOTS } from './lib.mjs';

const MODEL = path.join(ROOT, 'src/test/resources/reference/tiny/llama3/model.gguf');
const HOSTILE = ['</script><script>window.pwned = 1</script>', '<img src=x onerror="window.pwned = 2">',
  "it's \u001b[31m red\nand \u202e reversed", '--help'];
const PROMPTS = ['The bridge out of Marin is the', 'A cat sat on the', ...HOSTILE, 'Paris is in', ''];
let dir, report, chromium;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'linlens-scanreport-'));
  const dataset = path.join(dir, 'd.jsonl');
  writeFileSync(dataset, PROMPTS.map(p => JSON.stringify({ prompt: p })).join('\n') + '\n');
  await linlens(['scan', '--quiet', '--model', MODEL, '--dataset', dataset, '--out', path.join(dir, 'out'), '--analyses', 'decompose,attribute,layers', '--k', '3']);
  report = path.join(dir, 'report.html');
  await linlens(['scan-report', path.join(dir, 'out'), '--html', report]);
  chromium = await browser();
});

after(async () => { if (chromium) await chromium.close(); });

test('the scan report draws offline and its hostile prompts stay text', async () => {
  const context = await chromium.newContext({ viewport: { width: 1280, height: 900 } });
  await context.setOffline(true);
  const remote = [];
  await context.route(url => !url.toString().startsWith('file:'), route => { remote.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  const errors = [], dialogs = [];
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', d => { dialogs.push(d.message()); d.dismiss(); });
  try {
    await page.goto('file://' + report);
    await page.waitForFunction(() => window.LinLens && Object.keys(window.LinLens.charts).length >= 5);
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.evaluate(() => window.pwned), undefined, 'a prompt ran script');
    assert.equal(await page.locator('img').count(), 0, 'a prompt became markup');
    for (const id of ['r-hist-reconstruction_error', 'r-hist-attribution_error', 'r-hist-n_tokens', 'r-decay-combined_sigma', 'r-decay-last_sigma']) {
      const s = await figureState(page, id);
      assert.ok(s && s.inked > 0, id + ' drew nothing');
    }
    // every prompt is in the table, as the exact text
    const cells = await page.locator('tr.prompt-row td:nth-child(2)').allTextContents();
    for (const p of PROMPTS.filter(p => p)) assert.ok(cells.includes(p), 'missing: ' + JSON.stringify(p));
    // search, then the row's command line
    await page.fill('input.scan-search', 'pwned = 1');
    assert.equal(await page.locator('tr.prompt-row').count(), 1);
    await page.locator('tr.prompt-row').first().click();
    const command = await page.locator('pre.command').textContent();
    assert.equal(command, "linlens decompose --model='" + MODEL + "' --prompt='" + HOSTILE[0] + "' --report='row-2.html'");
    await page.fill('input.scan-search', 'reversed');
    await page.locator('tr.prompt-row').first().click();
    const quoted = await page.locator('pre.command').textContent();
    assert.ok(quoted.includes("--prompt=$'it\\'s \\x1b[31m red\\nand \\u202e reversed'"), quoted);
    // sorting by p, descending, puts the largest first
    await page.fill('input.scan-search', '');
    await page.locator('th[data-key=p]').click();
    await page.locator('th[data-key=p]').click();
    const ps = (await page.locator('tr.prompt-row td:nth-child(4)').allTextContents()).filter(t => t).map(Number);
    assert.deepEqual(ps, ps.slice().sort((a, b) => b - a));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'scan-report.png'), fullPage: true });
  } finally {
    await context.close();
  }
});
