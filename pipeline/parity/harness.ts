// `ecl parity`: the exported model on every runtime against a reference.
//
// Reference: the trained tfjs model (runners/tfjs.ts), or with --reference onnx onnxruntime-node CPU on the
// model itself (for a model without a checkpoint). Inputs, one of:
//   - tensors: the run's own dataset test split, uint8 NHWC, identical bytes for every runtime;
//   - raw images (--images DIR): the original files through each runtime's own full path (raw-path.ts).
// Runtimes: onnxruntime-node CPU / CUDA / native WebGPU, onnxruntime-web WASM / WebGPU in headless Chromium
// through the web app, OpenCV DNN (a second, independent ONNX implementation), the server's /v1/classify
// (raw images), and rows loaded from another machine (--load-outputs). Runners only run; metrics.ts and
// tail.ts compare (evaluate.ts). A runtime that cannot run here is reported 'unavailable' with the reason.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { assertModelFromCheckpoint, openRun } from '../../models/artifacts/run-dir.js';
import { inputSpecFromMetadata, labelsFromMetadata, METADATA_KEYS, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import type { RuntimeClass } from '../../serve/shared/ep-policy.js';
import { UsageError } from '../cli/errors.js';
import { evaluateRow, type RowName, type RowOutput, type RuntimeResult } from './evaluate.js';
import type { Tolerance } from './metrics.js';
import { DEFAULT_TOLERANCES, DEFAULT_WEBGPU_SAMPLES, PARITY_ROWS, type ParityModel, type ParityReport, type ParityRow, type PathResult, ROW_INFO } from './parity-types.js';
import { rawInputs, runRawRows } from './raw-path.js';
import { f32ToB64, loadSavedOutputs, savedOutputs, type SavedOutputs } from './saved-outputs.js';
import { runTensorRows, tensorInputs } from './tensor-path.js';

export { RUNTIMES, type RuntimeClass, type RuntimeName } from '../../serve/shared/ep-policy.js';
export { cleanEpReason } from './runners/ort-node.js';
export type { RuntimeResult } from './evaluate.js';
export * from './parity-types.js';



export interface ParityOptions {
  /** runs/<name>: its checkpoint.ckpt (the tfjs reference, class counts), model.onnx and dataset. Optional with --reference onnx. */
  runDir?: string;
  /** ONNX model (default <runDir>/model.onnx). */
  model?: string;
  /** Raw images: a folder of PNG/JPEG/WebP files (or DIR/<label>/ files), each through every runtime's own path. */
  images?: string;
  /** 'tfjs' (default with a run): the trained model; 'onnx': onnxruntime-node CPU on the model. */
  reference?: 'tfjs' | 'onnx';
  /** Images for the CPU-class runtimes and the reference (default: the whole test split). */
  samples?: number;
  /** Images for the WebGPU runtimes (default 64: software WebGPU is slow); 0 = same as samples. Tensor path only. */
  webgpuSamples?: number;
  atolCpu?: number;
  atolGpu?: number;
  rtol?: number;
  runtimes?: ParityRow[];
  /** Runtimes whose being unavailable is a failure (default none). */
  require?: ParityRow[];
  /** tfjs backend of the reference (default wasm; cpu is the slow pure-JS one). */
  referenceBackend?: 'cpu' | 'wasm';
  /** Batch size of every runtime (default 64). */
  batchSize?: number;
  /** Dataset folder override (default: the run config's dataRoot). */
  dataRoot?: string;
  /** Interpreter with cv2 for the opencv-dnn row (default /usr/bin/python3). */
  opencvPython?: string;
  /** Saved outputs of other machines (ecl parity --save-outputs), each row compared with this reference. */
  loadOutputs?: string[];
  /** Progress lines. */
  log?: (line: string) => void;
}




const parseJson = (s: string | undefined): unknown => {
  try {
    return s === undefined ? undefined : (JSON.parse(s) as unknown);
  } catch {
    return undefined;
  }
};

export async function runParity(opts: ParityOptions): Promise<ParityReport & { saved: SavedOutputs }> {
  const log = opts.log ?? (() => {});
  const run = opts.runDir ? openRun(opts.runDir) : null;
  if (!opts.model && !run) throw new UsageError('give a run directory (ecl parity runs/<name>) or --model model.onnx');
  const modelPath = resolve(opts.model ?? run!.paths.model);
  if (!existsSync(modelPath)) throw new UsageError(`model not found: ${modelPath}${run ? ` (export it first: ecl export ${opts.runDir})` : ''}`);
  const modelBytes = readFileSync(modelPath);
  const props = parseOnnxMetadataProps(modelBytes);
  if (run) assertModelFromCheckpoint(modelPath, props[METADATA_KEYS.checkpointSha256], run);
  const reference = opts.reference ?? (run ? 'tfjs' : 'onnx');
  if (reference === 'tfjs' && !run) throw new UsageError('--reference tfjs needs a run with its checkpoint; for a model alone use --reference onnx');

  const spec = run?.checkpoint.meta.spec;
  const inSpec = inputSpecFromMetadata(props);
  const shape: [number, number, number] = spec ? [spec.input.height, spec.input.width, spec.input.channels] : [inSpec.height, inSpec.width, inSpec.channels];
  const numClasses = spec?.numClasses ?? (Number(props[METADATA_KEYS.numClasses]) || labelsFromMetadata(props).length);
  if (!(numClasses > 0)) throw new UsageError(`${modelPath}: cannot tell the number of classes (no num_classes or class_labels metadata)`);
  const names = run?.checkpoint.meta.classNames;
  const labels = names && names.length === numClasses ? names : labelsFromMetadata(props, numClasses);
  const ckCounts = run?.checkpoint.meta.classCounts;
  const mdCounts = parseJson(props[METADATA_KEYS.classCounts]);
  const classCounts: ParityReport['classCounts'] =
    Array.isArray(ckCounts) && ckCounts.length === numClasses
      ? { source: 'checkpoint', counts: ckCounts.slice() }
      : Array.isArray(mdCounts) && mdCounts.length === numClasses && mdCounts.every((v) => typeof v === 'number')
        ? { source: 'model metadata', counts: mdCounts as number[] }
        : { source: 'none', counts: null };

  const tolerances: Record<RuntimeClass, Tolerance> = {
    cpu: { atol: opts.atolCpu ?? DEFAULT_TOLERANCES.cpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.cpu.rtol },
    gpu: { atol: opts.atolGpu ?? DEFAULT_TOLERANCES.gpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.gpu.rtol },
  };
  for (const [k, t] of Object.entries(tolerances))
    if (!(t.atol >= 0) || !(t.rtol >= 0)) throw new UsageError(`${k} tolerances must be >= 0 (atol ${t.atol}, rtol ${t.rtol})`);
  const mode = opts.images ? 'images' : 'tensors';
  const all: readonly ParityRow[] = mode === 'images' ? PARITY_ROWS : PARITY_ROWS.filter((r) => r !== 'serve-classify');
  const rowsWanted = opts.runtimes?.length ? opts.runtimes : all;
  for (const r of [...rowsWanted, ...(opts.require ?? [])]) {
    if (!(PARITY_ROWS as readonly string[]).includes(r)) throw new UsageError(`unknown runtime '${r}' (expected: ${PARITY_ROWS.join(', ')})`);
    if (r === 'serve-classify' && mode !== 'images') throw new UsageError('serve-classify takes raw images: add --images DIR');
  }
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batch size must be a positive integer, got ${batchSize}`);

  const m: ParityModel = { path: modelPath, sha256: createHash('sha256').update(modelBytes).digest('hex'), props, run, shape, numClasses, labels, inputName: inSpec.name };
  const common = { model: m, reference, rows: rowsWanted, batchSize, log, opencvPython: opts.opencvPython, referenceBackend: opts.referenceBackend ?? 'wasm' } as const;
  const p: PathResult =
    mode === 'images'
      ? await runRawRows(common, await rawInputs(m, opts.images!, reference, log))
      : await runTensorRows(common, await tensorInputs(m, { samples: opts.samples, webgpuSamples: opts.webgpuSamples ?? DEFAULT_WEBGPU_SAMPLES, dataRoot: opts.dataRoot, log }));

  const ctx = { ref: p.ref, labels: p.labels, numClasses, labelNames: labels, classCounts: classCounts.counts, ...(p.imageNames ? { imageNames: p.imageNames } : {}) };
  const results: RuntimeResult[] = [];
  const unavailable = (rt: RowName, info: { label: string; cls: RuntimeClass }, status: 'unavailable' | 'error', reason: string): RuntimeResult => ({ runtime: rt, label: info.label, class: info.cls, status, reason, tolerance: tolerances[info.cls] });
  const saved = savedOutputs({
    model: { sha256: m.sha256 },
    inputs: p.inputs,
    numClasses,
    reference: { runtime: p.refInfo.runtime, label: `reference (${p.refInfo.ranOn})`, class: 'cpu', ranOn: p.refInfo.ranOn, rows: null, logits: f32ToB64(p.ref.logits), probs: f32ToB64(p.ref.probs), inferenceMs: p.refInfo.inferenceMs },
    rows: [],
  });
  for (const rt of rowsWanted) {
    const r = p.rows.get(rt);
    let info = ROW_INFO[rt];
    if (!r) continue;
    if ('unavailable' in r) results.push(unavailable(rt, info, 'unavailable', r.unavailable));
    else if ('error' in r) results.push(unavailable(rt, info, 'error', r.error));
    else {
      // The server reports the EP it used: a GPU one gets the GPU tolerance.
      if (rt === 'serve-classify' && / (cuda|webgpu)$/.test(r.ranOn)) info = { ...info, cls: 'gpu' };
      results.push(evaluateRow(ctx, rt, info, tolerances[info.cls], r));
      const full = r.index.length === p.ref.probs.length / numClasses && r.index.every((v, i) => v === i);
      saved.rows.push({ runtime: rt, label: info.label, class: info.cls, ranOn: r.ranOn, rows: full ? null : r.index, logits: r.logits ? f32ToB64(r.logits) : null, probs: f32ToB64(r.probs), inferenceMs: r.ms });
    }
  }
  for (const file of opts.loadOutputs ?? []) {
    const l = loadSavedOutputs(file, { modelSha256: m.sha256, inputs: p.inputs, numClasses });
    log(`loaded ${l.rows.length} rows from ${file} (${l.source}; ${l.shared} shared inputs)`);
    for (const row of l.rows) {
      const name = `${row.runtime}@${l.source.split(' ')[0]}`;
      const out: RowOutput = { index: row.index, probs: row.probs, ...(row.logits ? { logits: row.logits } : {}), ms: row.inferenceMs, ranOn: row.ranOn, source: file };
      results.push(evaluateRow(ctx, name, { label: `${row.label} (loaded)`, cls: row.class }, tolerances[row.class], out));
    }
  }

  const required = new Set(opts.require ?? []);
  const failures = results.flatMap((r) => {
    if (r.status === 'fail') return [`${r.runtime}: ${(r.failures ?? []).join('; ')}`];
    if (r.status === 'error') return [`${r.runtime}: error: ${r.reason}`];
    if (r.status === 'unavailable' && required.has(r.runtime as ParityRow)) return [`${r.runtime}: required but unavailable: ${r.reason}`];
    return [];
  });
  for (const rq of required) if (!rowsWanted.includes(rq)) failures.push(`${rq}: required but not in --runtimes`);
  const ck = run ? { path: resolve(run.paths.checkpoint), sha256: run.checkpointSha256, epoch: run.checkpoint.meta.epoch } : null;
  return {
    run: opts.runDir ?? null,
    mode,
    model: { path: modelPath, sha256: m.sha256 },
    checkpoint: ck,
    ...(p.dataset ? { dataset: p.dataset } : {}),
    ...(p.images ? { images: p.images } : {}),
    reference: p.refInfo,
    classCounts,
    tolerances,
    results,
    passed: failures.length === 0,
    failures,
    machine: { platform: process.platform, arch: process.arch, cpus: cpus().length, node: process.version },
    createdAt: new Date().toISOString(),
    saved,
  };
}


