// `ecl report` on real tiny runs (the embedded Fashion-MNIST-LT subset, trained here through the real CLI): the
// report opens in headless Chromium from a file:// URL with no console error and no request outside the file,
// every chart has drawn marks, missing data shows its "not run yet" line, damaged files are skipped and named,
// --compare of three runs shows three methods, and a folder that is not a run is one usage error (exit 2).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumMissingReason, findChromium, launchChromium } from '../../pipeline/parity/browser.js';
import { skipUnless } from '../helpers/require.js';

const skip = skipUnless('chromium', findChromium() ? false : chromiumMissingReason());
const cli = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
const T = 600_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function ecl(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 300_000, maxBuffer: 32 << 20, env: { ...process.env, CI: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}
const ok = (r: Result, what: string) => assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stderr}`);

let dir: string;
let runs: string;
const METHODS = ['ce', 'la-ce', 'bcl'];
const runOf = (m: string) => join(runs, `r-${m}`);
let browser: Browser | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-report-'));
  runs = join(dir, 'runs');
  // Three real tiny runs (one per method); the first is evaluated, exported and parity-checked too.
  for (const m of METHODS)
    ok(await ecl(['train', '--dataset', 'embedded', '--epochs', '2', '--batch-size', '32', '--train-limit', '256', '--test-limit', '200', '--lr', '0.05', '--loss', m, '--runs-dir', runs, '--name', `r-${m}`, '--backend', 'wasm']), `train ${m}`);
  const full = runOf('ce');
  ok(await ecl(['eval', full, '--limit', '300']), 'eval');
  ok(await ecl(['export', full]), 'export');
  ok(await ecl(['parity', full, '--runtimes', 'ort-node-cpu', '--samples', '200']), 'parity');
}, { timeout: T });

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageCheck {
  errors: string[];
  outside: string[];
  charts: Record<string, number>;
  notRun: string[];
  skipped: string[];
  text: string;
}

/** Opens a report file in Chromium: console errors, requests other than the file itself, marks per chart. */
async function openReport(path: string): Promise<PageCheck> {
  browser ??= await launchChromium({ webgpu: false });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const url = pathToFileURL(path).href;
  const errors: string[] = [];
  const outside: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => r.url() !== url && outside.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  const res = await page.evaluate(() => {
    const charts: Record<string, number> = {};
    for (const f of Array.from(document.querySelectorAll('figure[data-chart]'))) {
      // Data marks only: vega gives them role-mark; axes, grids and legends have other roles.
      charts[f.getAttribute('data-chart')!] = f.querySelectorAll('svg g.role-mark > path, svg g.role-mark > text, svg g.role-mark > line').length;
    }
    return {
      charts,
      notRun: Array.from(document.querySelectorAll('.not-run')).map((e) => e.textContent ?? ''),
      skipped: Array.from(document.querySelectorAll('#skipped li')).map((e) => e.textContent ?? ''),
      text: document.body.innerText,
    };
  });
  await page.close();
  return { errors, outside, ...res };
}

describe('ecl report', { skip }, () => {
  test('a full run: every section, every chart drawn, no console error, no request outside the file', { timeout: T }, async () => {
    const r = await ecl(['report', runOf('ce')]);
    ok(r, 'report');
    const path = join(runOf('ce'), 'report.html');
    assert.match(r.stdout, new RegExp(`wrote ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const html = readFileSync(path, 'utf8');
    assert.doesNotMatch(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, ''), /(src|href)="https?:|url\(https?:|<script/i, 'no script, no remote resource');
    const p = await openReport(path);
    assert.deepEqual(p.errors, [], 'no console errors');
    assert.deepEqual(p.outside, [], 'no request other than the file');
    const expected = ['profile', 'loss', 'lr', 'accuracy', 'groups', 'longtail', 'confusion', 'geometry-nc1', 'geometry-equiangularityMean', 'geometry-classifierAlignment', 'parity-errors', 'parity-histogram', 'parity-agreement'];
    for (const c of expected) assert.ok((p.charts[c] ?? 0) > 0, `chart ${c} has drawn marks (${JSON.stringify(p.charts)})`);
    for (const [c, n] of Object.entries(p.charts)) assert.ok(n > 0, `chart ${c} has ${n} marks`);
    // 10 classes: the profile has one bar per class, the confusion heatmap 10x10 cells (+ their labels).
    assert.ok(p.charts.profile! >= 10 && p.charts.confusion! >= 100, JSON.stringify(p.charts));
    assert.deepEqual(p.notRun, [], 'every section has its data');
    assert.deepEqual(p.skipped, []);
    assert.match(p.text, /Largest confusions/);
    assert.match(p.text, /onnxruntime-node CPU/);
  });

  test('a run with no eval, no export and no parity: those sections say what to run; the rest renders', { timeout: T }, async () => {
    ok(await ecl(['report', runOf('la-ce')]), 'report');
    const p = await openReport(join(runOf('la-ce'), 'report.html'));
    assert.deepEqual(p.errors, []);
    assert.ok(p.notRun.some((l) => l.includes(`not run yet: ecl parity ${runOf('la-ce')}`)), JSON.stringify(p.notRun));
    assert.ok(p.notRun.some((l) => l.includes(`not run yet: ecl eval ${runOf('la-ce')}`)), 'the confusion matrix needs eval.json');
    // Without eval.json the long-tail chart still comes from the last epoch of metrics.jsonl.
    assert.ok((p.charts.longtail ?? 0) > 0 && (p.charts.loss ?? 0) > 0, JSON.stringify(p.charts));
    assert.equal(p.charts.confusion, undefined);
  });

  test('a truncated metrics.jsonl line and a damaged eval.json: what exists renders, what was skipped is named', { timeout: T }, async () => {
    const damaged = join(dir, 'damaged');
    cpSync(runOf('ce'), damaged, { recursive: true });
    rmSync(join(damaged, 'report.html'));
    const lines = readFileSync(join(damaged, 'metrics.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(damaged, 'metrics.jsonl'), `${lines[0]}\n${lines[1]!.slice(0, 40)}`);
    writeFileSync(join(damaged, 'eval.json'), '{"top1": 0.5, "confusion": [[1');
    const r = await ecl(['report', damaged]);
    ok(r, 'report');
    assert.match(r.stderr, /skipped: metrics\.jsonl line 2: not valid JSON/);
    const p = await openReport(join(damaged, 'report.html'));
    assert.deepEqual(p.errors, []);
    assert.equal(p.skipped.length, 2, JSON.stringify(p.skipped));
    assert.ok(p.skipped.some((l) => /^eval\.json: not valid JSON/.test(l)), JSON.stringify(p.skipped));
    assert.ok(p.skipped.some((l) => /^metrics\.jsonl line 2: not valid JSON/.test(l)), JSON.stringify(p.skipped));
    assert.ok((p.charts.loss ?? 0) > 0, 'the first epoch still draws');
    assert.ok((p.charts['parity-errors'] ?? 0) > 0, 'parity still draws');
    assert.ok(p.notRun.some((l) => l.includes('ecl eval')), 'no usable eval.json: the confusion matrix says what to run');
  });

  test('--compare of three runs shows three methods', { timeout: T }, async () => {
    const out = join(dir, 'compare.html');
    const r = await ecl(['report', '--compare', ...METHODS.map(runOf), '--out', out]);
    ok(r, 'report --compare');
    assert.match(r.stdout, /3 methods: ce, la-ce, bcl/);
    const p = await openReport(out);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.outside, []);
    for (const m of METHODS) assert.match(p.text, new RegExp(`\\n${m}\\t`), `method ${m} in the table`);
    assert.ok((p.charts['compare-methods'] ?? 0) >= 15, `3 methods x 5 metrics drawn: ${JSON.stringify(p.charts)}`);
    assert.ok((p.charts['compare-per-class'] ?? 0) >= 3, JSON.stringify(p.charts));
    assert.match(p.text, /la-ce − ce/, 'paired differences against ce');
  });
});

describe('ecl report: bad input', () => {
  test('a folder that is not a run is one usage error (exit 2) and writes nothing', { timeout: T }, async () => {
    const notRun = join(dir, 'not-a-run');
    mkdirSync(notRun);
    writeFileSync(join(notRun, 'notes.txt'), 'hello');
    const r = await ecl(['report', notRun]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /not a run folder: .*not-a-run has none of checkpoint\.ckpt/);
    assert.equal(existsSync(join(notRun, 'report.html')), false);
    const missing = await ecl(['report', join(dir, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
  });
});
