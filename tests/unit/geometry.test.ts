// Geometry metrics: ideal values on a simplex ETF, hand-computed values on small cases, Jacobi eigen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geometryMetrics, symmetricEigen } from '../../models/metrics/geometry.js';

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** Simplex ETF: sqrt(C/(C-1)) (I - 11^T/C) in the first C of d dimensions, rotated by a fixed orthogonal-ish mix. */
function simplexEtf(C: number, d: number, scale = 1, offset = 0): number[][] {
  const f = Math.sqrt(C / (C - 1));
  return Array.from({ length: C }, (_, c) =>
    Array.from({ length: d }, (_, j) => (j < C ? scale * f * ((j === c ? 1 : 0) - 1 / C) : 0) + offset * (j + 1)),
  );
}

test('simplex-ETF features give the ideal values', () => {
  for (const [C, d] of [
    [4, 6],
    [10, 16],
  ] as const) {
    const means = simplexEtf(C, d, 3, 0.5); // a global offset must not matter (metrics centre globally)
    const centred = simplexEtf(C, d, 3, 0);
    // Several samples per class, all exactly at the mean (collapsed), imbalanced counts.
    const features: number[][] = [];
    const labels: number[] = [];
    for (let c = 0; c < C; c++) for (let r = 0; r < 1 + (c % 3); r++) {
      features.push(means[c]!.slice());
      labels.push(c);
    }
    const W = centred.map((r) => r.map((x) => 2 * x)); // classifier = self-dual ETF (scaled)
    const P = centred.map((r) => r.slice(0, d)); // prototypes with the same Gram as W^
    const flat = { data: Float32Array.from(features.flat()), cols: d };
    const m = geometryMetrics({ features: flat, labels, numClasses: C, classifierWeights: W, prototypes: P });
    assert.equal(m.classesPresent, C);
    close(m.nc1, 0, 1e-9, `NC1 C=${C}`);
    close(m.equiangularityMean, -1 / (C - 1), 1e-6, `mean cos C=${C}`);
    close(m.idealCosine, -1 / (C - 1), 1e-12, 'ideal cos');
    close(m.equiangularityStd, 0, 1e-6, `std cos C=${C}`);
    close(m.equinormCv, 0, 1e-6, `equinorm C=${C}`);
    close(m.classifierAlignment, 1, 1e-6, `alignment C=${C}`);
    close(m.classifierPrototypeGramDistance, 0, 1e-6, `gram distance C=${C}`);
    close(m.nc2AbsShiftedCos, 0, 1e-6, `NC2 C=${C}`);
    close(m.nc3, 0, 1e-6, `NC3 C=${C}`);
    close(m.classifierEquinormCv, 0, 1e-6, `classifier equinorm C=${C}`);
  }
});

test('NC2/NC3 tell an equal-norm but non-simplex set from a simplex, and random vectors are far from ideal', () => {
  // Equal-norm, centred, but not equiangular: the mean cosine is still exactly -1/(C-1) (why NC2 uses |cos + 1/(C-1)|).
  const C = 4;
  const means = [
    [1, 0, 0],
    [-1, 0, 0],
    [0, 1, 0],
    [0, -1, 0],
  ];
  const labels = [0, 1, 2, 3];
  const flat = { data: Float32Array.from(means.flat()), cols: 3 };
  const W = means.map((r) => r.slice());
  const m = geometryMetrics({ features: flat, labels, numClasses: C, classifierWeights: W, prototypes: W });
  close(m.equiangularityMean, -1 / 3, 1e-9, 'mean cosine looks ideal');
  // cosines: -1 (twice) and 0 (four times): |(-1)+1/3| = 2/3, |0+1/3| = 1/3 -> (2*2/3 + 4*1/3)/6 = 4/9.
  close(m.nc2AbsShiftedCos, 4 / 9, 1e-9, 'NC2 by hand');
  close(m.nc3, 0, 1e-9, 'W equal to the means: NC3 0');
  // Random vectors and an unrelated classifier with unequal norms.
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const feats = Array.from({ length: 40 }, () => Array.from({ length: 8 }, r));
  const lab = Array.from({ length: 40 }, (_, i) => i % 5);
  const Wr = Array.from({ length: 5 }, (_, c) => Array.from({ length: 8 }, () => (c + 1) * r()));
  const g = geometryMetrics({ features: { data: Float32Array.from(feats.flat()), cols: 8 }, labels: lab, numClasses: 5, classifierWeights: Wr, prototypes: Wr });
  assert.ok(g.nc2AbsShiftedCos > 0.05, `NC2 ${g.nc2AbsShiftedCos}`);
  assert.ok(g.nc3 > 0.5, `NC3 ${g.nc3}`);
  assert.ok(g.classifierEquinormCv > 0.2, `classifier equinorm ${g.classifierEquinormCv}`);
});

test('NC1 by hand: 2 classes in 2-D', () => {
  // Class 0: (-1, +-a) and class 1: (1 +- b, 0). mu_0 = (-1, 0), mu_1 = (1, 0), mu_G = 0.
  // Sigma_B = diag(1, 0) -> Sigma_B^+ = diag(1, 0).
  // Sigma_W = 1/2 [cov_0 + cov_1] = 1/2 [diag(0, a^2) + diag(b^2, 0)] = diag(b^2/2, a^2/2).
  // NC1 = tr(Sigma_W Sigma_B^+)/C = (b^2/2)/2 = b^2/4 (the a-spread is in the null space of Sigma_B).
  const a = 0.7;
  const b = 0.3;
  const features = [
    [-1, a],
    [-1, -a],
    [1 + b, 0],
    [1 - b, 0],
  ];
  const m = geometryMetrics({ features, labels: [0, 0, 1, 1], numClasses: 2, classifierWeights: [[-1, 1], [1, 0]], prototypes: [[1, 0], [0, 1]] });
  close(m.nc1, (b * b) / 4, 1e-12, 'NC1');
  close(m.equiangularityMean, -1, 1e-12, 'cos of opposite means');
  close(m.equinormCv, 0, 1e-12, 'equinorm');
  // cos(w_0, mu_0) = cos((-1,1), (-1,0)) = 1/sqrt2; cos(w_1, mu_1) = 1.
  close(m.classifierAlignment, (1 / Math.sqrt(2) + 1) / 2, 1e-12, 'alignment');
  // W^ W^T off-diagonal = cos((-1,1),(1,0)) = -1/sqrt2; P P^T = I -> ||.||_F = sqrt(2 * 1/2) = 1, /C = 1/2.
  close(m.classifierPrototypeGramDistance, 0.5, 1e-12, 'gram distance');
});

test('equiangularity/equinorm by hand: 3 classes', () => {
  // Class means (already centred, sum 0): (2,0), (-1,1), (-1,-1).
  const features = [
    [2, 0],
    [-1, 1],
    [-1, -1],
  ];
  const m = geometryMetrics({ features, labels: [0, 1, 2], numClasses: 3, classifierWeights: features, prototypes: features });
  const n0 = 2;
  const n1 = Math.sqrt(2);
  const cosines = [-2 / (n0 * n1), -2 / (n0 * n1), (1 - 1) / (n1 * n1)];
  const mean = cosines.reduce((s, x) => s + x, 0) / 3;
  const std = Math.sqrt(cosines.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
  close(m.equiangularityMean, mean, 1e-12, 'mean cos');
  close(m.equiangularityStd, std, 1e-12, 'std cos');
  const norms = [n0, n1, n1];
  const nm = (n0 + 2 * n1) / 3;
  const ns = Math.sqrt(norms.reduce((s, x) => s + (x - nm) ** 2, 0) / 3);
  close(m.equinormCv, ns / nm, 1e-12, 'equinorm cv');
  close(m.classifierAlignment, 1, 1e-12, 'alignment');
  close(m.classifierPrototypeGramDistance, 0, 1e-12, 'gram');
  close(m.nc1, 0, 1e-12, 'nc1 with one sample per class');
});

test('absent classes are skipped; bad input is rejected', () => {
  const m = geometryMetrics({ features: [[1, 0], [-1, 0]], labels: [0, 2], numClasses: 3, classifierWeights: [[1, 0], [0, 1], [-1, 0]], prototypes: [[1, 0], [0, 1], [-1, 0]] });
  assert.equal(m.classesPresent, 2);
  close(m.equiangularityMean, -1, 1e-12, 'two present classes');
  close(m.classifierAlignment, 1, 1e-12, 'alignment over present');
  assert.throws(() => geometryMetrics({ features: [[1, 0]], labels: [0, 1], numClasses: 2, classifierWeights: [[1, 0], [0, 1]], prototypes: [[1], [0]] }), /labels/);
  assert.throws(() => geometryMetrics({ features: [[1, 0], [0, 1]], labels: [0, 5], numClasses: 2, classifierWeights: [[1, 0], [0, 1]], prototypes: [[1], [0]] }), /label 1 is 5/);
  assert.throws(() => geometryMetrics({ features: [[1, 0], [0, 1]], labels: [0, 1], numClasses: 2, classifierWeights: [[1, 0, 0], [0, 1, 0]], prototypes: [[1], [0]] }), /classifierWeights/);
  assert.throws(() => geometryMetrics({ features: [[1, 0], [0, 1]], labels: [0, 0], numClasses: 2, classifierWeights: [[1, 0], [0, 1]], prototypes: [[1], [0]] }), /at least 2 classes/);
});

test('Jacobi eigendecomposition reconstructs a random symmetric matrix (d = 64)', () => {
  const n = 64;
  let seed = 1;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rand();
  const { values, vectors } = symmetricEigen(a, n);
  let maxErr = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += vectors[i * n + l]! * values[l]! * vectors[j * n + l]!;
      maxErr = Math.max(maxErr, Math.abs(s - a[i * n + j]!));
    }
  assert.ok(maxErr < 1e-9, `reconstruction error ${maxErr}`);
});

test('NC1 with noisy features is positive and shrinks as the noise shrinks', () => {
  const C = 5;
  const d = 8;
  const means = simplexEtf(C, d, 1);
  let seed = 3;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const nc1 = (noise: number): number => {
    const features: number[][] = [];
    const labels: number[] = [];
    for (let c = 0; c < C; c++) for (let r = 0; r < 20; r++) {
      features.push(means[c]!.map((x) => x + noise * rand()));
      labels.push(c);
    }
    return geometryMetrics({ features, labels, numClasses: C, classifierWeights: means, prototypes: means }).nc1;
  };
  const big = nc1(0.3);
  const small = nc1(0.03);
  assert.ok(big > 0 && small > 0 && small < big / 10, `nc1 ${big} -> ${small}`);
});
