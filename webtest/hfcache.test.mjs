// The app's model picker offers the Hugging Face hub cache's models by their repo names, and a
// job runs on one. The cache is built here in the hub's own layout (refs/main, snapshots/COMMIT
// linking into blobs/) from the tiny fixtures, and the server is pointed at it with HF_HUB_CACHE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { browser, serve, ROOT } from './lib.mjs';

const TINY = path.join(ROOT, 'src/test/resources/reference/tiny');
let server, chromium, page;

/** Adds repo ORG/NAME at one commit holding files (name in the snapshot → source file), refs/main pointing at it. */
function addRepo(hub, repoId, files) {
  const repo = path.join(hub, 'models--' + repoId.replace('/', '--'));
  const commit = createHash('sha1').update(repoId).digest('hex');
  const snapshot = path.join(repo, 'snapshots', commit);
  mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(path.join(repo, 'refs'), { recursive: true });
  for (const [name, source] of Object.entries(files)) {
    const bytes = readFileSync(source);
    const blob = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(repo, 'blobs', blob), bytes);
    symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snapshot, name));
  }
  writeFileSync(path.join(repo, 'refs', 'main'), commit);
}

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'linlens-hfcache-'));
  const hub = path.join(dir, 'hub'), ours = path.join(dir, 'models');
  mkdirSync(ours);
  const llama = path.join(TINY, 'llama3', 'hf');
  addRepo(hub, 'tiny-org/tiny-llama', Object.fromEntries(readdirSync(llama).map(f => [f, path.join(llama, f)])));
  addRepo(hub, 'tiny-org/tiny-gemma-GGUF', { 'tiny-gemma-F32.gguf': path.join(TINY, 'gemma3', 'model.gguf') });
  server = await serve(['--quiet', '--max-tokens', '256'], { HF_HUB_CACHE: hub, LINLENS_MODELS: ours });
  chromium = await browser();
  page = await (await chromium.newContext()).newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
});

after(async () => {
  if (chromium) await chromium.close();
  if (server) await server.stop();
});

test('the picker offers the Hugging Face cache\'s models by repo name, and a job runs on one', async () => {
  const names = await page.locator('#model option').allTextContents();
  assert.deepEqual(names, ['tiny-org/tiny-gemma-GGUF', 'tiny-org/tiny-llama']);
  await page.selectOption('#model', 'tiny-org/tiny-llama');
  await page.fill('#prompt', 'The cat');
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]', { timeout: 120000 });
  const shown = await page.locator('#result-0 .prompt-tokens .token').count();
  assert.ok(shown > 0, 'no prompt tokens shown; the page says: ' + (await page.locator('body').innerText()).slice(0, 2000));
});
