// One parity row: a runtime's outputs on some of the inputs -> compared with the reference on the same inputs
// (metrics.ts), broken down by class and shot group (tail.ts), with the images whose top-1 changed.
import type { RuntimeClass } from '../../serve/shared/ep-policy.js';
import { argmaxRow, type Comparison, compareOutputs, type Tolerance } from './metrics.js';
import { type ModelOutputs, sliceRows } from './runners/types.js';
import { type TailParity, tailParity } from './tail.js';

/** A runtime of the table: an onnxruntime provider (ep-policy), OpenCV DNN, the server's /v1/classify, or a loaded row. */
export type RowName = string;

/** Most top-1 disagreements listed per row in the tensor path (the raw-image path lists them all). */
export const MAX_LISTED_DISAGREEMENTS = 1000;

export interface Disagreement {
  /** Position of the input in this run's input list. */
  input: number;
  /** The image file (raw-image path). */
  image?: string;
  reference: { index: number; label: string };
  runtime: { index: number; label: string };
}

export interface RuntimeResult {
  runtime: RowName;
  label: string;
  class: RuntimeClass;
  status: 'pass' | 'fail' | 'unavailable' | 'error';
  /** Why it was unavailable or errored. */
  reason?: string;
  /** What really ran, e.g. 'CPUExecutionProvider' or 'WebGpuExecutionProvider: all 13 nodes (adapter google/swiftshader)'. */
  ranOn?: string;
  /** Where the outputs came from when they were loaded (--load-outputs). */
  source?: string;
  /** Why the status is 'fail'. */
  failures?: string[];
  tolerance: Tolerance;
  samples?: number;
  comparison?: Comparison;
  /** Per class and per many/medium/few-shot group, rarest first. */
  tail?: TailParity;
  /** Images whose top-1 differs from the reference's. */
  disagreements?: Disagreement[];
  /** Raw-image path: images whose model input bytes differ from the reference decoder's (null: not known). */
  inputsDiffer?: number | null;
  /** Inference time (ms) for all samples, excluding session creation. */
  inferenceMs?: number;
}

export interface EvalContext {
  ref: ModelOutputs;
  labels: Int32Array;
  numClasses: number;
  labelNames: readonly string[];
  classCounts: readonly number[] | null;
  /** Image names (raw-image path). */
  imageNames?: readonly string[];
}

export interface RowOutput {
  /** Indices of the inputs this row ran on (into the reference's rows). */
  index: number[];
  logits?: Float32Array;
  probs: Float32Array;
  ms: number;
  ranOn: string;
  failures?: string[];
  inputsDiffer?: number | null;
  source?: string;
}

export function evaluateRow(ctx: EvalContext, name: RowName, info: { label: string; cls: RuntimeClass }, tol: Tolerance, o: RowOutput): RuntimeResult {
  const C = ctx.numClasses;
  const n = o.index.length;
  const ref: ModelOutputs = { logits: sliceRows(ctx.ref.logits, o.index, C), probs: sliceRows(ctx.ref.probs, o.index, C) };
  const labels = Int32Array.from(o.index, (i) => ctx.labels[i]!);
  const cmp = compareOutputs({ logits: o.logits, probs: o.probs }, ref, labels, n, C, tol);
  const tail = tailParity({ cand: { ...(o.logits ? { logits: o.logits } : {}), probs: o.probs }, ref, labels, count: n, numClasses: C, tol, classCounts: ctx.classCounts, labelNames: ctx.labelNames });
  const failures = [...(o.failures ?? [])];
  const total = (o.logits ? 2 : 1) * n * C;
  if (cmp.violations) failures.push(`${cmp.violations} of ${total} values outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|`);
  if (cmp.nonFinite) failures.push(`${cmp.nonFinite} non-finite values`);
  if (cmp.top1Disagreements.length) failures.push(`${cmp.top1Disagreements.length} of ${n} images change top-1`);
  if (tail.failing.length) {
    const byIdx = new Map(tail.classes.map((c) => [c.classIndex, c]));
    const names = tail.failing.slice(0, 5).map((k) => {
      const c = byIdx.get(k)!;
      return `${c.label}${c.trainCount !== null ? ` (${c.group}, ${c.trainCount} training images)` : ''}`;
    });
    failures.push(`classes off: ${names.join(', ')}${tail.failing.length > 5 ? ` and ${tail.failing.length - 5} more` : ''}`);
  }
  const a = o.logits ?? o.probs;
  const ra = o.logits ? ref.logits : ref.probs;
  const listed = ctx.imageNames ? cmp.top1Disagreements : cmp.top1Disagreements.slice(0, MAX_LISTED_DISAGREEMENTS);
  const disagreements: Disagreement[] = listed.map((i) => {
    const r = argmaxRow(ra, i * C, C);
    const c = argmaxRow(a, i * C, C);
    return {
      input: o.index[i]!,
      ...(ctx.imageNames ? { image: ctx.imageNames[o.index[i]!]! } : {}),
      reference: { index: r, label: ctx.labelNames[r] ?? String(r) },
      runtime: { index: c, label: ctx.labelNames[c] ?? String(c) },
    };
  });
  return {
    runtime: name,
    label: info.label,
    class: info.cls,
    status: failures.length ? 'fail' : 'pass',
    ranOn: o.ranOn,
    ...(o.source ? { source: o.source } : {}),
    ...(failures.length ? { failures } : {}),
    tolerance: tol,
    samples: n,
    comparison: { ...cmp, top1Disagreements: cmp.top1Disagreements.slice(0, MAX_LISTED_DISAGREEMENTS) },
    tail,
    disagreements,
    ...(o.inputsDiffer !== undefined ? { inputsDiffer: o.inputsDiffer } : {}),
    inferenceMs: o.ms,
  };
}
