// Geometry metrics (models/metrics/geometry.ts) on the cases the ideal-value tests do not reach, each value
// worked out by hand: degenerate inputs (a class mean at the global mean, equal class means, a zero classifier row,
// a zero classifier), the input checks and their messages, and the Jacobi eigensolver on matrices with equal
// diagonal entries and exact zeros off the diagonal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { geometryMetrics, symmetricEigen } from '../../models/metrics/geometry.js';

function close(actual: number, expected: number, what: string, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
}

const sorted = (v: Float64Array): number[] => Array.from(v).sort((a, b) => a - b);

describe('symmetricEigen', () => {
  test('equal diagonal entries: [[1, .5], [.5, 1]] has eigenvalues 0.5 and 1.5, eigenvectors (1, ∓1)/√2', () => {
    const { values, vectors } = symmetricEigen([1, 0.5, 0.5, 1], 2);
    const v = sorted(values);
    close(v[0]!, 0.5, 'lambda min');
    close(v[1]!, 1.5, 'lambda max');
    // Columns are unit eigenvectors: A v = lambda v.
    for (let j = 0; j < 2; j++) {
      const x = [vectors[j]!, vectors[2 + j]!];
      close(Math.hypot(x[0]!, x[1]!), 1, 'unit column');
      close(1 * x[0]! + 0.5 * x[1]!, values[j]! * x[0]!, 'A v = lambda v (row 0)');
      close(Math.abs(x[0]!), Math.SQRT1_2, '|v_0| = 1/sqrt 2');
    }
  });

  test('an exact zero off the diagonal between equal diagonal entries is skipped, not divided by', () => {
    // [[1, 0, 0], [0, 1, .5], [0, .5, 2]]: eigenvalue 1 (e_0) and those of [[1, .5], [.5, 2]]: (3 ± √2) / 2.
    const { values } = symmetricEigen([1, 0, 0, 0, 1, 0.5, 0, 0.5, 2], 3);
    assert.ok(Array.from(values).every(Number.isFinite), `finite: ${Array.from(values)}`);
    const v = sorted(values);
    close(v[0]!, (3 - Math.SQRT2) / 2, 'lambda 0');
    close(v[1]!, 1, 'lambda 1');
    close(v[2]!, (3 + Math.SQRT2) / 2, 'lambda 2');
  });

  test('a diagonal matrix is returned as it is, with identity vectors', () => {
    const { values, vectors } = symmetricEigen([3, 0, 0, -2], 2);
    assert.deepEqual(Array.from(values), [3, -2]);
    assert.deepEqual(Array.from(vectors), [1, 0, 0, 1]);
  });

  test('one sweep is not enough for a 3 x 3 matrix; the default sweeps converge', () => {
    const a = [4, 1, 2, 1, 3, 0.5, 2, 0.5, 5];
    const one = symmetricEigen(a, 3, 1).values;
    const full = symmetricEigen(a, 3).values;
    // Trace is kept by every rotation; the determinant of a = 4(15 - .25) - 1(5 - 1) + 2(.5 - 6) = 44.
    close(full.reduce((s, x) => s + x, 0), 12, 'trace', 1e-9);
    close(full.reduce((s, x) => s * x, 1), 44, 'determinant', 1e-9);
    assert.ok(sorted(one).some((x, i) => Math.abs(x - sorted(full)[i]!) > 1e-9), 'a single sweep leaves off-diagonal mass');
  });

  test('rejects a value count that is not n x n', () => {
    assert.throws(() => symmetricEigen([1, 2, 3], 2), { message: 'symmetricEigen: expected 4 values, got 3' });
  });
});

describe('degenerate geometry, by hand', () => {
  test('a class mean at the global mean: its cosines are 0, its norm 0', () => {
    // Means (1, 0), (-1, 0), (0, 0): mu_G = 0, centred means the same. Cosines: (0,1) -1, (0,2) 0, (1,2) 0.
    const features = [
      [1, 0],
      [-1, 0],
      [0, 0],
    ];
    const W = [
      [1, 0],
      [-1, 0],
      [0, 1],
    ];
    const m = geometryMetrics({ features, labels: [0, 1, 2], numClasses: 3, classifierWeights: W, prototypes: W });
    close(m.equiangularityMean, -1 / 3, 'mean of -1, 0, 0');
    close(m.equiangularityStd, Math.sqrt(((-1 + 1 / 3) ** 2 + 2 * (1 / 3) ** 2) / 3), 'std');
    // Norms 1, 1, 0: mean 2/3, population std sqrt(2)/3 -> cv = sqrt(2)/2.
    close(m.equinormCv, Math.SQRT2 / 2, 'equinorm cv');
    // cos(w_c, centred mu_c): 1, 1, 0 (zero mean) -> 2/3.
    close(m.classifierAlignment, 2 / 3, 'alignment');
    // |cos + 1/2|: 1/2, 1/2, 1/2.
    close(m.nc2AbsShiftedCos, 0.5, 'NC2');
    // NC3: ||W||_F = sqrt 3, ||M||_F = sqrt 2; rows (1/√3 - 1/√2, 0), (-(1/√3 - 1/√2), 0), (0, 1/√3).
    close(m.nc3, Math.sqrt(2 * (1 / Math.sqrt(3) - 1 / Math.SQRT2) ** 2 + 1 / 3), 'NC3');
    close(m.classifierEquinormCv, 0, 'classifier rows of equal norm');
    close(m.idealCosine, -0.5, 'ideal cosine');
    close(m.nc1, 0, 'one sample per class: no within-class spread');
  });

  test('all class means equal: Sigma_B = 0 gives NC1 0 (not a division by zero), cosines and norms 0', () => {
    // Class 0: (1, 0), (-1, 0); class 1: (0, 1), (0, -1). Both means 0.
    const features = [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ];
    const W = [
      [1, 0],
      [0, 1],
    ];
    const m = geometryMetrics({ features, labels: [0, 0, 1, 1], numClasses: 2, classifierWeights: W, prototypes: W });
    assert.equal(m.nc1, 0);
    assert.equal(m.equiangularityMean, 0);
    assert.equal(m.equinormCv, 0);
    assert.equal(m.classifierAlignment, 0);
    close(m.nc2AbsShiftedCos, 1, '|0 + 1/(2-1)|');
    // M = 0: ||M||_F taken as 1, so NC3 = ||W / ||W||_F|| = 1.
    close(m.nc3, 1, 'NC3 against zero means');
  });

  test('a zero classifier: every classifier metric is defined (0 alignment, NC3 = 1, CV 0, Gram distance of P alone)', () => {
    const features = [
      [2, 0],
      [-2, 0],
    ];
    const zero = [
      [0, 0],
      [0, 0],
    ];
    const P = [
      [3, 0],
      [0, 5],
    ];
    const m = geometryMetrics({ features, labels: [0, 1], numClasses: 2, classifierWeights: zero, prototypes: P });
    assert.equal(m.classifierAlignment, 0);
    assert.equal(m.classifierEquinormCv, 0);
    close(m.nc3, 1, 'NC3: only the means, unit Frobenius norm');
    // W^ stays 0, P^ = I: ||0 - I||_F / C = sqrt(2) / 2.
    close(m.classifierPrototypeGramDistance, Math.SQRT2 / 2, 'Gram distance');
  });

  test('Gram distance normalises each row of W and P: scaled rows do not matter, a zero prototype row stays zero', () => {
    const features = [
      [1, 0],
      [-1, 0],
    ];
    const W = [
      [10, 0],
      [0, 0.1],
    ];
    const P = [
      [0, 0, 7],
      [0, 0, 0],
    ];
    const m = geometryMetrics({ features, labels: [0, 1], numClasses: 2, classifierWeights: W, prototypes: P });
    // W^ W^T = I; P^ P^T = diag(1, 0): ||.||_F = 1, / C = 1/2.
    close(m.classifierPrototypeGramDistance, 0.5, 'Gram distance');
    // Row norms 10 and 0.1: mean 5.05, std 4.95.
    close(m.classifierEquinormCv, 4.95 / 5.05, 'classifier equinorm cv');
  });

  test('NC1 weighs classes equally: Sigma_W is averaged per class, not per sample', () => {
    // Class 0: (-1, ±a) twice each (4 samples); class 1: (1 ± b, 0) (2 samples). Sigma_B = diag(1, 0).
    // Per class: cov_0 = diag(0, a^2), cov_1 = diag(b^2, 0) -> Sigma_W = diag(b^2, a^2) / 2 -> NC1 = (b^2 / 2) / 2.
    const a = 0.5;
    const b = 0.4;
    const features = [
      [-1, a],
      [-1, -a],
      [-1, a],
      [-1, -a],
      [1 + b, 0],
      [1 - b, 0],
    ];
    const W = [
      [-1, 0],
      [1, 0],
    ];
    const m = geometryMetrics({ features: { data: features.flat(), cols: 2 }, labels: [0, 0, 0, 0, 1, 1], numClasses: 2, classifierWeights: W, prototypes: W });
    close(m.nc1, (b * b) / 4, 'NC1');
  });

  test('the global mean is the mean of class means, not of samples', () => {
    // Class 0 at (0, 0) with 3 samples, class 1 at (2, 0) with 1: mu_G = (1, 0) -> centred means (-1, 0), (1, 0).
    const features = [
      [0, 0],
      [0, 0],
      [0, 0],
      [2, 0],
    ];
    const W = [
      [-1, 0],
      [1, 0],
    ];
    const m = geometryMetrics({ features, labels: [0, 0, 0, 1], numClasses: 2, classifierWeights: W, prototypes: W });
    close(m.equinormCv, 0, 'equal centred norms (a sample mean (0.5, 0) would give 0.5 and 1.5)');
    close(m.classifierAlignment, 1, 'aligned');
    close(m.nc3, 0, 'W proportional to M');
  });
});

describe('input checks', () => {
  const W = [
    [1, 0],
    [0, 1],
  ];
  const ok = { features: [[1, 0], [0, 1]], labels: [0, 1], numClasses: 2, classifierWeights: W, prototypes: W };
  test('numClasses must be an integer >= 2', () => {
    assert.throws(() => geometryMetrics({ ...ok, numClasses: 1 }), { message: 'geometry: numClasses must be an integer >= 2, got 1' });
    assert.throws(() => geometryMetrics({ ...ok, numClasses: 2.5 }), { message: 'geometry: numClasses must be an integer >= 2, got 2.5' });
    assert.doesNotThrow(() => geometryMetrics(ok));
  });
  test('ragged rows and flat arrays that do not fill their columns', () => {
    assert.throws(() => geometryMetrics({ ...ok, features: [[1, 0], [0]] }), { message: 'geometry: features row 1 has 1 values, expected 2' });
    assert.throws(() => geometryMetrics({ ...ok, features: { data: [1, 0, 0], cols: 2 } }), { message: 'geometry: features has 3 values, not a multiple of 2 columns' });
    assert.throws(() => geometryMetrics({ ...ok, features: { data: [], cols: 0 } }), { message: 'geometry: features has 0 values, not a multiple of 0 columns' });
    assert.throws(() => geometryMetrics({ ...ok, classifierWeights: { data: [1, 0, 0, 1, 0], cols: 2 } }), { message: 'geometry: classifierWeights has 5 values, not a multiple of 2 columns' });
    assert.throws(() => geometryMetrics({ ...ok, prototypes: [[1, 0], [0, 1, 2]] }), { message: 'geometry: prototypes row 1 has 3 values, expected 2' });
  });
  test('shapes of labels, classifier and prototypes', () => {
    assert.throws(() => geometryMetrics({ ...ok, labels: [0] }), { message: 'geometry: 1 labels for 2 feature rows' });
    assert.throws(() => geometryMetrics({ ...ok, classifierWeights: [[1, 0]] }), { message: 'geometry: classifierWeights is [1, 2], expected [2, 2]' });
    assert.throws(() => geometryMetrics({ ...ok, classifierWeights: [[1], [0]] }), { message: 'geometry: classifierWeights is [2, 1], expected [2, 2]' });
    assert.throws(() => geometryMetrics({ ...ok, prototypes: [[1, 0]] }), { message: 'geometry: prototypes have 1 rows, expected 2' });
    // Prototypes may have another width k than the features' d.
    assert.doesNotThrow(() => geometryMetrics({ ...ok, prototypes: [[1, 0, 0], [0, 1, 0]] }));
  });
  test('labels must be integers in [0, C)', () => {
    assert.throws(() => geometryMetrics({ ...ok, labels: [0, -1] }), { message: 'geometry: label 1 is -1, expected an integer in [0, 2)' });
    assert.throws(() => geometryMetrics({ ...ok, labels: [0.5, 1] }), { message: 'geometry: label 0 is 0.5, expected an integer in [0, 2)' });
    assert.throws(() => geometryMetrics({ ...ok, labels: [0, 2] }), { message: 'geometry: label 1 is 2, expected an integer in [0, 2)' });
    assert.throws(() => geometryMetrics({ ...ok, labels: [1, 1] }), { message: 'geometry: need features of at least 2 classes, got 1' });
  });
  test('an empty row list is a matrix of no rows (whose width 0 the classifier then does not match)', () => {
    assert.throws(() => geometryMetrics({ ...ok, features: [], labels: [] }), { message: 'geometry: classifierWeights is [2, 2], expected [2, 0]' });
  });
});

describe('Jacobi stopping rule and sweep count', () => {
  // The sweep stops when the squared upper off-diagonal mass is at most 1e-30 x the squared diagonal mass.
  const I3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

  test('below the stopping threshold nothing rotates: diagonal values and identity vectors as given', () => {
    // diag(2, 2, 2) with A01 = e: off = e^2 = 1.024e-29 <= 1e-30 * 12. The threshold is not crossed only because the
    // diagonal counts all three squared entries (a diagonal of 8, or of 3 non-zero entries, would rotate).
    const e = 3.2e-15;
    const { values, vectors } = symmetricEigen([2, e, 0, e, 2, 0, 0, 0, 2], 3);
    assert.deepEqual(Array.from(values), [2, 2, 2]);
    assert.deepEqual(Array.from(vectors), I3);
  });

  test('exactly at the threshold stops too; just above it rotates', () => {
    // diag(1e15, 0) with A01 = 1: off 1, diag mass 1e15^2 = 1e30, and 1e-30 * 1e30 is 1 in doubles.
    const at = symmetricEigen([1e15, 1, 1, 0], 2);
    assert.deepEqual(Array.from(at.values), [1e15, 0]);
    assert.deepEqual(Array.from(at.vectors), [1, 0, 0, 1]);
    // diag(2, 2, 2) with A01 = 4e-15: off 1.6e-29 > 1.2e-29 -> one 45-degree rotation of e0, e1.
    const above = symmetricEigen([2, 4e-15, 0, 4e-15, 2, 0, 0, 0, 2], 3);
    close(Math.abs(above.vectors[0]!), Math.SQRT1_2, 'rotated by 45 degrees', 1e-15);
  });

  test('maxSweeps = 0 returns the diagonal as it is; one sweep diagonalises a 2 x 2 exactly', () => {
    const a = [1, 0.5, 0.5, 1];
    const none = symmetricEigen(a, 2, 0);
    assert.deepEqual(Array.from(none.values), [1, 1]);
    assert.deepEqual(Array.from(none.vectors), [1, 0, 0, 1]);
    const one = sorted(symmetricEigen(a, 2, 1).values);
    close(one[0]!, 0.5, 'lambda min');
    close(one[1]!, 1.5, 'lambda max');
  });
});

describe('NC1 with full Sigma_W and Sigma_B, and the pseudo-inverse cut-off', () => {
  /** Two samples per class at mean +- offset: the class covariance is offset offset^T. */
  function pairs(means: number[][], offsets: number[][]): { features: number[][]; labels: number[] } {
    const features: number[][] = [];
    const labels: number[] = [];
    means.forEach((m, c) => {
      const u = offsets[c]!;
      features.push([m[0]! + u[0]!, m[1]! + u[1]!], [m[0]! - u[0]!, m[1]! - u[1]!]);
      labels.push(c, c);
    });
    return { features, labels };
  }
  const W4 = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ];

  test('every entry of Sigma_W and Sigma_B is accumulated at its own place', () => {
    // Means (2, 0), (-2, 0), (0, 1), (0, -1): mu_G = 0, Sigma_B = diag(8, 2) / 4 = diag(2, 0.5).
    // Offsets (1, 1), (1, 0), (.5, 0), (0, .5): sum u u^T = [[2.25, 1], [1, 1.25]], Sigma_W = that / 4.
    // NC1 = tr(Sigma_W Sigma_B^-1) / 4 = (0.5625 / 2 + 0.3125 / 0.5) / 4 = 0.2265625.
    const { features, labels } = pairs(
      [
        [2, 0],
        [-2, 0],
        [0, 1],
        [0, -1],
      ],
      [
        [1, 1],
        [1, 0],
        [0.5, 0],
        [0, 0.5],
      ],
    );
    const m = geometryMetrics({ features, labels, numClasses: 4, classifierWeights: W4, prototypes: W4 });
    close(m.nc1, 0.2265625, 'NC1');
  });

  /** Means (+-3, 0), (0, +-b); class 0 and 1 spread +-s along y, class 2 and 3 spread +-1 along x. */
  function cutoff(b: number, s: number): number {
    const { features, labels } = pairs(
      [
        [3, 0],
        [-3, 0],
        [0, b],
        [0, -b],
      ],
      [
        [0, s],
        [0, s],
        [1, 0],
        [1, 0],
      ],
    );
    return geometryMetrics({ features, labels, numClasses: 4, classifierWeights: W4, prototypes: W4 }).nc1;
  }
  // Sigma_B = diag(9/2, b^2/2), Sigma_W = diag(1/2, s^2/2); the cut-off is 1e-10 x 4.5 = 4.5e-10.

  test('an eigenvalue of Sigma_B exactly at 1e-10 x the largest is kept', () => {
    // b = 3e-5: b^2/2 is 4.5e-10 exactly in doubles, so its direction counts: NC1 = (0.5/4.5 + (s^2/2)/(b^2/2)) / 4.
    const b = 3e-5;
    const s = 1e-5;
    close(cutoff(b, s), (0.5 / 4.5 + (s * s) / (b * b)) / 4, 'NC1', 1e-9);
  });

  test('an eigenvalue below 1e-10 x the largest is a numerical zero and is left out', () => {
    // b = 2e-5: b^2/2 = 2e-10 < 4.5e-10, dropped: NC1 = (0.5 / 4.5) / 4, however large the spread along y.
    close(cutoff(2e-5, 1), 0.5 / 4.5 / 4, 'NC1');
  });
});

describe('spread statistics under cancellation', () => {
  test('the classifier-norm CV of rows 1e15, 1e15 + 1, 1e15 + 3 is small and finite (deviations are squared, not b^2 - mean^2)', () => {
    const W = [[1e15], [1e15 + 1], [1e15 + 3]];
    const m = geometryMetrics({ features: [[1], [2], [4]], labels: [0, 1, 2], numClasses: 3, classifierWeights: W, prototypes: W });
    const norms = [1e15, 1e15 + 1, 1e15 + 3];
    const mean = (norms[0]! + norms[1]! + norms[2]!) / 3;
    const std = Math.sqrt(norms.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
    // std is about 1.25 (sqrt(14/9)) on a mean of 1e15.
    close(std, Math.sqrt(14 / 9), 'reference std', 0.05);
    close(m.classifierEquinormCv, std / mean, 'CV', 1e-20);
  });
});

describe('flat input checks', () => {
  test('a negative column count is rejected even when it divides the length', () => {
    const W = [
      [1, 0],
      [0, 1],
    ];
    assert.throws(() => geometryMetrics({ features: { data: [1, 0, 0, 1], cols: -2 }, labels: [0, 1], numClasses: 2, classifierWeights: W, prototypes: W }), {
      message: 'geometry: features has 4 values, not a multiple of -2 columns',
    });
  });
});
