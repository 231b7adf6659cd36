// Neural-collapse style geometry metrics of test features, the classifier and the prototypes.
// Plain TypeScript in float64 (d <= ~128, so a Jacobi eigendecomposition is cheap).
//
// Conventions (documented in docs/ECL.md):
//  - Only classes that occur in `labels` ("present" classes, C' of them) enter the feature metrics; the
//    classifier-prototype Gram distance uses all C classes.
//  - mu_c is the mean of class c's features; the global mean mu_G is the mean of the present class
//    means (class-balanced, so an imbalanced test set does not tilt the centre).
//  - Sigma_W = (1/C') sum_c (1/n_c) sum_{i in c} (h_i - mu_c)(h_i - mu_c)^T (class-balanced);
//    Sigma_B = (1/C') sum_c (mu_c - mu_G)(mu_c - mu_G)^T; NC1 = tr(Sigma_W Sigma_B^+) / C'.
//    On a balanced set these equal Papyan et al.'s definitions.

/** A row-major matrix: either rows (number[][]) or a flat array with its column count. */
export type MatrixInput = number[][] | { data: ArrayLike<number>; cols: number };

export interface GeometryInputs {
  /** Test features h, [N, d]. */
  features: MatrixInput;
  /** Labels, N integers in [0, numClasses). */
  labels: ArrayLike<number>;
  numClasses: number;
  /** Classifier W, [C, d]. */
  classifierWeights: MatrixInput;
  /** Prototypes P, [C, k] (normalised here, so raw phi(W) is fine too). */
  prototypes: MatrixInput;
}

export interface GeometryMetrics {
  /** Number of classes present in the labels (C'). */
  classesPresent: number;
  /** Within-class variability collapse tr(Sigma_W Sigma_B^+)/C'. Ideal 0. */
  nc1: number;
  /** Mean pairwise cosine of globally-centred class means. Ideal -1/(C'-1). */
  equiangularityMean: number;
  /** Std (population) of those cosines. Ideal 0. */
  equiangularityStd: number;
  /** -1/(C'-1), for reference. */
  idealCosine: number;
  /** Coefficient of variation (std/mean) of centred class-mean norms. Ideal 0. */
  equinormCv: number;
  /** mean_c cos(w_c, mu_c - mu_G) over present classes. Ideal 1. */
  classifierAlignment: number;
  /** || W^ W^T - P^ P^T ||_F / C with row-normalised W and P. Ideal 0. */
  classifierPrototypeGramDistance: number;
  /**
   * NC2 (Papyan et al. 2020): mean over class pairs of |cos(mu_a, mu_b) + 1/(C'-1)|. Ideal 0. The mean cosine
   * alone (equiangularityMean) is -1/(C'-1) for any equal-norm centred set, collapsed or not; this is not.
   */
  nc2AbsShiftedCos: number;
  /** NC3: || W/||W||_F - M/||M||_F ||_F over the present classes (M: centred class means as rows). Ideal 0. */
  nc3: number;
  /** Coefficient of variation of the classifier's row norms ||w_c|| over present classes. Ideal 0. */
  classifierEquinormCv: number;
}

interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

function toMat(m: MatrixInput, what: string): Mat {
  if (Array.isArray(m)) {
    const rows = m.length;
    const cols = rows ? m[0]!.length : 0;
    const data = new Float64Array(rows * cols);
    m.forEach((r, i) => {
      if (r.length !== cols) throw new Error(`geometry: ${what} row ${i} has ${r.length} values, expected ${cols}`);
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j]!;
    });
    return { rows, cols, data };
  }
  const { data, cols } = m;
  if (!(cols > 0) || data.length % cols !== 0) throw new Error(`geometry: ${what} has ${data.length} values, not a multiple of ${cols} columns`);
  return { rows: data.length / cols, cols, data: Float64Array.from(data) };
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function cosine(a: Float64Array, b: Float64Array): number {
  const na = norm(a);
  const nb = norm(b);
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}

function row(m: Mat, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length;
  return { mean, std: Math.sqrt(v) };
}

/**
 * Eigendecomposition of a symmetric n x n matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues and eigenvectors as columns of `vectors` (row-major n x n).
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  if (A.length !== n * n) throw new Error(`symmetricEigen: expected ${n * n} values, got ${A.length}`);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += A[i * n + i]! * A[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += A[i * n + j]! * A[i * n + j]!;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J on rows/cols p, q.
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i]!;
  return { values, vectors: V };
}

/** tr(Sw Sb^+) with Sb^+ the eigen pseudo-inverse (eigenvalues < relTol * max treated as zero). */
function traceWithPinv(sw: Float64Array, sb: Float64Array, d: number, relTol = 1e-10): number {
  const { values, vectors } = symmetricEigen(sb, d);
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  if (max === 0) return 0;
  let tr = 0;
  const v = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const lam = values[j]!;
    if (lam < relTol * max) continue; // Sb is PSD: tiny/negative eigenvalues are numerical zeros
    for (let r = 0; r < d; r++) v[r] = vectors[r * d + j]!;
    let q = 0; // v^T Sw v
    for (let r = 0; r < d; r++) {
      let acc = 0;
      for (let c = 0; c < d; c++) acc += sw[r * d + c]! * v[c]!;
      q += v[r]! * acc;
    }
    tr += q / lam;
  }
  return tr;
}

function gramDistance(w: Mat, p: Mat): number {
  const c = w.rows;
  const wn = w.data.slice();
  const pn = p.data.slice();
  for (const [m, buf] of [
    [w, wn],
    [p, pn],
  ] as const) {
    for (let i = 0; i < m.rows; i++) {
      const r = buf.subarray(i * m.cols, (i + 1) * m.cols);
      const n = norm(r);
      if (n > 0) for (let j = 0; j < r.length; j++) r[j] = r[j]! / n;
    }
  }
  let s = 0;
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      const g1 = dot(wn.subarray(i * w.cols, (i + 1) * w.cols), wn.subarray(j * w.cols, (j + 1) * w.cols));
      const g2 = dot(pn.subarray(i * p.cols, (i + 1) * p.cols), pn.subarray(j * p.cols, (j + 1) * p.cols));
      s += (g1 - g2) * (g1 - g2);
    }
  }
  return Math.sqrt(s) / c;
}

/** All geometry metrics at once. */
export function geometryMetrics(inputs: GeometryInputs): GeometryMetrics {
  const C = inputs.numClasses;
  if (!Number.isInteger(C) || C < 2) throw new Error(`geometry: numClasses must be an integer >= 2, got ${C}`);
  const h = toMat(inputs.features, 'features');
  const w = toMat(inputs.classifierWeights, 'classifierWeights');
  const p = toMat(inputs.prototypes, 'prototypes');
  const d = h.cols;
  const n = h.rows;
  if (inputs.labels.length !== n) throw new Error(`geometry: ${inputs.labels.length} labels for ${n} feature rows`);
  if (w.rows !== C || w.cols !== d) throw new Error(`geometry: classifierWeights is [${w.rows}, ${w.cols}], expected [${C}, ${d}]`);
  if (p.rows !== C) throw new Error(`geometry: prototypes have ${p.rows} rows, expected ${C}`);

  // Class means.
  const counts = new Array<number>(C).fill(0);
  const means = new Float64Array(C * d);
  for (let i = 0; i < n; i++) {
    const y = inputs.labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`geometry: label ${i} is ${y}, expected an integer in [0, ${C})`);
    counts[y]!++;
    for (let j = 0; j < d; j++) means[y * d + j] += h.data[i * d + j]!;
  }
  const present: number[] = [];
  for (let c = 0; c < C; c++) {
    if (counts[c]! > 0) {
      present.push(c);
      for (let j = 0; j < d; j++) means[c * d + j] /= counts[c]!;
    }
  }
  const Cp = present.length;
  if (Cp < 2) throw new Error(`geometry: need features of at least 2 classes, got ${Cp}`);
  const muG = new Float64Array(d);
  for (const c of present) for (let j = 0; j < d; j++) muG[j] += means[c * d + j]! / Cp;
  const centred = new Map<number, Float64Array>();
  for (const c of present) {
    const v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = means[c * d + j]! - muG[j]!;
    centred.set(c, v);
  }

  // Sigma_W (class-balanced) and Sigma_B.
  const sw = new Float64Array(d * d);
  const diff = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const y = inputs.labels[i]!;
    const wgt = 1 / (counts[y]! * Cp);
    for (let j = 0; j < d; j++) diff[j] = h.data[i * d + j]! - means[y * d + j]!;
    for (let r = 0; r < d; r++) {
      const dr = diff[r]! * wgt;
      if (dr === 0) continue;
      for (let c = 0; c < d; c++) sw[r * d + c] += dr * diff[c]!;
    }
  }
  const sb = new Float64Array(d * d);
  for (const c of present) {
    const v = centred.get(c)!;
    for (let r = 0; r < d; r++) for (let k = 0; k < d; k++) sb[r * d + k] += (v[r]! * v[k]!) / Cp;
  }
  const nc1 = traceWithPinv(sw, sb, d) / Cp;

  const cosines: number[] = [];
  for (let a = 0; a < Cp; a++) for (let b = a + 1; b < Cp; b++) cosines.push(cosine(centred.get(present[a]!)!, centred.get(present[b]!)!));
  const eq = meanStd(cosines);
  const norms = meanStd(present.map((c) => norm(centred.get(c)!)));
  const alignment = present.reduce((acc, c) => acc + cosine(row(w, c), centred.get(c)!), 0) / Cp;

  const nc2 = cosines.reduce((a, c) => a + Math.abs(c + 1 / (Cp - 1)), 0) / cosines.length;
  // NC3 on the present classes: both matrices scaled to unit Frobenius norm, then compared row by row.
  let fw = 0;
  let fm = 0;
  for (const c of present) {
    for (let j = 0; j < d; j++) fw += w.data[c * d + j]! ** 2;
    for (const v of centred.get(c)!) fm += v * v;
  }
  fw = Math.sqrt(fw) || 1;
  fm = Math.sqrt(fm) || 1;
  let nc3sq = 0;
  for (const c of present) {
    const m = centred.get(c)!;
    for (let j = 0; j < d; j++) nc3sq += (w.data[c * d + j]! / fw - m[j]! / fm) ** 2;
  }
  const wNorms = meanStd(present.map((c) => norm(row(w, c))));

  return {
    classesPresent: Cp,
    nc1,
    equiangularityMean: eq.mean,
    equiangularityStd: eq.std,
    idealCosine: -1 / (Cp - 1),
    equinormCv: norms.mean > 0 ? norms.std / norms.mean : 0,
    classifierAlignment: alignment,
    classifierPrototypeGramDistance: gramDistance(w, p),
    nc2AbsShiftedCos: nc2,
    nc3: Math.sqrt(nc3sq),
    classifierEquinormCv: wNorms.mean > 0 ? wNorms.std / wNorms.mean : 0,
  };
}
