// `ecl parity`: the exported model on every runtime against the model that was trained.
//
// Reference: the tfjs model (runners/tfjs.ts) on the cpu or wasm backend. Images: the run's own dataset test
// split (real images), uint8 NHWC, identical bytes for every runtime. Runtimes (named by the EP policy,
// serve/shared/ep-policy.ts): onnxruntime-node CPU / CUDA / native WebGPU (runners/ort-node.ts) and
// onnxruntime-web WASM / WebGPU in headless Chromium through the web app (runners/ort-web.ts). Runners only
// run; metrics.ts compares. A runtime that cannot run here is reported 'unavailable' with the reason, never dropped.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { assertModelFromCheckpoint, openRun } from '../../models/artifacts/run-dir.js';
import { INPUT_NAME, METADATA_KEYS, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import { PARITY_RUNTIMES, type RuntimeClass, type RuntimeName, RUNTIMES } from '../../serve/shared/ep-policy.js';
import { loadRunData, runCacheDir } from '../data/run-data.js';
import { subsetImageSet } from '../data/types.js';
import { argmaxRow, type Comparison, compareOutputs, evenlySpaced, type Tolerance } from './metrics.js';
import { runOrtNode } from './runners/ort-node.js';
import { runOrtWeb } from './runners/ort-web.js';
import { runTfjs } from './runners/tfjs.js';
import { errText, type ModelOutputs, type Samples, sliceRows } from './runners/types.js';

export { RUNTIMES, type RuntimeClass, type RuntimeName } from '../../serve/shared/ep-policy.js';
export { cleanEpReason } from './runners/ort-node.js';

/** Label and class of each runtime (from the EP policy). */
export const RUNTIME_INFO: Record<RuntimeName, { label: string; cls: RuntimeClass }> = Object.fromEntries(
  RUNTIMES.map((r) => [r, { label: PARITY_RUNTIMES[r].label, cls: PARITY_RUNTIMES[r].cls }]),
) as Record<RuntimeName, { label: string; cls: RuntimeClass }>;

export const DEFAULT_TOLERANCES: Record<RuntimeClass, Tolerance> = {
  cpu: { atol: 1e-4, rtol: 1e-3 },
  gpu: { atol: 1e-3, rtol: 1e-3 },
};
export const DEFAULT_WEBGPU_SAMPLES = 64;

export interface ParityOptions {
  /** runs/<name>: its checkpoint.ckpt, model.onnx and the dataset named in the checkpoint's config. */
  runDir: string;
  /** ONNX model (default <runDir>/model.onnx). */
  model?: string;
  /** Images for the CPU-class runtimes and the reference (default: the whole test split). */
  samples?: number;
  /** Images for the WebGPU runtimes (default 64: software WebGPU is slow); 0 = same as samples. */
  webgpuSamples?: number;
  atolCpu?: number;
  atolGpu?: number;
  rtol?: number;
  runtimes?: RuntimeName[];
  /** Runtimes whose being unavailable is a failure (default none). */
  require?: RuntimeName[];
  /** tfjs backend of the reference (default wasm; cpu is the slow pure-JS one). */
  referenceBackend?: 'cpu' | 'wasm';
  /** Batch size of every runtime (default 64). */
  batchSize?: number;
  /** Dataset folder override (default: the run config's dataRoot). */
  dataRoot?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface RuntimeResult {
  runtime: RuntimeName;
  label: string;
  class: RuntimeClass;
  status: 'pass' | 'fail' | 'unavailable' | 'error';
  /** Why it was unavailable or errored. */
  reason?: string;
  /** What really ran, e.g. 'CPUExecutionProvider' or 'WebGpuExecutionProvider: all 13 nodes (adapter google/swiftshader)'. */
  ranOn?: string;
  /** Why the status is 'fail' when the numbers alone do not say it (e.g. nodes off the EP). */
  failures?: string[];
  tolerance: Tolerance;
  samples?: number;
  comparison?: Omit<Comparison, 'top1Disagreements'> & { top1Disagreements: number[] };
  /** Inference time (ms) for all samples, excluding session creation. */
  inferenceMs?: number;
}

export interface ParityReport {
  run: string;
  model: { path: string; sha256: string };
  checkpoint: { path: string; sha256: string; epoch: number };
  dataset: { name: string; split: 'test'; size: number; samples: number; webgpuSamples: number };
  reference: { runtime: 'tfjs'; backend: string; accuracy: number; inferenceMs: number };
  tolerances: Record<RuntimeClass, Tolerance>;
  results: RuntimeResult[];
  passed: boolean;
  /** One line per failing runtime. */
  failures: string[];
  machine: { platform: string; arch: string; cpus: number; node: string };
  createdAt: string;
}

export async function runParity(opts: ParityOptions): Promise<ParityReport> {
  const log = opts.log ?? (() => {});
  const runDir = opts.runDir;
  const run = openRun(runDir);
  const ck = run.checkpoint;
  const modelPath = resolve(opts.model ?? run.paths.model);
  if (!existsSync(modelPath)) throw new Error(`model not found: ${modelPath} (export it first: ecl export ${runDir})`);
  const modelBytes = readFileSync(modelPath);
  const modelSha = createHash('sha256').update(modelBytes).digest('hex');
  const props = parseOnnxMetadataProps(modelBytes);
  assertModelFromCheckpoint(modelPath, props[METADATA_KEYS.checkpointSha256], run);

  const tolerances: Record<RuntimeClass, Tolerance> = {
    cpu: { atol: opts.atolCpu ?? DEFAULT_TOLERANCES.cpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.cpu.rtol },
    gpu: { atol: opts.atolGpu ?? DEFAULT_TOLERANCES.gpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.gpu.rtol },
  };
  for (const [k, t] of Object.entries(tolerances))
    if (!(t.atol >= 0) || !(t.rtol >= 0)) throw new Error(`${k} tolerances must be >= 0 (atol ${t.atol}, rtol ${t.rtol})`);
  const runtimes = opts.runtimes?.length ? opts.runtimes : [...RUNTIMES];
  for (const r of [...runtimes, ...(opts.require ?? [])]) if (!(RUNTIMES as readonly string[]).includes(r)) throw new Error(`unknown runtime '${r}' (expected: ${RUNTIMES.join(', ')})`);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);

  // Dataset: the run's own test split.
  const cfg = run.dataset();
  log(`dataset ${cfg.dataset} (test split)`);
  const data = await loadRunData(cfg, { root: opts.dataRoot, cacheDir: runCacheDir(run.dir), log });
  const test = data.test;
  const spec = ck.meta.spec;
  if (test.height !== spec.input.height || test.width !== spec.input.width || test.channels !== spec.input.channels)
    throw new Error(`test images are ${test.height}x${test.width}x${test.channels} but the model takes ${spec.input.height}x${spec.input.width}x${spec.input.channels}`);
  const nAll = opts.samples && opts.samples > 0 ? Math.min(opts.samples, test.count) : test.count;
  const positions = evenlySpaced(test.count, nAll);
  const sampleSet = subsetImageSet(test, positions);
  const samples: Samples = sampleSet;
  const wgReq = opts.webgpuSamples ?? DEFAULT_WEBGPU_SAMPLES;
  const nGpu = wgReq > 0 ? Math.min(wgReq, nAll) : nAll;
  const gpuRows = evenlySpaced(nAll, nGpu);
  const gpuSamples: Samples = subsetImageSet(sampleSet, gpuRows);

  // Reference: the trained tfjs model.
  const refBackend = opts.referenceBackend ?? 'wasm';
  log(`reference: tfjs ${refBackend} on ${nAll} of ${test.count} test images`);
  const refRun = await runTfjs(spec, ck.params, samples, { backend: refBackend, batchSize });
  const backend = refRun.backend;
  const ref: ModelOutputs = refRun.out;
  const refMs = refRun.ms;
  const C = spec.numClasses;
  let refCorrect = 0;
  for (let i = 0; i < nAll; i++) if (argmaxRow(ref.logits, i * C, C) === samples.labels[i]) refCorrect++;
  const refGpu: ModelOutputs = { logits: sliceRows(ref.logits, gpuRows, C), probs: sliceRows(ref.probs, gpuRows, C) };

  const inputName = props[METADATA_KEYS.inputName] || INPUT_NAME;
  const shape: [number, number, number] = [spec.input.height, spec.input.width, spec.input.channels];
  const results: RuntimeResult[] = [];
  // WebGPU (software in CI, SwiftShader) is slow: it gets --webgpu-samples; CUDA and the CPU runtimes get them all.
  const usesWebgpuSamples = (rt: RuntimeName) => PARITY_RUNTIMES[rt].ep === 'webgpu';

  const finish = (rt: RuntimeName, s: Samples, r: ModelOutputs, out: ModelOutputs, ms: number, ranOn: string, extraFailures: string[] = []): RuntimeResult => {
    const { cls, label } = RUNTIME_INFO[rt];
    const tol = tolerances[cls];
    const cmp = compareOutputs(out, r, s.labels, s.count, C, tol);
    const failures = [...extraFailures];
    if (cmp.violations) failures.push(`${cmp.violations} of ${2 * s.count * C} values outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|`);
    if (cmp.nonFinite) failures.push(`${cmp.nonFinite} non-finite values`);
    return {
      runtime: rt,
      label,
      class: cls,
      status: failures.length ? 'fail' : 'pass',
      ranOn,
      ...(failures.length ? { failures } : {}),
      tolerance: tol,
      samples: s.count,
      comparison: cmp,
      inferenceMs: ms,
    };
  };
  const unavailable = (rt: RuntimeName, reason: string): RuntimeResult => ({
    runtime: rt,
    label: RUNTIME_INFO[rt].label,
    class: RUNTIME_INFO[rt].cls,
    status: 'unavailable',
    reason,
    tolerance: tolerances[RUNTIME_INFO[rt].cls],
  });
  const errored = (rt: RuntimeName, reason: string): RuntimeResult => ({ ...unavailable(rt, reason), status: 'error' });

  // onnxruntime-node
  for (const rt of runtimes) {
    const info = PARITY_RUNTIMES[rt];
    if (info.host !== 'node') continue;
    const ep = info.ep;
    const [s, r] = usesWebgpuSamples(rt) ? [gpuSamples, refGpu] : [samples, ref];
    log(`${rt}: ${s.count} images`);
    try {
      const res = await runOrtNode(ep, modelPath, s, { shape, batchSize, inputName });
      results.push('unavailable' in res ? unavailable(rt, res.unavailable) : finish(rt, s, r, res.out, res.ms, res.ranOn));
    } catch (e) {
      results.push(errored(rt, errText(e)));
    }
  }

  // onnxruntime-web in Chromium
  const web = runtimes.filter((r) => PARITY_RUNTIMES[r].host === 'web');
  const webResults = await runOrtWeb(modelPath, web, (rt) => (usesWebgpuSamples(rt) ? gpuSamples : samples), batchSize, log);
  for (const [rt, res] of webResults) {
    if ('unavailable' in res) results.push(unavailable(rt, res.unavailable));
    else if ('error' in res) results.push(errored(rt, res.error));
    else {
      const [s, r] = usesWebgpuSamples(rt) ? [gpuSamples, refGpu] : [samples, ref];
      results.push(finish(rt, s, r, res.out, res.ms, res.ranOn, res.failures));
    }
  }

  results.sort((a, b) => RUNTIMES.indexOf(a.runtime) - RUNTIMES.indexOf(b.runtime));
  const required = new Set(opts.require ?? []);
  const failures = results.flatMap((r) => {
    if (r.status === 'fail') return [`${r.runtime}: ${(r.failures ?? []).join('; ')}`];
    if (r.status === 'error') return [`${r.runtime}: error: ${r.reason}`];
    if (r.status === 'unavailable' && required.has(r.runtime)) return [`${r.runtime}: required but unavailable: ${r.reason}`];
    return [];
  });
  for (const rq of required) if (!runtimes.includes(rq)) failures.push(`${rq}: required but not in --runtimes`);
  return {
    run: runDir,
    model: { path: modelPath, sha256: modelSha },
    checkpoint: { path: resolve(run.paths.checkpoint), sha256: run.checkpointSha256, epoch: ck.meta.epoch },
    dataset: { name: cfg.dataset, split: 'test', size: test.count, samples: nAll, webgpuSamples: nGpu },
    reference: { runtime: 'tfjs', backend: backend.name, accuracy: nAll ? refCorrect / nAll : 0, inferenceMs: refMs },
    tolerances,
    results,
    passed: failures.length === 0,
    failures,
    machine: { platform: process.platform, arch: process.arch, cpus: cpus().length, node: process.version },
    createdAt: new Date().toISOString(),
  };
}
