// The 'linlens serve' app in chromium: a typed prompt's decomposition fills in with progress,
// bad input gets a message and a proper status, jobs can be cancelled, two prompts compared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { browser, serve, figureState, SCREENSHOTS } from './lib.mjs';

let server, chromium, context, page;

before(async () => {
  server = await serve(['--quiet']);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  chromium = await browser();
  context = await chromium.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
});

after(async () => {
  if (chromium) await chromium.close();
  if (server) await server.stop();
});

const api = (method, url, body) => page.evaluate(async ([method, url, body]) => {
  const r = await fetch(url, body === undefined ? { method } :
    { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}, [method, url, body]);

async function submit(...prompts) {
  await page.fill('#prompt', prompts[0]);
  if (prompts.length > 1) {
    await page.check('#compare');
    await page.fill('#prompt2', prompts[1]);
  } else {
    await page.uncheck('#compare');
  }
  await page.click('#run');
}

const waitState = (state, timeout = 240000) => page.waitForSelector('body[data-state="' + state + '"]', { timeout });

test('the cached demo model is offered', async () => {
  const names = await page.locator('#model option').allTextContents();
  assert.ok(names.includes('gemma-3-270m'), names.join(', '));
});

test('an empty prompt gets a message and HTTP 400', async () => {
  await submit('');
  await page.waitForSelector('#message:not(:empty)');
  assert.match(await page.textContent('#message'), /empty prompt/);
  const r = await api('POST', '/api/jobs', { model: 'gemma-3-270m', prompts: [''] });
  assert.equal(r.status, 400);
});

test('an unknown model, an oversized request, a client path: proper statuses, the server keeps running', async () => {
  assert.equal((await api('POST', '/api/jobs', { model: 'no-such-model', prompts: ['x'] })).status, 404);
  assert.equal((await api('POST', '/api/jobs', { model: '/etc/passwd', prompts: ['x'] })).status, 404);
  assert.equal((await api('POST', '/api/jobs', { model: 'gemma-3-270m', prompts: ['x'.repeat(70000)] })).status, 413);
  assert.equal((await api('POST', '/api/jobs', { model: 'gemma-3-270m', prompts: ['x'], path: '/tmp/m.gguf' })).status, 400);
  assert.equal((await api('GET', '/api/jobs/999')).status, 404);
  assert.equal((await api('GET', '/api/models')).status, 200);
});

test('a typed prompt: prediction at once, then the decomposition with progress', async () => {
  await page.fill('#prompt', 'The bridge out of Marin is the');
  await submit('The bridge out of Marin is the');
  // the tokens and the prediction come from the forward pass, before the Jacobian
  await page.waitForSelector('#result-0 .prompt-tokens .token');
  const tokens = await page.locator('#result-0 .prompt-tokens .token').allTextContents();
  assert.deepEqual(tokens, ['<bos>', 'The', ' bridge', ' out', ' of', ' Marin', ' is', ' the']);
  await page.waitForFunction(() => window.LinLens.charts['p0-prediction']);
  const stillRunning = await page.evaluate(() => document.body.dataset.state);
  // a second request while this one runs: refused with a message, the first goes on
  await page.click('#run');
  await page.waitForSelector('#message:not(:empty)');
  assert.match(await page.textContent('#message'), /busy/);
  assert.equal((await api('POST', '/api/jobs', { model: 'gemma-3-270m', prompts: ['x'] })).status, 409);
  // the server answers while the job computes, and reports progress
  const status = await api('GET', '/api/models');
  assert.equal(status.status, 200);
  const seen = new Set();
  while (await page.evaluate(() => document.body.dataset.state) === 'running') {
    seen.add(await page.textContent('#progress .label'));
    await page.waitForTimeout(250);
  }
  assert.equal(stillRunning, 'running');
  assert.ok([...seen].some(l => /jacobian \d+\/640/.test(l)), 'no Jacobian progress seen: ' + [...seen].join(' | '));
  await waitState('done', 1000);
  // the figures: drawn, with the data of this prompt
  await page.waitForSelector('#p0-decoded table.decoded tbody tr');
  for (const [id, series] of Object.entries({ 'p0-reconstruction': [640, 2], 'p0-jacobian': [25600, 640], 'p0-spectra': Array(8).fill(640) })) {
    const s = await figureState(page, id);
    assert.ok(s, id + ' missing');
    assert.deepEqual(s.series, series, id);
    assert.ok(s.inked > 0.01 * s.pixels, id + ' looks blank');
  }
  const decoded = await page.locator('#p0-decoded .token.u').allTextContents();
  assert.ok(decoded.length >= 8 * 8, 'decoded tokens: ' + decoded.length);
  assert.match(await page.textContent('#result-0 .summary'), /Reconstruction.*e-\d/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'app.png'), fullPage: true });
  // the downloads
  const links = await page.locator('#result-0 .downloads a').evaluateAll(as => as.map(a => a.getAttribute('href')));
  assert.equal(links.length, 3);
  const json = await api('GET', links[0]);
  assert.equal(json.status, 200);
  assert.equal(json.body.tokens.length, 8);
  const npz = await page.evaluate(async url => {
    const b = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return { magic: [...b.subarray(0, 4)], text: new TextDecoder('latin1').decode(b) };
  }, links[1]);
  assert.deepEqual(npz.magic, [0x50, 0x4b, 0x03, 0x04]);
  for (const name of ['y.npy', 'reconstructed.npy', 'singular_values.npy', 'jacobian.npy']) assert.ok(npz.text.includes(name), name);
});

test('a running job can be cancelled', async () => {
  await submit('Cancel me while the Jacobian is computed');
  await page.waitForSelector('#result-0 .prompt-tokens .token');
  await page.click('#cancel');
  await waitState('cancelled', 60000);
  assert.match(await page.textContent('#message'), /Cancelled/);
});

test('two prompts side by side', async () => {
  await submit('The Golden', 'The bridge');
  await waitState('done');
  for (const i of [0, 1]) {
    await page.waitForSelector('#p' + i + '-decoded table.decoded tbody tr');
    const s = await figureState(page, 'p' + i + '-spectra');
    assert.deepEqual(s.series, [640, 640, 640]);
    assert.ok(s.inked > 0.01 * s.pixels, 'p' + i + ' spectra blank');
  }
  const heads = await page.locator('#results .result h2').allTextContents();
  assert.deepEqual(heads, ['"The Golden"', '"The bridge"']);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'app-compare.png'), fullPage: true });
});

test('any analysis runs from the app: the logit lens with its own options and downloads', async () => {
  await page.selectOption('#analysis', 'logit-lens');
  assert.equal(await page.textContent('#run'), 'Logit-lens');
  await page.click('#options-box summary');
  await page.fill('#opt-top', '3');
  await submit('The Golden Gate');
  await page.waitForSelector('body:not([data-state="done"])', { timeout: 10000 });
  // (its progress, one stage per sixteenth of the unembedding, passes in about a second: too fast to poll)
  await waitState('done');
  await page.waitForSelector('#p0-logit-lens-table tbody tr', { timeout: 60000 });
  const rows = await page.locator('#p0-logit-lens-table tbody tr').count();
  assert.equal(rows, 18, 'one row per layer of the demo model');
  assert.equal(await page.locator('#p0-logit-lens-table tbody tr:first-child .token').count(), 3, 'the top option reached the server');
  const s = await figureState(page, 'p0-logit-lens');
  assert.ok(s.inked > 0.01 * s.pixels, 'the lens chart is blank');
  const links = await page.locator('#result-0 .downloads a').evaluateAll(as => as.map(a => a.getAttribute('href').split('/').pop()));
  assert.deepEqual(links, ['result.json', 'arrays.npz', 'report.html']);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'app-logit-lens.png'), fullPage: true });
  await page.selectOption('#analysis', 'decompose');
});
