// Tail-aware parity: the comparison broken down per class and per many / medium / few-shot group (training-set
// class sizes, the thresholds of models/metrics/classification.ts), rarest classes first. A runtime that is off
// only on a rare class moves the overall numbers by a fraction of a percent; here that class's line fails.
//
// Per class k:
//   - images of k: the labelled images of class k (or, without labels, the images the reference assigns to k);
//     top-1 agreement over them;
//   - column k: |Δ| of logit k (probability k when a runtime returns only probabilities) over all images, with
//     the runtime's tolerance. A shifted bias of class k shows up here even when no top-1 changes.
// A class passes when every one of its images keeps the reference's top-1 and column k is within tolerance.
import { DEFAULT_SHOTS, type ShotThresholds } from '../../models/metrics/classification.js';
import { argmaxRow, type ErrorStats, errorStats, type Tolerance } from './metrics.js';

export type ShotGroup = 'many' | 'medium' | 'few';

export interface ClassParity {
  classIndex: number;
  label: string;
  /** Training images of the class (checkpoint meta.classCounts or the model's class_counts metadata); null if unknown. */
  trainCount: number | null;
  group: ShotGroup | null;
  /** Images of the class among the compared ones. */
  images: number;
  /** Top-1 agreement over those images; null when there are none. */
  top1Agreement: number | null;
  /** Error statistics of the class's column (logits, or probabilities for probability-only runtimes). */
  column: ErrorStats;
  columnOutput: 'logits' | 'probs';
  /** Values of the column outside atol + rtol·|r|. */
  violations: number;
  pass: boolean;
}

export interface GroupParity {
  group: ShotGroup;
  classes: number[];
  images: number;
  top1Agreement: number | null;
  maxAbs: number;
  violations: number;
  /** Classes of the group that fail. */
  failing: number[];
  pass: boolean;
}

export interface TailParity {
  /** How images are assigned to classes: their labels, or the reference's top-1 when there are none. */
  basis: 'label' | 'reference-top1';
  thresholds: ShotThresholds;
  /** Rarest first (by training count; unknown counts last, then by index). */
  classes: ClassParity[];
  groups: GroupParity[];
  /** Failing classes, rarest first. */
  failing: number[];
}

export function shotGroup(count: number | null, t: ShotThresholds = DEFAULT_SHOTS): ShotGroup | null {
  if (count === null) return null;
  return count > t.many ? 'many' : count < t.few ? 'few' : 'medium';
}

export interface TailInput {
  /** Candidate and reference rows [count, C]; logits may be absent (probability-only runtimes). */
  cand: { logits?: ArrayLike<number>; probs: ArrayLike<number> };
  ref: { logits: ArrayLike<number>; probs: ArrayLike<number> };
  /** Labels (-1 = unknown); when none is known, the reference's top-1 assigns images to classes. */
  labels: ArrayLike<number>;
  count: number;
  numClasses: number;
  tol: Tolerance;
  classCounts: readonly number[] | null;
  labelNames: readonly string[];
  thresholds?: ShotThresholds;
}

export function tailParity(x: TailInput): TailParity {
  const { count: n, numClasses: C, tol } = x;
  const t = x.thresholds ?? DEFAULT_SHOTS;
  const useLogits = x.cand.logits !== undefined;
  const a = useLogits ? x.cand.logits! : x.cand.probs;
  const r = useLogits ? x.ref.logits : x.ref.probs;
  // Agreement is judged on what the runtime returned (probabilities rank like logits).
  const ra = useLogits ? x.ref.logits : x.ref.probs;
  let labelled = false;
  for (let i = 0; i < n; i++) if (x.labels[i]! >= 0 && x.labels[i]! < C) labelled = true;
  const cls = new Int32Array(n);
  const agree = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const pr = argmaxRow(ra, i * C, C);
    cls[i] = labelled ? x.labels[i]! : pr;
    agree[i] = argmaxRow(a, i * C, C) === pr ? 1 : 0;
  }
  const counts = x.classCounts && x.classCounts.length === C ? x.classCounts : null;
  const classes: ClassParity[] = [];
  const col = new Float64Array(n);
  const colRef = new Float64Array(n);
  for (let k = 0; k < C; k++) {
    let images = 0;
    let agreed = 0;
    let violations = 0;
    for (let i = 0; i < n; i++) {
      if (cls[i] === k) {
        images++;
        agreed += agree[i]!;
      }
      const v = a[i * C + k]!;
      const w = r[i * C + k]!;
      col[i] = v;
      colRef[i] = w;
      if (!(Math.abs(v - w) <= tol.atol + tol.rtol * Math.abs(w))) violations++;
    }
    const trainCount = counts ? counts[k]! : null;
    const top1Agreement = images ? agreed / images : null;
    classes.push({
      classIndex: k,
      label: x.labelNames[k] ?? String(k),
      trainCount,
      group: shotGroup(trainCount, t),
      images,
      top1Agreement,
      column: errorStats(col, colRef, tol),
      columnOutput: useLogits ? 'logits' : 'probs',
      violations,
      pass: violations === 0 && (top1Agreement === null || top1Agreement === 1),
    });
  }
  classes.sort((p, q) => (p.trainCount ?? Infinity) - (q.trainCount ?? Infinity) || p.classIndex - q.classIndex);
  const groups: GroupParity[] = [];
  for (const g of ['few', 'medium', 'many'] as const) {
    const members = classes.filter((c) => c.group === g);
    if (!members.length) continue;
    const images = members.reduce((s, c) => s + c.images, 0);
    const agreed = members.reduce((s, c) => s + (c.top1Agreement ?? 0) * c.images, 0);
    const failing = members.filter((c) => !c.pass).map((c) => c.classIndex);
    groups.push({
      group: g,
      classes: members.map((c) => c.classIndex),
      images,
      top1Agreement: images ? Math.round(agreed) / images : null,
      maxAbs: Math.max(...members.map((c) => c.column.maxAbs)),
      violations: members.reduce((s, c) => s + c.violations, 0),
      failing,
      pass: failing.length === 0,
    });
  }
  return { basis: labelled ? 'label' : 'reference-top1', thresholds: t, classes, groups, failing: classes.filter((c) => !c.pass).map((c) => c.classIndex) };
}
