// `ecl study` end to end on the shipped data: an ad-hoc study (2 methods x 1 seed, 1 epoch) writes one summary
// JSON per run, the markdown table and the HTML comparison; a second call resumes — finished runs are not trained
// again, even with their run folders gone. Then one run of a protocol plan (search-bcl, shrunk to 1 epoch on the
// embedded data) and `ecl study-report` regenerating the marked tables of a results document from the files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { markerLines } from '../../pipeline/report/study-report.js';

const CLI = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ecl-study-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const results = join(dir, 'results');

const ecl = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ECL_WASM_THREADS: '1' }, timeout: 300_000, maxBuffer: 16 << 20 });
const study = () =>
  ecl(['study', '--dataset', 'embedded', '--epochs', '1', '--seeds', '1', '--methods', 'ce,la-ce', '--parallel', '1', '--batch-size', '64', '--runs-dir', join(dir, 'runs'), '--results-dir', results, '--out', join(dir, 'adhoc.md')]);

test('study: summaries, table, HTML comparison, and resume without retraining', { timeout: 400_000 }, async () => {
  const first = await study();
  assert.match(first.stdout, /2 runs to go now/);
  const files = readdirSync(join(results, 'embedded-if100')).sort();
  assert.equal(files.length, 2);
  assert.match(files[0]!, /^ce-e1-s1-[0-9a-f]{8}\.json$/);
  const ce = JSON.parse(readFileSync(join(results, 'embedded-if100', files[0]!), 'utf8'));
  assert.equal(ce.method, 'ce');
  assert.equal(ce.config.loss, 'ce');
  assert.equal(ce.valCurve.length, 1);
  assert.ok(ce.test.balancedAccuracy > 0.1 && ce.val.balancedAccuracy > 0.1);
  const md = readFileSync(join(dir, 'adhoc.md'), 'utf8');
  assert.match(md, /\| ce \| — \| 1 of 1 \|/);
  assert.match(md, /\| la-ce \| τ_LA 1 \| 1 of 1 \|/);
  const html = readFileSync(join(dir, 'adhoc.html'), 'utf8');
  assert.match(html, /Method comparison \(2 methods, 2 runs\)/);
  assert.doesNotMatch(html, /<script/i);
  // run.json says where validation comes from (the embedded subset: its own shipped split).
  const info = JSON.parse(readFileSync(join(dir, 'runs', files[0]!.replace(/\.json$/, ''), 'run.json'), 'utf8'));
  assert.deepEqual([info.data.valSplit, info.data.val, info.data.test], ['dataset', 500, 1000]);
  const summary = join(results, 'embedded-if100', files[0]!);
  const mtime = statSync(summary).mtimeMs;
  // The summaries are what counts: without the run folders nothing is trained again.
  rmSync(join(dir, 'runs'), { recursive: true });
  const second = await study();
  assert.match(second.stdout, /2 done, 0 runs to go now/);
  assert.equal(statSync(summary).mtimeMs, mtime, 'a finished run is not trained again');
});

test('a plan run and study-report: the marked tables are rebuilt from the files, the rest of the document kept', { timeout: 400_000 }, async () => {
  const doc = join(dir, 'results.md');
  const [b1, e1] = markerLines('search');
  const [b2, e2] = markerLines('final');
  writeFileSync(doc, `# Results\n\nprotocol text\n\n${b1}\n${e1}\n\n${b2}\n${e2}\n`);
  const smoke = ['--dataset', 'embedded', '--epochs', '1', '--batch-size', '64', '--results-dir', results, '--doc', doc];
  const r = await ecl(['study', '--plan', 'search-bcl', ...smoke, '--max-runs', '1', '--parallel', '1', '--runs-dir', join(dir, 'runs')]);
  assert.match(r.stdout, /study search-bcl: 36 runs, 0 done, 1 runs to go now \(35 left for later\)/);
  const after1 = readFileSync(doc, 'utf8');
  assert.match(after1, /^# Results\n\nprotocol text\n/);
  assert.match(after1, /\*\*BCL\*\*: 1 of 36 configurations done; selected: not yet/);
  assert.match(after1, /the search is not complete yet \(BCL 1 of 36, ECL 0 of 36\)/);
  // The plans that need the selection refuse before the search is complete.
  await assert.rejects(ecl(['study', '--plan', 'final', ...smoke]), (e: { code?: number; stderr?: string }) => e.code === 2 && /search is not complete: search-bcl 1 of 36/.test(e.stderr ?? ''));
  writeFileSync(doc, `# Results\n\n${b1}\nstale\n${e1}\n\n${b2}\nstale\n${e2}\n`);
  const rep = await ecl(['study-report', '--dataset', 'embedded', '--epochs', '1', '--batch-size', '64', '--results-dir', results, '--doc', doc]);
  assert.match(rep.stdout, /from 3 run summaries/);
  const again = readFileSync(doc, 'utf8');
  assert.doesNotMatch(again, /stale/);
  assert.match(again, /1 of 36 configurations done/);
});
