// scripts/gpu-check.sh as a dry run (GPU_CHECK_SMALL=1) on whatever this machine has: every stage of the list appears
// in OUT/summary.json and summary.md, the selected ones with numbers or "skipped: no GPU (why)" (a dry run on the CPU
// where the GPU is missing), never a crash or an unreported stage; a stage that breaks is reported as "failed" with
// its exit code and last log line; the time budget skips what it cannot fit. Small settings and a subset of stages
// (one of each kind) keep it short; the full list is exercised by `GPU_CHECK_SMALL=1 scripts/gpu-check.sh OUT`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { writeExportedFixtureRun } from '../helpers/parity-fixture.js';
import { skipUnless } from '../helpers/require.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'gpu-check.sh');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface Summary {
  probe: Record<string, { ok: boolean; detail: string }>;
  stages: { name: string; state: 'result' | 'skipped' | 'failed' | 'not-selected'; line: string; exit?: number; dryRun?: boolean }[];
}

let dir: string;
let runDir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-gpu-check-'));
  runDir = join(dir, 'run');
  ({ model } = await writeExportedFixtureRun(runDir));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function gpuCheck(out: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT, out, ...args],
      { cwd: ROOT, timeout: 240_000, maxBuffer: 64 << 20, env: { ...process.env, GPU_CHECK_SMALL: '1', PYTHON, GPU_CHECK_DEMO_MODEL: model, GPU_CHECK_PARITY_RUN: runDir, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Every stage the script knows, in its order (its ALL_STAGES line). */
function allStages(): string[] {
  const src = readFileSync(SCRIPT, 'utf8');
  const m = /^ALL_STAGES="([^"]+)"/m.exec(src);
  assert.ok(m, 'ALL_STAGES in gpu-check.sh');
  return m[1]!.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
}

function readSummary(out: string): Summary {
  return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
}

test('dry run: one stage of each kind reports numbers or "skipped: no GPU", every stage is in the summary', { timeout: 300_000 }, async () => {
  const out = join(dir, 'dry');
  const picked = ['serve-demo-cuda', 'torch-infer-demo', 'parity-gpu', 'numerics-cnn28-real'];
  const r = await gpuCheck(out, { GPU_CHECK_STAGES: picked.join(' ') });
  const s = readSummary(out);
  const failed = s.stages.filter((x) => x.state === 'failed').map((x) => `${x.name}: ${x.line}`);
  assert.deepEqual(failed, [], `no stage failed (exit ${r.code}; stderr ${r.stderr.slice(-2000)})`);
  assert.equal(r.code, 0);
  const names = allStages();
  assert.ok(names.length >= 15, `the full list: ${names.join(' ')}`);
  assert.deepEqual(
    s.stages.map((x) => x.name),
    names,
    'every stage, in order',
  );
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  for (const n of names) assert.match(md, new RegExp(`^- \\*\\*${n}\\*\\*: \\S`, 'm'), `${n} has a line in summary.md`);
  for (const x of s.stages) {
    if (!picked.includes(x.name)) {
      assert.equal(x.state, 'not-selected', x.name);
      continue;
    }
    assert.ok(x.state === 'result' || x.state === 'skipped', `${x.name}: ${x.line}`);
    if (x.state === 'skipped') assert.match(x.line, /^skipped: no GPU \(.{10,}\)/, `${x.name} says why: ${x.line}`);
  }
  const by = (n: string) => s.stages.find((x) => x.name === n)!;

  // Serving: on CUDA, or (no CUDA here) the same benchmark on the CPU with its numbers in the line.
  const serve = by('serve-demo-cuda');
  if (s.probe.ortCuda?.ok) assert.match(serve.line, /^ep cuda, binary payload.*c=1: \d+ req\/s vs session\.run \d+ img\/s/);
  else assert.match(serve.line, /dry run on the CPU instead: ep cpu, binary payload, max-batch 256; c=1: \d+ req\/s vs session\.run \d+ img\/s = [\d.]+× .*c=4:/);
  const report = JSON.parse(readFileSync(join(out, 'serve-demo.json'), 'utf8')) as { results: Array<{ payload: string; levels: { concurrency: number; requests: number; non2xx: number }[] }> };
  assert.deepEqual(report.results.map((r) => r.payload), ['binary']);
  const served = report.results[0]!;
  assert.deepEqual(served.levels.map((l) => l.concurrency), [1, 4]);
  for (const l of served.levels) assert.ok(l.requests > 0 && l.non2xx === 0, `c=${l.concurrency}: ${l.requests} requests, ${l.non2xx} non-2xx`);

  // PyTorch from the ONNX graph: the same logits as onnxruntime-node (or skipped where torch is missing).
  const torch = by('torch-infer-demo');
  if (s.probe.torch?.ok) {
    const j = JSON.parse(readFileSync(join(out, 'torch-infer-demo.json'), 'utf8')) as { check: { maxAbsDiff: number; argmaxAgree: number; images: number }; levels: { batch: number }[] };
    assert.ok(j.check.maxAbsDiff < 1e-4, `torch vs onnxruntime-node max|Δ| ${j.check.maxAbsDiff}`);
    assert.equal(j.check.argmaxAgree, 1);
    assert.equal(j.check.images, 16);
    assert.deepEqual(j.levels.map((l) => l.batch), [1, 4]);
    assert.match(torch.line, /logits vs onnxruntime-node cpu max\|Δ\| /);
  } else assert.match(torch.line, /^skipped: no GPU \(torchCuda: /);

  // Parity: the CPU row passes; the GPU rows pass or are unavailable with their reason.
  const parity = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8')) as { passed: boolean; results: { runtime: string; status: string; reason?: string }[] };
  assert.equal(parity.passed, true);
  assert.deepEqual(parity.results.map((x) => x.runtime), ['ort-node-cpu', 'ort-node-cuda', 'ort-node-webgpu']);
  assert.equal(parity.results[0]!.status, 'pass');
  for (const row of parity.results.slice(1)) assert.ok(row.status === 'pass' || (row.status === 'unavailable' && (row.reason ?? '').length > 10), `${row.runtime}: ${row.status} ${row.reason ?? ''}`);
  assert.match(by('parity-gpu').line, /PASS vs tfjs .* ort-node-cpu PASS on 200 images/);

  // Training numerics on a WebGPU adapter (SwiftShader in a dry run) against the wasm path.
  const num = by('numerics-cnn28-real');
  if (s.probe.tfjsWebgpu?.ok) assert.match(num.line, /^pass: cnn28 la-ce embedded 2 steps, wasm vs webgpu, max rel loss diff .* \[wasm: cpu; webgpu: /);
  else {
    // No adapter at all (not even SwiftShader): fine locally, a failure where ECL_REQUIRE names webgpu (CI).
    skipUnless('webgpu', s.probe.tfjsWebgpu?.detail ?? 'not probed');
    assert.match(num.line, /^skipped: no GPU \(tfjsWebgpu: /);
  }
});

test('a stage that breaks is reported as failed with its exit code and last log line; the budget skips the rest', { timeout: 120_000 }, async () => {
  const out = join(dir, 'broken');
  const r = await gpuCheck(out, { GPU_CHECK_STAGES: 'serve-demo-cuda', GPU_CHECK_DEMO_MODEL: join(dir, 'missing', 'model.onnx') });
  assert.equal(r.code, 1, 'a failed stage makes the run exit 1');
  const serve = readSummary(out).stages.find((x) => x.name === 'serve-demo-cuda')!;
  assert.equal(serve.state, 'failed');
  assert.match(serve.line, /^failed.*: exit [1-9]\d* after \d+ s; last log line: .*missing/);

  const out2 = join(dir, 'budget');
  const r2 = await gpuCheck(out2, { GPU_CHECK_BUDGET_S: '0' }, ['profile', 'parity-gpu']);
  assert.equal(r2.code, 0, r2.stderr.slice(-2000));
  const s2 = readSummary(out2);
  for (const n of ['profile', 'parity-gpu']) assert.match(s2.stages.find((x) => x.name === n)!.line, /^skipped: out of time/);
  assert.equal(s2.stages.find((x) => x.name === 'bench-512')!.state, 'not-selected');
});

test('an unknown stage name is refused before anything runs', async () => {
  const r = await gpuCheck(join(dir, 'unknown'), {}, ['serve-demo-cuda', 'no-such-stage']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown stage 'no-such-stage' \(stages: serve-demo-cuda /);
  assert.equal(existsSync(join(dir, 'unknown')), false, 'nothing written');
});
