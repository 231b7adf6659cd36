// Numeric comparison of one runtime's outputs with the reference (the trained tfjs model).
//
// Element-wise pass rule (numpy.allclose): |a - r| <= atol + rtol * |r|, on every logit and every probability.
// Relative error is reported as |a - r| / max(|r|, atol): values smaller than atol are judged on the absolute
// scale, so near-zero references do not produce meaningless relative errors.

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface ErrorStats {
  maxAbs: number;
  meanAbs: number;
  p99Abs: number;
  maxRel: number;
  meanRel: number;
  p99Rel: number;
}

export interface Violation {
  output: 'logits' | 'probs';
  /** Position of the image within the compared samples. */
  sample: number;
  classIndex: number;
  value: number;
  reference: number;
  absError: number;
  allowed: number;
}

export interface Comparison {
  count: number;
  numClasses: number;
  /** Null for a runtime that returns only probabilities (the server's /v1/classify). */
  logits: ErrorStats | null;
  probs: ErrorStats;
  /** Cosine similarity of each image's logit vector with the reference's. */
  cosine: { min: number; mean: number };
  /** Fraction of images whose arg-max class equals the reference's. */
  top1Agreement: number;
  /** Images whose arg-max differs from the reference (positions within the samples). */
  top1Disagreements: number[];
  /** Fraction correct against the labels. */
  accuracy: number;
  /** Number of elements (logits + probs) outside atol + rtol*|r|. */
  violations: number;
  /** The violation with the largest excess over its allowance, if any. */
  worst: Violation | null;
  /** Non-finite values (NaN, ±Inf) in the candidate's outputs. */
  nonFinite: number;
  pass: boolean;
}

/** The q-quantile (0..1) of values, linear interpolation (numpy's default); 0 for an empty array. */
export function quantile(values: Float64Array | number[], q: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const s = Float64Array.from(values).sort();
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function errorStats(a: ArrayLike<number>, r: ArrayLike<number>, tol: Tolerance): ErrorStats {
  if (a.length !== r.length) throw new Error(`length mismatch: ${a.length} values vs ${r.length} reference values`);
  const n = a.length;
  const abs = new Float64Array(n);
  const rel = new Float64Array(n);
  let maxAbs = 0;
  let maxRel = 0;
  let sumAbs = 0;
  let sumRel = 0;
  const floor = tol.atol > 0 ? tol.atol : Number.MIN_VALUE;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(a[i]! - r[i]!);
    const e = Number.isFinite(d) ? d : Infinity;
    const q = e / Math.max(Math.abs(r[i]!), floor);
    abs[i] = e;
    rel[i] = q;
    if (e > maxAbs) maxAbs = e;
    if (q > maxRel) maxRel = q;
    sumAbs += e;
    sumRel += q;
  }
  return {
    maxAbs,
    meanAbs: n ? sumAbs / n : 0,
    p99Abs: quantile(abs, 0.99),
    maxRel,
    meanRel: n ? sumRel / n : 0,
    p99Rel: quantile(rel, 0.99),
  };
}

export function argmaxRow(a: ArrayLike<number>, off: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (a[off + j]! > a[off + best]!) best = j;
  return best;
}

export function softmaxRows(logits: ArrayLike<number>, n: number, c: number): Float32Array {
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits[i * c + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) s += out[i * c + j] = Math.exp(logits[i * c + j]! - m);
    for (let j = 0; j < c; j++) out[i * c + j]! /= s;
  }
  return out;
}

export interface Outputs {
  logits: ArrayLike<number>;
  probs: ArrayLike<number>;
}

/**
 * Compares a runtime's outputs with the reference's for `count` images of `numClasses` classes. A candidate
 * without logits (probabilities only) is compared on probabilities: arg-max and cosine use them instead.
 */
export function compareOutputs(cand: Omit<Outputs, 'logits'> & { logits?: ArrayLike<number> | undefined }, ref: Outputs, labels: ArrayLike<number>, count: number, numClasses: number, tol: Tolerance): Comparison {
  const total = count * numClasses;
  const hasLogits = cand.logits !== undefined;
  for (const [what, arr] of [
    ['candidate logits', cand.logits ?? ref.logits],
    ['candidate probs', cand.probs],
    ['reference logits', ref.logits],
    ['reference probs', ref.probs],
  ] as const)
    if (arr.length !== total) throw new Error(`${what}: ${arr.length} values, expected ${count} x ${numClasses} = ${total}`);
  let violations = 0;
  let worst: Violation | null = null;
  let worstExcess = -Infinity;
  let nonFinite = 0;
  for (const output of hasLogits ? (['logits', 'probs'] as const) : (['probs'] as const)) {
    const a = cand[output]!;
    const r = ref[output];
    for (let i = 0; i < total; i++) {
      const v = a[i]!;
      if (!Number.isFinite(v)) nonFinite++;
      const d = Math.abs(v - r[i]!);
      const allowed = tol.atol + tol.rtol * Math.abs(r[i]!);
      if (!(d <= allowed)) {
        violations++;
        const excess = Number.isFinite(d) ? d - allowed : Infinity;
        if (excess > worstExcess || worst === null) {
          worstExcess = excess;
          worst = { output, sample: Math.floor(i / numClasses), classIndex: i % numClasses, value: v, reference: r[i]!, absError: d, allowed };
        }
      }
    }
  }
  let cosMin = Infinity;
  let cosSum = 0;
  let agree = 0;
  let correct = 0;
  const disagree: number[] = [];
  const ca = cand.logits ?? cand.probs;
  const ra = hasLogits ? ref.logits : ref.probs;
  for (let i = 0; i < count; i++) {
    let dot = 0;
    let na = 0;
    let nr = 0;
    for (let j = 0; j < numClasses; j++) {
      const x = ca[i * numClasses + j]!;
      const y = ra[i * numClasses + j]!;
      dot += x * y;
      na += x * x;
      nr += y * y;
    }
    const cos = na === 0 && nr === 0 ? 1 : dot / (Math.sqrt(na) * Math.sqrt(nr) || Number.MIN_VALUE);
    const c = Number.isFinite(cos) ? cos : -1;
    cosMin = Math.min(cosMin, c);
    cosSum += c;
    const pa = argmaxRow(ca, i * numClasses, numClasses);
    const pr = argmaxRow(ra, i * numClasses, numClasses);
    if (pa === pr) agree++;
    else disagree.push(i);
    if (pa === labels[i]) correct++;
  }
  return {
    count,
    numClasses,
    logits: hasLogits ? errorStats(cand.logits!, ref.logits, tol) : null,
    probs: errorStats(cand.probs, ref.probs, tol),
    cosine: { min: count ? cosMin : 1, mean: count ? cosSum / count : 1 },
    top1Agreement: count ? agree / count : 1,
    top1Disagreements: disagree,
    accuracy: count ? correct / count : 0,
    violations,
    worst,
    nonFinite,
    pass: violations === 0 && nonFinite === 0,
  };
}

/** n indices spread evenly over [0, total): a deterministic subset that covers every class of a class-sorted split. */
export function evenlySpaced(total: number, n: number): number[] {
  const k = Math.max(0, Math.min(total, Math.floor(n)));
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}
