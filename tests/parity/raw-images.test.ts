// `ecl parity --images DIR`: original encoded files (real Fashion-MNIST test images written as PNG, JPEG and
// WebP) through each runtime's own full path — the real server's POST /v1/classify, the browser app's
// window.ecl.classifyBlob in Chromium, and onnxruntime-node / OpenCV DNN on the server's decode — against the
// tfjs reference on the training-side decode; --reference onnx for a model alone; bad folders are usage errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { METADATA_KEYS } from '../../models/onnx-contract.js';
import { UsageError } from '../../pipeline/cli/errors.js';
import { findChromium } from '../../pipeline/parity/browser.js';
import { runParity } from '../../pipeline/parity/harness.js';
import { formatParityMarkdown } from '../../pipeline/parity/report.js';
import { perturbOnnxModel, setOnnxMetadata, writeExportedFixtureRun, writeImageFolder } from '../helpers/parity-fixture.js';
import { skipUnless } from '../helpers/require.js';

let dir: string;
let runDir: string;
let model: string;
let square: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-parity-raw-'));
  runDir = join(dir, 'run');
  ({ model } = await writeExportedFixtureRun(runDir));
  square = join(dir, 'square');
  await writeImageFolder(square, { perClass: 2 });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('square PNG/JPEG/WebP files agree on every runtime path: server, browser app, ort-node, OpenCV', { timeout: 300_000 }, async () => {
  const web = findChromium() ? (['ort-web-wasm'] as const) : [];
  const report = await runParity({ runDir, images: square, runtimes: ['serve-classify', 'ort-node-cpu', 'opencv-dnn', ...web] });
  assert.equal(report.mode, 'images');
  assert.equal(report.images?.count, 20);
  assert.equal(report.images?.labelled, 20, 'DIR/<label>/ folders label the files (T-shirt/top as T-shirt_top)');
  assert.deepEqual(new Set(report.images!.files.map((f) => f.name.split('.').pop())), new Set(['png', 'jpg', 'webp']));
  for (const r of report.results) {
    if (r.runtime === 'opencv-dnn' && r.status === 'unavailable') {
      skipUnless('opencv', r.reason ?? 'unavailable'); // throws when ECL_REQUIRE names opencv (CI)
      continue;
    }
    assert.equal(r.status, 'pass', `${r.runtime}: ${r.reason ?? r.failures?.join('; ')}`);
    assert.equal(r.comparison?.top1Agreement, 1);
    assert.deepEqual(r.disagreements, []);
    assert.equal(r.tail?.basis, 'label');
  }
  const server = report.results.find((r) => r.runtime === 'serve-classify')!;
  assert.equal(server.comparison?.logits, null, 'the server returns probabilities only');
  assert.match(server.ranOn ?? '', /\/v1\/classify/);
  assert.equal(server.inputsDiffer, null);
  assert.equal(report.results.find((r) => r.runtime === 'ort-node-cpu')!.inputsDiffer, 0, 'square files at the model size decode to the same bytes');
  if (web.length) {
    const w = report.results.find((r) => r.runtime === 'ort-web-wasm')!;
    assert.equal(w.inputsDiffer, 0, 'the browser decodes the same pixels');
    assert.match(w.ranOn ?? '', /CPUExecutionProvider: all \d+ nodes/);
  }
  const md = formatParityMarkdown(report);
  assert.match(md, /\| serve-classify \| PASS \|/);
  assert.match(md, /None: every runtime gives every image the reference's top-1/);
});

test('a wrong model lists every image whose top-1 changes, by file name', { timeout: 120_000 }, async () => {
  const bad = join(dir, 'bad.onnx');
  writeFileSync(bad, await perturbOnnxModel(readFileSync(model), 0.3, 'logits', { classIndex: 3 }));
  const report = await runParity({ runDir, model: bad, images: square, runtimes: ['serve-classify', 'ort-node-cpu'] });
  assert.equal(report.passed, false);
  for (const r of report.results) {
    assert.equal(r.status, 'fail');
    assert.equal(r.disagreements!.length, Math.round((1 - r.comparison!.top1Agreement) * 20));
    for (const d of r.disagreements!) {
      assert.match(d.image ?? '', /\.(png|jpg|webp)$/);
      assert.equal(d.runtime.index, 3, 'raising class 3 only moves images to class 3');
    }
  }
  const md = formatParityMarkdown(report);
  for (const d of report.results[0]!.disagreements!) assert.ok(md.includes(`\`${d.image}\``), `${d.image} listed`);
});

test('--reference onnx: a model without a checkpoint, unlabelled files grouped by the reference top-1', { timeout: 120_000 }, async () => {
  const flat = join(dir, 'flat');
  mkdirSync(flat);
  const files = await writeImageFolder(join(dir, 'tmp-flat'), { perClass: 1, formats: ['png'] });
  for (const f of files) writeFileSync(join(flat, f.split('/').pop()!), readFileSync(f));
  const report = await runParity({ model, images: flat, reference: 'onnx', runtimes: ['ort-node-cpu', 'serve-classify'] });
  assert.equal(report.checkpoint, null);
  assert.equal(report.reference.runtime, 'ort-node-cpu');
  assert.equal(report.reference.accuracy, null);
  assert.equal(report.classCounts.source, 'model metadata');
  assert.equal(report.passed, true, report.failures.join('; '));
  assert.equal(report.results[0]!.tail?.basis, 'reference-top1');
  assert.equal(report.results[0]!.tail?.classes[0]!.trainCount, 5);
});

test('bad image folders are usage errors naming the problem', async () => {
  await assert.rejects(runParity({ model, images: join(dir, 'missing'), reference: 'onnx' }), (e: unknown) => e instanceof UsageError && /no such folder/.test(e.message));
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(runParity({ model, images: empty, reference: 'onnx' }), (e: unknown) => e instanceof UsageError && /no \.png, \.jpg/.test(e.message));
  const fake = join(dir, 'fake');
  mkdirSync(fake);
  writeFileSync(join(fake, 'x.png'), 'not an image at all');
  await assert.rejects(runParity({ model, images: fake, reference: 'onnx' }), (e: unknown) => e instanceof UsageError && /x\.png: not a PNG, JPEG or WebP/.test(e.message));
  await assert.rejects(runParity({ runDir, runtimes: ['serve-classify'] }), (e: unknown) => e instanceof UsageError && /--images/.test(e.message));
});

// The reference decodes with the policy training used, every runtime with the one the model declares: the same
// policy passes on non-square files, another one fails on every runtime.
test(
  'non-square JPEGs: a model declaring the resize policy training used passes, one declaring another fails',
  { timeout: 300_000 },
  async () => {
    const wide = join(dir, 'wide');
    await writeImageFolder(wide, { perClass: 2, formats: ['jpeg'], size: [44, 28] });
    const runtimes = ['serve-classify', 'ort-node-cpu'] as const;
    // The fixture trained with the default policy (centre-crop).
    const same = join(dir, 'same-policy.onnx');
    writeFileSync(same, await setOnnxMetadata(readFileSync(model), METADATA_KEYS.resize, 'center-crop'));
    const ok = await runParity({ runDir, model: same, images: wide, runtimes: [...runtimes] });
    assert.equal(ok.images?.resize.training, 'center-crop');
    assert.equal(ok.passed, true, ok.failures.join('; '));
    const other = join(dir, 'other-policy.onnx');
    writeFileSync(other, await setOnnxMetadata(readFileSync(model), METADATA_KEYS.resize, 'stretch'));
    const bad = await runParity({ runDir, model: other, images: wide, runtimes: [...runtimes] });
    assert.equal(bad.images?.resize.model, 'stretch');
    assert.equal(bad.passed, false);
    for (const r of bad.results) assert.equal(r.status, 'fail', r.runtime);
  },
);
