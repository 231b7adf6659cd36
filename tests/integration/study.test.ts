// `ecl study` end to end on the shipped data (2 methods x 1 seed, 1 epoch): the markdown table and the HTML
// comparison are written, and a second call resumes — finished runs are not trained again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ecl-study-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const study = () =>
  promisify(execFile)(
    process.execPath,
    [CLI, 'study', '--dataset', 'embedded', '--epochs', '1', '--seeds', '1', '--methods', 'ce,la-ce', '--parallel', '1', '--batch-size', '64', '--runs-dir', join(dir, 'runs'), '--out', join(dir, 'results.md')],
    { env: { ...process.env, ECL_WASM_THREADS: '1' }, timeout: 300_000, maxBuffer: 16 << 20 },
  );

test('study: table, HTML comparison, and resume without retraining', { timeout: 400_000 }, async () => {
  const first = await study();
  assert.match(first.stdout, /2 runs to go/);
  const md = readFileSync(join(dir, 'results.md'), 'utf8');
  assert.match(md, /\| ce \|/);
  assert.match(md, /\| la-ce \|/);
  const html = readFileSync(join(dir, 'results.html'), 'utf8');
  assert.match(html, /Method comparison \(2 methods, 2 runs\)/);
  assert.doesNotMatch(html, /<script/i);
  const ckpt = join(dir, 'runs', 'study-embedded-if100-e1-ce-s1', 'checkpoint.ckpt');
  const mtime = statSync(ckpt).mtimeMs;
  const second = await study();
  assert.match(second.stdout, /0 runs to go/);
  assert.equal(statSync(ckpt).mtimeMs, mtime, 'a finished run is not trained again');
});
