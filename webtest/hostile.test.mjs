// Hostile text (markup, script, the report template's own slot names, line separators) as prompts,
// tokens and model names: in the CLI's --report files and in the 'linlens serve' app it must show
// as literal text and never run, with no Content-Security-Policy violation from our own code.
// Runs on the tiny Gemma 3 fixture: its tokenizer splits text into short pieces, so the figures
// are also fed data whose every token, label and model name is a whole hostile string.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { browser, linlens, serve, figureState, ROOT, SCREENSHOTS } from './lib.mjs';

const TINY = path.join(ROOT, 'src/test/resources/reference/tiny/gemma3/model.gguf');
const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  '</script><script>window.__pwned=1</script>',
  '/*DATA*/', '/*STYLE*/', '/*ECHARTS*/', '/*FIGURES*/', '/*CSP*/', '/*BOOT*/', '<!--TITLE-->',
  '"><svg onload=window.__pwned=1>',
  'line\u2028separator\u2029',
  "{{constructor.constructor('window.__pwned=1')()}}",
  '<!--',
];
// the tiny model's context is 256 tokens (about as many characters): two prompts hold them all
const PROMPT = HOSTILE.slice(0, 6).concat(HOSTILE[9]).join(' ');
const PROMPT2 = HOSTILE.slice(6, 9).concat(HOSTILE.slice(10)).join(' ');
/** The policy 'linlens serve' sends with its pages and assets. */
const APP_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
  + "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

let dir, chromium;
const reports = {};

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'linlens-hostile-'));
  const runs = {
    decompose: ['--prompt', PROMPT, '--components', '3', '--top', '4', '--nonlinear'],
    layers: ['--prompt', PROMPT2, '--layers', '1,4', '--components', '2', '--top', '3'],
    attribute: ['--prompt', PROMPT, '--by-component'],
    steer: ['--prompt', PROMPT, '--target', PROMPT2, '--tokens', '4', '--layer', '2'],
    'logit-lens': ['--prompt', PROMPT, '--top', '4'],
  };
  for (const [cmd, args] of Object.entries(runs)) {
    const file = path.join(dir, cmd + '.html'), json = path.join(dir, cmd + '.json');
    await linlens([cmd, '--quiet', '--model', TINY, ...args, '--json', json, '--report', file]);
    reports[cmd] = { file, result: JSON.parse(readFileSync(json, 'utf8')) };
  }
  chromium = await browser();
});

after(async () => { if (chromium) await chromium.close(); });

/**
 * A browser context that records every CSP violation (window.__csp) and every page error or
 * console error; optionally offline.
 */
async function watchedContext(options = {}, offline = false) {
  const context = await chromium.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options });
  if (offline) await context.setOffline(true);
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      e => window.__csp.push(e.violatedDirective + ' blocked ' + e.blockedURI + ' ' + (e.sample || '')), true);
  });
  const problems = [];
  context.on('page', page => watch(page, problems));
  return { context, problems };
}

function watch(page, problems) {
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  // failed requests (an app refusal's 4xx) are logged as console errors too: those are expected
  page.on('console', m => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push('console: ' + m.text()); });
}

/** Nothing injected: no flag set, no element from the hostile text, only our own scripts. */
async function expectClean(page, scripts, where) {
  const s = await page.evaluate(() => ({
    pwned: typeof window.__pwned,
    imgs: [...document.querySelectorAll('img')].map(e => e.outerHTML),
    svgs: [...document.querySelectorAll('svg')].filter(e => !e.closest('.chart')).map(e => e.outerHTML.slice(0, 100)),
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))).map(e => e.outerHTML.slice(0, 100)),
    scripts: [...document.scripts].map(e => e.src ? new URL(e.src).pathname : (e.type || 'inline') + (e.id ? '#' + e.id : '')),
    csp: window.__csp,
  }));
  assert.equal(s.pwned, 'undefined', where + ': hostile script ran');
  assert.deepEqual(s.imgs, [], where + ': injected img');
  assert.deepEqual(s.svgs, [], where + ': injected svg');
  assert.deepEqual(s.handlers, [], where + ': element with an event handler attribute');
  assert.deepEqual(s.scripts, scripts, where + ': scripts');
  assert.deepEqual(s.csp, [], where + ': CSP violations');
}

const REPORT_SCRIPTS = ['inline', 'inline', 'application/json#linlens-data', 'inline'];
const APP_SCRIPTS = ['/assets/echarts.min.js', '/assets/figures.js', '/assets/app.js'];

/**
 * Redraws the page's figures (into a new root, ids 'x-…') from data whose every token, decoded
 * token, prompt, series label and model name is one of the hostile strings, then shows a tooltip
 * at the first points of the first series. Resolves with the tooltips' texts; fails if one held an
 * element made from the data.
 */
function drawHostileCopy(page, data) {
  return page.evaluate(async ([data, H]) => {
    let k = 0;
    const next = () => H[k++ % H.length];
    const TEXT_KEYS = new Set(['text', 'token', 'prompt', 'label', 'source_prompt', 'target_prompt', 'versus_text', 'family', 'source']);
    const LISTS = new Set(['u_tokens', 'v_tokens', 'tokens']);
    (function walk(o) {
      if (Array.isArray(o)) { o.forEach(walk); return; }
      if (!o || typeof o !== 'object') return;
      for (const [key, v] of Object.entries(o)) {
        if (typeof v === 'string' && TEXT_KEYS.has(key)) o[key] = next();
        else if (Array.isArray(v) && LISTS.has(key) && v.every(t => typeof t === 'string')) o[key] = v.map(next);
        else walk(v);
      }
    })(data);
    const root = document.createElement('main');
    root.id = 'hostile-copy';
    document.body.append(root);
    LinLens.render(root, data, 'x');
    const tips = [];
    for (const [id, chart] of Object.entries(LinLens.charts)) {
      if (!id.startsWith('x-')) continue;
      // the hostile strings were handed out in turn: twice their number of points meets each
      chart.getOption().series.slice(0, 2 * H.length).forEach((s, seriesIndex) => {
        const n = (s.data || []).length;
        for (let dataIndex = 0; dataIndex < Math.min(n, 2 * H.length); dataIndex++) {
          chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex });
          // each tip replaces the last: look at this one's elements now
          const dom = chart.getDom();
          const injected = [...dom.querySelectorAll('img, svg, script, iframe, object, embed')]
            .concat([...dom.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))));
          tips.push({ id, text: dom.textContent, injected: injected.map(e => e.outerHTML.slice(0, 100)) });
        }
      });
      chart.dispatchAction({ type: 'hideTip' });
    }
    await new Promise(r => setTimeout(r, 50));
    return tips;
  }, [data, HOSTILE]).then(tips => {
    assert.deepEqual(tips.filter(t => t.injected.length), [], 'tooltips with elements made from the data');
    return tips.map(t => t.text);
  });
}

/** Opens a report file offline with the checks of expectClean; resolves with the page. */
async function openReport(file, figures) {
  const { context, problems } = await watchedContext({}, true);
  const remote = [];
  await context.route(url => !url.toString().startsWith('file:'), route => { remote.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  await page.goto('file://' + file);
  await page.waitForFunction(n => window.LinLens && document.querySelector('#report > *') && Object.keys(window.LinLens.charts).length >= n, figures);
  return { context, page, problems, remote };
}

/** The policy the report file carries. */
function reportCsp(file) {
  const m = readFileSync(file, 'utf8').match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  assert.ok(m, 'no CSP meta element');
  return m[1];
}

test('the reports\' policy lets only their own three inline scripts run', () => {
  for (const { file } of Object.values(reports)) {
    const csp = reportCsp(file);
    assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*' 'sha256-[A-Za-z0-9+/]+=*' 'sha256-[A-Za-z0-9+/]+=*'; style-src 'unsafe-inline'; img-src data: blob:; base-uri 'none'; form-action 'none'$/);
    const html = readFileSync(file, 'utf8');
    // the hostile text only sits in the data block, escaped
    for (const h of ['<img src=x', '<svg onload', '<script>window', '<!--TITLE-->']) assert.ok(!html.includes(h), file + ' holds ' + h);
  }
});

for (const [cmd, figures] of [['decompose', 6], ['layers', 3], ['attribute', 3], ['steer', 0], ['logit-lens', 2]]) {
  test('a hostile prompt in the ' + cmd + ' report is text, and hostile tokens in its figures too', async () => {
    const { file, result } = reports[cmd];
    const { context, page, problems, remote } = await openReport(file, figures);
    try {
      assert.deepEqual(remote, []);
      await expectClean(page, REPORT_SCRIPTS, cmd);
      const title = { decompose: 'Linear Lens: ', layers: 'Linear Lens layers: ', attribute: 'Linear Lens attribution: ', steer: 'Linear Lens steering: ',
        'logit-lens': 'Linear Lens logit lens: ' }[cmd]
        + (cmd === 'steer' ? result.source_prompt + ' → ' + result.target_prompt : result.prompt);
      const prompt = cmd === 'layers' ? PROMPT2 : PROMPT;
      assert.equal(cmd === 'steer' ? result.source_prompt : result.prompt, prompt, 'the CLI kept the prompt');
      assert.equal(await page.textContent('h1'), title);
      assert.equal(await page.title(), title.replace(/[\t\n\f\r ]+/g, ' ').trim());
      if (cmd === 'steer') {
        const facts = await page.textContent('.steering .facts');
        assert.equal(result.target_prompt, PROMPT2);
        assert.ok(facts.includes(JSON.stringify(PROMPT)) && facts.includes(JSON.stringify(PROMPT2)), facts);
        assert.deepEqual(await page.locator('.continuation.steered .token.prompt').allTextContents(), [result.target_prompt]);
        assert.deepEqual(await page.locator('.continuation.steered .token:not(.prompt)').allTextContents(), result.steered.tokens);
      } else {
        assert.ok((await page.textContent('.summary .facts')).includes(JSON.stringify(prompt)));
        assert.deepEqual(await page.locator('.prompt-tokens .token').allTextContents(), result.tokens.map(t => t.text));
      }
      for (const id of await page.evaluate(() => Object.keys(LinLens.charts))) {
        const s = await figureState(page, id);
        assert.ok(s.inked > 0.01 * s.pixels, id + ' looks blank');
      }
      const data = await page.evaluate(() => JSON.parse(document.getElementById('linlens-data').textContent));
      assert.equal(data.title, title);
      const tips = await drawHostileCopy(page, data);
      await expectClean(page, REPORT_SCRIPTS, cmd + ' with hostile tokens');
      if (figures > 0) assert.ok(HOSTILE.some(h => tips.some(t => t.includes(h))), 'no tooltip shows a hostile string literally: ' + tips.slice(0, 5).join(' | '));
      const copy = await page.textContent('#hostile-copy');
      assert.ok(HOSTILE.filter(h => copy.includes(h)).length >= 3, 'the hostile tokens are not shown as text');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'hostile-' + cmd + '.png') });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}

/** Clicks a figure's PNG and SVG buttons; the SVG must be well-formed, with nothing active in it. */
async function expectSafeExports(page, id) {
  await page.locator('#' + id).scrollIntoViewIfNeeded();
  const [png] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#' + id + ' button.export-png')]);
  const pngFile = path.join(dir, id + '.png');
  await png.saveAs(pngFile);
  assert.deepEqual([...readFileSync(pngFile).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], id + ' PNG signature');
  assert.ok(statSync(pngFile).size > 2000, id + ' PNG too small');
  const [svg] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#' + id + ' button.export-svg')]);
  const svgFile = path.join(dir, id + '.svg');
  await svg.saveAs(svgFile);
  const text = readFileSync(svgFile, 'utf8');
  const parsed = await page.evaluate(text => {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    return {
      error: doc.querySelector('parsererror') ? doc.querySelector('parsererror').textContent : null,
      bad: [...doc.querySelectorAll('script, img, foreignObject')].length
        + [...doc.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))).length,
      shapes: doc.querySelectorAll('path, rect').length,
      text: doc.documentElement.textContent,
    };
  }, text);
  assert.equal(parsed.error, null, id + ' SVG is not well-formed');
  assert.equal(parsed.bad, 0, id + ' SVG has active content');
  assert.ok(parsed.shapes > 10, id + ' SVG has no shapes');
  return parsed.text;
}

test('under the report\'s policy every figure, with hostile labels too, exports to PNG and SVG', async () => {
  const { context, page, problems } = await openReport(reports.decompose.file, 6);
  try {
    for (const id of ['r-prediction', 'r-reconstruction', 'r-jacobian', 'r-spectra', 'r-stable-rank', 'r-combined']) await expectSafeExports(page, id);
    const data = await page.evaluate(() => JSON.parse(document.getElementById('linlens-data').textContent));
    await drawHostileCopy(page, data);
    // category labels and legends that are whole hostile strings, as SVG text
    const labels = await expectSafeExports(page, 'x-stable-rank') + await expectSafeExports(page, 'x-spectra');
    assert.ok(HOSTILE.filter(h => !/[\u2028\u2029]/.test(h)).some(h => labels.includes(h)), 'no hostile label in the SVGs');
    await expectClean(page, REPORT_SCRIPTS, 'after the exports');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the app under its policy: hostile prompts, error messages and the downloaded report stay text', async () => {
  const server = await serve(['--quiet', '--model', TINY, '--max-tokens', '256']);
  const { context, problems } = await watchedContext();
  try {
    // the pages and assets get the app's policy (added here when this server does not send it yet)
    const policies = new Set();
    await context.route(url => !new URL(url).pathname.startsWith('/api/'), async route => {
      const response = await route.fetch();
      const headers = response.headers();
      if (!headers['content-security-policy']) headers['content-security-policy'] = APP_CSP;
      policies.add(headers['content-security-policy']);
      await route.fulfill({ response, headers });
    });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    const models = await page.evaluate(async () => (await (await fetch('/api/models')).json()).models);
    const tiny = models.find(m => m.path.endsWith(path.join('tiny', 'gemma3', 'model.gguf')) || m.path.endsWith('tiny/gemma3/model.gguf'));
    assert.ok(tiny, JSON.stringify(models));

    // an error message that repeats a hostile model name
    const badName = HOSTILE[0] + HOSTILE[10];
    await page.evaluate(name => {
      const o = document.createElement('option');
      o.value = o.textContent = name;
      document.getElementById('model').append(o);
    }, badName);
    await page.selectOption('#model', badName);
    await page.click('#run');
    await page.waitForSelector('#message:not(:empty)');
    const message = await page.textContent('#message');
    // the server may quote the name: then as text, whole
    assert.ok(message.length > 0 && (!message.includes('<') || message.includes(badName)), message);
    await expectClean(page, APP_SCRIPTS, 'app error message');

    // two hostile prompts side by side
    const second = PROMPT2;
    await page.selectOption('#model', tiny.name);
    await page.fill('#prompt', PROMPT);
    await page.check('#compare');
    await page.fill('#prompt2', second);
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]', { timeout: 240000 });
    await page.waitForSelector('#p1-decoded table.decoded tbody tr');
    assert.deepEqual(await page.locator('#results .result h2').allTextContents(), [JSON.stringify(PROMPT), JSON.stringify(second)]);
    const id = await page.evaluate(() => document.querySelector('#result-0 .downloads a').getAttribute('href').split('/')[3]);
    for (const [i, prompt] of [[0, PROMPT], [1, second]]) {
      const sections = await page.evaluate(url => fetch(url).then(r => r.json()), '/api/jobs/' + id + '/results/' + i);
      assert.equal(sections.decomposition.prompt, prompt);
      assert.deepEqual(await page.locator('#result-' + i + ' .prompt-tokens .token').allTextContents(), sections.decomposition.tokens.map(t => t.text));
      assert.ok((await page.textContent('#result-' + i + ' .summary .facts')).includes(JSON.stringify(prompt)));
      for (const fig of ['prediction', 'reconstruction', 'jacobian', 'spectra', 'stable-rank', 'combined']) {
        const s = await figureState(page, 'p' + i + '-' + fig);
        assert.ok(s && s.inked > 0.01 * s.pixels, 'p' + i + '-' + fig + ' missing or blank');
      }
    }
    await expectClean(page, APP_SCRIPTS, 'app results');
    const tips = await drawHostileCopy(page, await page.evaluate(url => fetch(url).then(r => r.json()), '/api/jobs/' + id + '/results/0'));
    assert.ok(HOSTILE.some(h => tips.some(t => t.includes(h))), 'no tooltip shows a hostile string literally');
    await expectClean(page, APP_SCRIPTS, 'app with hostile tokens');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'hostile-app.png') });

    // the downloaded report: self-contained, under its own policy
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#result-0 .downloads a[href$="report.html"]')]);
    const file = path.join(dir, 'app-report.html');
    await download.saveAs(file);
    reportCsp(file);
    const opened = await openReport(file, 6);
    try {
      assert.deepEqual(opened.remote, []);
      await expectClean(opened.page, REPORT_SCRIPTS, 'downloaded report');
      assert.equal(await opened.page.textContent('h1'), 'Linear Lens: ' + PROMPT);
      assert.ok((await opened.page.textContent('.summary .facts')).includes(JSON.stringify(PROMPT)));
      assert.deepEqual(opened.problems, []);
    } finally {
      await opened.context.close();
    }
    assert.deepEqual([...policies], [APP_CSP], 'the app\'s pages and assets carry another policy');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.stop();
  }
});
