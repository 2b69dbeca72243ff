// Shared helpers of the browser tests: Debian's chromium through playwright-core, the linlens
// launcher, and checks that an ECharts figure really drew something.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = path.join(ROOT, 'target', 'screenshots');
export const LINLENS = path.join(ROOT, 'bin', 'linlens');
const CHROMIUM = process.env.LINLENS_CHROMIUM || '/usr/bin/chromium';
/** The tests' JVMs share a small machine. */
export const JAVA_ENV = { ...process.env, LINLENS_JAVA_OPTS: process.env.LINLENS_JAVA_OPTS || '-Xmx4g' };

export async function browser() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Runs bin/linlens to the end; resolves with its stdout, rejects with its stderr. */
export function linlens(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(LINLENS, args, { env: JAVA_ENV });
    let out = '', err = '';
    p.stdout.on('data', d => { out += d; });
    p.stderr.on('data', d => { err += d; });
    p.on('close', code => code === 0 ? resolve(out) : reject(new Error('linlens ' + args.join(' ') + ' exited ' + code + ': ' + err)));
  });
}

/** Starts 'linlens serve' on a free loopback port (env: variables added to the JVMs'); resolves with { url, stop }. */
export function serve(extraArgs = [], env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(LINLENS, ['serve', '--port', '0', ...extraArgs], { env: { ...JAVA_ENV, ...env }, detached: true });
    let out = '', err = '';
    const timer = setTimeout(() => { stop(); reject(new Error('server did not start: ' + err)); }, 300000);
    const stop = () => new Promise(done => {
      if (p.exitCode !== null) return done();
      p.on('close', done);
      process.kill(-p.pid, 'SIGTERM');
    });
    p.stderr.on('data', d => { err += d; });
    p.stdout.on('data', d => {
      out += d;
      const m = out.match(/serving on (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stop, stderr: () => err }); }
    });
    p.on('close', code => { clearTimeout(timer); reject(new Error('server exited ' + code + ': ' + err)); });
  });
}

/**
 * What a figure shows: its chart's series sizes, and how many pixels of its canvas are not
 * background (a chart that failed to draw is blank).
 */
export function figureState(page, id) {
  return page.evaluate(id => {
    const chart = window.LinLens && window.LinLens.charts[id];
    if (!chart) return null;
    const canvas = chart.getDom().querySelector('canvas');
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235)) inked++;
    return {
      series: chart.getOption().series.map(s => (s.data || []).length),
      inked, pixels: canvas.width * canvas.height,
    };
  }, id);
}
