// `ecl export-check runs/<name>`: the parity harness's strictest preset. The exported model on
// onnxruntime-node CPU against the tfjs model on the run's whole test set, with the exporter's own bar:
// max |Δlogit| <= 1e-4, top-1 agreement 100%, identical accuracy (and the embedding, when exported).
// Same runners (runners/tfjs.ts, runners/ort-node.ts) and comparison (metrics.ts) as `ecl parity`.
import { existsSync, readFileSync } from 'node:fs';
import { buildOnnxModel } from '../../export/export-run.js';
import type { ParamLookup } from '../../export/op-mapping.js';
import { assertModelFromCheckpoint, openRun } from '../../models/artifacts/run-dir.js';
import { METADATA_KEYS, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import type { ModelSpec } from '../../models/spec.js';
import { describeBackend, selectBackend } from '../backend/select.js';
import { loadRunData, runCacheDir } from '../data/run-data.js';
import { argmaxRow, compareOutputs, errorStats } from './metrics.js';
import { runOrtNode } from './runners/ort-node.js';
import { runTfjs } from './runners/tfjs.js';

export interface CompareOptions {
  /** Ground-truth labels (length >= count) for the accuracy columns. */
  labels?: ArrayLike<number>;
  /** tfjs backend of the reference (default 'cpu'; any pipeline/backend name). */
  backend?: string;
  /** tfjs batch size (default 32); onnxruntime runs batches of 4x that. */
  batchSize?: number;
  /**
   * The ONNX model: a path or bytes. Default: <runDir>/model.onnx when it exists, else a model built in
   * memory from the checkpoint / {spec, params} (with the embedding output).
   */
  onnx?: string | Uint8Array;
  /** Also compare the 'embedding' output when the ONNX model has one (default true). */
  embedding?: boolean;
}

export interface CompareResult {
  count: number;
  maxAbsLogitDiff: number;
  /** Mean |Δlogit| over all count x C logits. */
  meanAbs: number;
  /** Fraction (0..1) of images where both arg-max classes agree. */
  top1Agreement: number;
  /** Fractions (0..1); null without labels. */
  accuracyTfjs: number | null;
  accuracyOnnx: number | null;
  /** max |Δ| of the embedding output; null when not compared. */
  maxAbsEmbeddingDiff: number | null;
  /** Largest |logit| seen (scale of the numbers being compared). */
  maxAbsLogit: number;
  tfjsBackend: string;
  onnxSource: string;
}

/** A run directory, or a spec with its parameters (a model that never had a run). */
export type CompareSource = string | { spec: ModelSpec; params: ParamLookup };

/** The exported (or in-memory) ONNX model on onnxruntime-node CPU against the tfjs model on the same uint8 images. */
export async function compareWithTfjs(source: CompareSource, images: Uint8Array, count: number, opts: CompareOptions = {}): Promise<CompareResult> {
  let spec: ModelSpec;
  let params: ParamLookup;
  let onnxModel: string | Uint8Array | undefined = opts.onnx;
  let onnxSource = typeof onnxModel === 'string' ? onnxModel : onnxModel ? 'bytes' : '';
  if (typeof source === 'string') {
    const run = openRun(source);
    ({ spec } = run.checkpoint.meta);
    params = run.checkpoint.params;
    if (!onnxModel && existsSync(run.paths.model)) {
      onnxModel = run.paths.model;
      onnxSource = run.paths.model;
    }
    if (typeof onnxModel === 'string') assertModelFromCheckpoint(onnxModel, parseOnnxMetadataProps(readFileSync(onnxModel))[METADATA_KEYS.checkpointSha256], run);
  } else {
    ({ spec, params } = source);
  }
  if (!onnxModel) {
    onnxModel = buildOnnxModel(spec, params, { embedding: opts.embedding ?? true }).bytes;
    onnxSource = 'built in memory';
  }
  const { height: H, width: W, channels: C } = spec.input;
  if (!(count > 0) || images.length < count * H * W * C)
    throw new Error(`compareWithTfjs: need ${count} images of ${H}x${W}x${C} (${count * H * W * C} bytes), got ${images.length} bytes`);
  if (opts.labels && opts.labels.length < count) throw new Error(`compareWithTfjs: ${opts.labels.length} labels for ${count} images`);
  const labels = Int32Array.from({ length: count }, (_, i) => (opts.labels ? Number(opts.labels[i]) : -1));
  const samples = { images, labels, count };
  const bs = Math.max(1, opts.batchSize ?? 32);
  const wantEmb = opts.embedding ?? true;

  const onnx = await runOrtNode('cpu', onnxModel, samples, { shape: [H, W, C], batchSize: bs * 4, embedding: wantEmb });
  if ('unavailable' in onnx) throw new Error(`onnxruntime-node CPU cannot run the model: ${onnx.unavailable}`);
  const compareEmb = wantEmb && onnx.out.embedding !== undefined;
  const tfjs = await runTfjs(spec, params, samples, { backend: opts.backend ?? 'cpu', batchSize: bs, embedding: compareEmb });

  const K = spec.numClasses;
  // Accuracy and agreement come from the parity comparison; the tolerance is irrelevant to these fields.
  const cmp = compareOutputs(onnx.out, tfjs.out, labels, count, K, { atol: 0, rtol: 0 });
  let maxLogit = 0;
  for (const v of tfjs.out.logits) maxLogit = Math.max(maxLogit, Math.abs(v));
  let okTf = 0;
  for (let i = 0; i < count; i++) if (argmaxRow(tfjs.out.logits, i * K, K) === labels[i]) okTf++;
  return {
    count,
    maxAbsLogitDiff: cmp.logits!.maxAbs,
    meanAbs: cmp.logits!.meanAbs,
    top1Agreement: cmp.top1Agreement,
    accuracyTfjs: opts.labels ? okTf / count : null,
    accuracyOnnx: opts.labels ? cmp.accuracy : null,
    maxAbsEmbeddingDiff: compareEmb ? errorStats(onnx.out.embedding!, tfjs.out.embedding!, { atol: 0, rtol: 0 }).maxAbs : null,
    maxAbsLogit: maxLogit,
    tfjsBackend: tfjs.backend.name,
    onnxSource,
  };
}

export const EXPORT_CHECK_MAX_LOGIT_DIFF = 1e-4;

export interface ExportCheckResult extends CompareResult {
  passed: boolean;
  failures: string[];
}

export interface ExportCheckOptions extends Omit<CompareOptions, 'labels'> {
  /** Where the table goes (default console.log). */
  log?: (line: string) => void;
}

/**
 * Compares tfjs and onnxruntime-node on `count` images of a run, prints a table and passes when
 * max |Δlogit| <= 1e-4, top-1 agreement is 100% and both accuracies are identical.
 */
export async function exportCheck(runDir: string, images: Uint8Array, labels: ArrayLike<number>, count: number, opts: ExportCheckOptions = {}): Promise<ExportCheckResult> {
  const r = await compareWithTfjs(runDir, images, count, { ...opts, labels });
  const failures: string[] = [];
  const okDiff = r.maxAbsLogitDiff <= EXPORT_CHECK_MAX_LOGIT_DIFF;
  const okTop1 = r.top1Agreement === 1;
  const okAcc = r.accuracyTfjs === r.accuracyOnnx;
  if (!okDiff) failures.push(`max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)} > ${EXPORT_CHECK_MAX_LOGIT_DIFF}`);
  if (!okTop1) failures.push(`top-1 agreement ${(r.top1Agreement * 100).toFixed(2)}% < 100%`);
  if (!okAcc) failures.push(`accuracy differs: tfjs ${pct(r.accuracyTfjs)} vs onnx ${pct(r.accuracyOnnx)}`);
  const st = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const rows: [string, string, string, string][] = [
    ['max |Δlogit|', r.maxAbsLogitDiff.toExponential(2), `<= ${EXPORT_CHECK_MAX_LOGIT_DIFF.toExponential(0)}`, st(okDiff)],
    ['mean |Δlogit|', r.meanAbs.toExponential(2), '', ''],
    ['top-1 agreement', pct(r.top1Agreement), '100%', st(okTop1)],
    ['accuracy tfjs', pct(r.accuracyTfjs), '', ''],
    ['accuracy onnx', pct(r.accuracyOnnx), '= tfjs', st(okAcc)],
  ];
  if (r.maxAbsEmbeddingDiff !== null) rows.push(['max |Δembedding|', r.maxAbsEmbeddingDiff.toExponential(2), '', '']);
  const log = opts.log ?? ((l: string) => console.log(l));
  log(`export-check ${runDir}: ${r.count} images, tfjs ${r.tfjsBackend} vs onnxruntime-node cpu (${r.onnxSource})`);
  const header: [string, string, string, string] = ['metric', 'value', 'threshold', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  log(fmt(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) log(fmt(row));
  log(failures.length ? `export-check FAILED: ${failures.join('; ')}` : 'export-check passed');
  return { ...r, passed: failures.length === 0, failures };
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`;
}

/** The CLI stage: the run's whole test set (or the first `limit` images), reference on `backend`. */
export async function runExportCheck(runDir: string, opts: { limit?: number; backend: string }): Promise<boolean> {
  const ref = openRun(runDir).dataset();
  const backend = await selectBackend(opts.backend);
  console.log(describeBackend(backend));
  const data = await loadRunData(ref, { cacheDir: runCacheDir(runDir), log: (l) => console.log(l) });
  const n = opts.limit && opts.limit > 0 ? Math.min(opts.limit, data.test.count) : data.test.count;
  // The reference runs on the selected backend (wasm: ~10x faster than cpu for these convnets).
  const r = await exportCheck(runDir, data.test.images, data.test.labels, n, { backend: backend.name, batchSize: 200 });
  return r.passed;
}
