// The parity harness end to end on a real exported model and real test images (the shipped embedded
// Fashion-MNIST subset): a faithful export passes on onnxruntime-node CPU and onnxruntime-web WASM in Chromium,
// runtimes that cannot run here are reported unavailable with a reason, and a deliberately perturbed model
// (one bias initializer + 0.01) fails with a non-zero exit code from the command. Tail-aware: a model off on one
// rare class only fails that class's line while overall agreement stays >= 99%. OpenCV DNN is a second ONNX
// implementation; outputs saved on one machine come back as rows on another.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { findChromium } from '../../pipeline/parity/browser.js';
import { perturbOnnxModel, writeExportedFixtureRun } from '../helpers/parity-fixture.js';
import { type ParityReport, runParity } from '../../pipeline/parity/harness.js';
import { parityHandler } from '../../pipeline/cli/parity.js';
import { CheckFailedError, UsageError } from '../../pipeline/cli/errors.js';
import { formatParityMarkdown } from '../../pipeline/parity/report.js';
import { skipUnless } from '../helpers/require.js';

const MAIN = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
let dir: string;
let runDir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-parity-'));
  runDir = join(dir, 'run');
  ({ model } = await writeExportedFixtureRun(runDir));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a faithful export passes; unavailable runtimes are reported with reasons, not dropped', { timeout: 240_000 }, async () => {
  const web = findChromium() ? (['ort-web-wasm'] as const) : [];
  const report = await runParity({ runDir, samples: 200, runtimes: ['ort-node-cpu', 'ort-node-cuda', 'ort-node-webgpu', ...web] });
  assert.equal(report.passed, true, report.failures.join('; '));
  assert.equal(report.dataset?.name, 'embedded');
  assert.equal(report.dataset?.samples, 200);
  assert.equal(report.results.length, 3 + web.length);
  const cpu = report.results.find((r) => r.runtime === 'ort-node-cpu')!;
  assert.equal(cpu.status, 'pass');
  assert.equal(cpu.comparison?.count, 200);
  assert.ok(cpu.comparison!.logits!.maxAbs < 1e-4);
  assert.equal(cpu.comparison?.top1Agreement, 1);
  assert.equal(cpu.comparison?.accuracy, report.reference.accuracy);
  for (const rt of ['ort-node-cuda', 'ort-node-webgpu'] as const) {
    const r = report.results.find((x) => x.runtime === rt)!;
    // On a GPU machine with the providers these may run; then they must pass.
    if (r.status === 'unavailable') assert.ok((r.reason ?? '').length > 10, `${rt} has a reason: ${r.reason}`);
    else assert.equal(r.status, 'pass');
  }
  if (web.length) {
    const w = report.results.find((x) => x.runtime === 'ort-web-wasm')!;
    assert.equal(w.status, 'pass', w.reason ?? w.failures?.join('; '));
    assert.match(w.ranOn ?? '', /CPUExecutionProvider: all \d+ nodes/);
    assert.equal(w.comparison?.top1Agreement, 1);
  }
  const md = formatParityMarkdown(report);
  assert.match(md, /\| ort-node-cpu \| PASS \|/);
  assert.match(md, /ort-node-cuda .*unavailable: /);
  assert.match(md, /\*\*Result: PASS\*\*/);
});

test('a perturbed model fails: parity.json says so and the command exits non-zero', { timeout: 240_000 }, async () => {
  const bad = join(dir, 'perturbed.onnx');
  writeFileSync(bad, await perturbOnnxModel(readFileSync(model), 0.01));
  const out = join(dir, 'out', 'parity.json');
  const r = spawnSync(process.execPath, [MAIN, 'parity', runDir, '--model', bad, '--samples', '100', '--runtimes', 'ort-node-cpu', '--out', out, '--quiet'], {
    encoding: 'utf8',
    timeout: 200_000,
  });
  assert.notEqual(r.status, 0, `exit code must be non-zero; stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /parity failed: ort-node-cpu: \d+ of \d+ values outside atol/);
  assert.match(r.stdout, /\| ort-node-cpu \| \*\*FAIL\*\* \|/);
  assert.ok(existsSync(join(dir, 'out', 'parity.md')));
  const report = JSON.parse(readFileSync(out, 'utf8')) as ParityReport;
  assert.equal(report.passed, false);
  const cpu = report.results[0]!;
  assert.equal(cpu.status, 'fail');
  assert.ok(cpu.comparison!.logits!.maxAbs > 0.009 && cpu.comparison!.logits!.maxAbs < 0.011, `max |Δlogit| ${cpu.comparison!.logits!.maxAbs}`);
  assert.equal(cpu.comparison!.worst?.output, 'logits');

  // The same model passes when the tolerance allows the shift: the failure is the tolerance rule, not a crash.
  const ok = spawnSync(process.execPath, [MAIN, 'parity', '--run', runDir, '--model', bad, '--samples', '50', '--runtimes', 'ort-node-cpu', '--atol-cpu', '0.02', '--out', join(dir, 'out2', 'p.json'), '--quiet'], {
    encoding: 'utf8',
    timeout: 200_000,
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /--run is deprecated/, 'the old flag still works, with a note');
});

test('a required runtime that is unavailable fails the run', { timeout: 120_000 }, async () => {
  const report = await runParity({ runDir, samples: 20, runtimes: ['ort-node-cuda'], require: ['ort-node-cuda'] });
  const cuda = report.results[0]!;
  if (cuda.status === 'unavailable') {
    assert.equal(report.passed, false);
    assert.match(report.failures[0]!, /ort-node-cuda: required but unavailable/);
  } else assert.equal(cuda.status, 'pass');
});

test('tail: a model off on one rare class only fails that class line while top-1 agreement stays >= 99%', { timeout: 240_000 }, async () => {
  // Class 9 (Ankle boot) has 5 training images: few-shot. Only its logit bias moves.
  const bad = join(dir, 'rare.onnx');
  writeFileSync(bad, await perturbOnnxModel(readFileSync(model), -1e-3, 'logits', { classIndex: 9 }));
  const report = await runParity({ runDir, model: bad, runtimes: ['ort-node-cpu'] });
  const cpu = report.results[0]!;
  assert.equal(report.dataset?.samples, 1000);
  assert.equal(cpu.status, 'fail');
  assert.ok(cpu.comparison!.top1Agreement >= 0.99, `overall top-1 agreement ${cpu.comparison!.top1Agreement}`);
  const tail = cpu.tail!;
  assert.equal(tail.basis, 'label');
  assert.equal(tail.classes[0]!.classIndex, 9, 'rarest first');
  assert.equal(tail.classes[0]!.group, 'few');
  assert.equal(tail.classes[0]!.pass, false);
  assert.equal(tail.failing[0], 9);
  assert.equal(tail.classes[0]!.violations, 1000, 'class 9 logit is off on every image');
  // Every other class's column is exact; one whose images all keep their top-1 passes.
  for (const c of tail.classes.slice(1)) {
    assert.equal(c.violations, 0, `class ${c.classIndex} column`);
    if (c.top1Agreement === 1) assert.equal(c.pass, true);
  }
  assert.equal(tail.groups.find((g) => g.group === 'few')!.pass, false);
  assert.match(cpu.failures!.join('; '), /classes off: Ankle boot \(few, 5 training images\)/);
  const md = formatParityMarkdown(report);
  assert.match(md, /\| 9 Ankle boot \| 5 \| few \| 100 \| \*\*FAIL\*\* /);
  assert.match(md, /\| 7 Sneaker \| 14 \| few \| 100 \| 100\.0% /);
});

test('opencv-dnn: a second ONNX implementation passes on the exported model (CPU tolerances)', { timeout: 240_000 }, async () => {
  const report = await runParity({ runDir, samples: 300, runtimes: ['opencv-dnn'] });
  const cv = report.results[0]!;
  if (cv.status === 'unavailable') {
    assert.match(cv.reason ?? '', /python3|cv2/);
    skipUnless('opencv', cv.reason ?? 'unavailable'); // fails here when ECL_REQUIRE names opencv (CI)
    return;
  }
  assert.equal(cv.status, 'pass', cv.reason ?? cv.failures?.join('; '));
  assert.match(cv.ranOn ?? '', /^OpenCV \d+\.\d+\.\d+ DNN/);
  assert.equal(cv.comparison?.top1Agreement, 1);
  assert.ok(cv.comparison!.logits!.maxAbs < 1e-4);
  // The same row catches a wrong model: OpenCV runs the file it is given.
  const bad = join(dir, 'cv-bad.onnx');
  writeFileSync(bad, await perturbOnnxModel(readFileSync(model), 0.01));
  const r2 = await runParity({ runDir, model: bad, samples: 50, runtimes: ['opencv-dnn'] });
  assert.equal(r2.results[0]!.status, 'fail');
});

test('saved outputs (--save-outputs, --load-outputs): saved rows come back compared with this reference; another model is refused', { timeout: 240_000 }, async () => {
  const first = await runParity({ runDir, samples: 120, runtimes: ['ort-node-cpu'] });
  const saved = join(dir, 'saved.json');
  writeFileSync(saved, JSON.stringify(first.saved));
  assert.equal(first.saved.inputs.kind, 'dataset');
  assert.equal(first.saved.model.sha256, first.model.sha256);
  // The second machine checks more images; the 120 shared ones are compared.
  const second = await runParity({ runDir, samples: 240, runtimes: ['ort-node-cpu'], loadOutputs: [saved] });
  const loaded = second.results.filter((r) => r.source === saved);
  assert.deepEqual(loaded.map((r) => r.runtime.split('@')[0]), ['tfjs', 'ort-node-cpu']);
  for (const r of loaded) {
    assert.equal(r.status, 'pass', r.failures?.join('; '));
    assert.equal(r.samples, 120);
  }
  // A tampered saved row fails like a local one.
  const t = JSON.parse(readFileSync(saved, 'utf8')) as typeof first.saved;
  const probs = Buffer.from(t.rows[0]!.probs, 'base64');
  probs.writeFloatLE(probs.readFloatLE(0) + 0.01, 0);
  t.rows[0]!.probs = probs.toString('base64');
  writeFileSync(join(dir, 'tampered.json'), JSON.stringify(t));
  const third = await runParity({ runDir, samples: 120, runtimes: [], loadOutputs: [join(dir, 'tampered.json')] });
  assert.equal(third.results.find((r) => r.runtime.startsWith('ort-node-cpu@'))!.status, 'fail');
  // Outputs of another model: a usage error naming both hashes.
  const other = join(dir, 'other.onnx');
  writeFileSync(other, await perturbOnnxModel(readFileSync(model), 0.5));
  await assert.rejects(runParity({ runDir, model: other, samples: 10, runtimes: ['ort-node-cpu'], loadOutputs: [saved] }), (e: unknown) => e instanceof UsageError && /saved for model sha256 [0-9a-f]{12}…, this model is/.test(e.message));
});

test('the command: a failed parity throws CheckFailedError; bad options are UsageErrors', { timeout: 120_000 }, async () => {
  const bad = join(dir, 'cmd-bad.onnx');
  writeFileSync(bad, await perturbOnnxModel(readFileSync(model), 0.05));
  const base = { 'webgpu-samples': 64, 'atol-cpu': 1e-4, 'atol-gpu': 1e-3, rtol: 1e-3, 'reference-backend': 'wasm', 'batch-size': 64, quiet: true } as const;
  {
    await assert.rejects(parityHandler({ ...base, run: runDir, model: bad, samples: 20, runtimes: ['ort-node-cpu'], out: join(dir, 'cmd', 'p.json') }), CheckFailedError);
    await assert.rejects(parityHandler({ ...base, run: runDir, runtimes: ['nope'] }), (e: unknown) => e instanceof UsageError && /unknown runtime 'nope'/.test(e.message));
    await assert.rejects(parityHandler({ ...base }), UsageError);
    await assert.rejects(parityHandler({ ...base, model: bad, runtimes: ['ort-node-cpu'] }), (e: unknown) => e instanceof UsageError && /--images DIR/.test(e.message));
    await assert.rejects(parityHandler({ ...base, model: bad, reference: 'tfjs', images: dir }), (e: unknown) => e instanceof UsageError && /--reference onnx/.test(e.message));
  }
  assert.ok(existsSync(join(dir, 'cmd', 'p.md')));
});
