// The parity harness end to end on a real exported model and real test images (the shipped embedded
// Fashion-MNIST subset): a faithful export passes on onnxruntime-node CPU and onnxruntime-web WASM in Chromium,
// runtimes that cannot run here are reported unavailable with a reason, and a deliberately perturbed model
// (one bias initializer + 0.01) fails with a non-zero exit code from the command.
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
import { formatParityMarkdown } from '../../pipeline/parity/report.js';

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
  const r = spawnSync(process.execPath, [MAIN, 'parity', '--run', runDir, '--model', bad, '--samples', '100', '--runtimes', 'ort-node-cpu', '--out', out, '--quiet'], {
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
});

test('a required runtime that is unavailable fails the run', { timeout: 120_000 }, async () => {
  const report = await runParity({ runDir, samples: 20, runtimes: ['ort-node-cuda'], require: ['ort-node-cuda'] });
  const cuda = report.results[0]!;
  if (cuda.status === 'unavailable') {
    assert.equal(report.passed, false);
    assert.match(report.failures[0]!, /ort-node-cuda: required but unavailable/);
  } else assert.equal(cuda.status, 'pass');
});
