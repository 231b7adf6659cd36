// The reference heads: the cosine classifier (--classifier cosine, BCL's / ProConDual's NormedLinear, s = 30) on a
// hand-computed case and against float64 finite differences, its initialisation, and the projection head with
// BatchNorm (--proj-bn) in the spec.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModelSpec, COSINE_SCALE, initParams } from '../../models/builders.js';
import { cosineLogits, forwardClassifier, type ParamTensors } from '../../models/forward.js';
import { paramName } from '../../models/spec.js';
import { ensureGradients } from '../helpers/losses-tfjs-gradients.js';
import { type Matrix, oneHotRows, randomMatrix, rng } from '../helpers/losses-reference.js';
import { MNIST_INPUT } from '../helpers/export-fixtures.js';

await tf.setBackend('cpu');
await ensureGradients();

/** float64 reference: s * <x/|x|, w_c/|w_c|>, x [N][d], kernel [d][C]. */
function refCosine(x: Matrix, kernel: Matrix, s: number): Matrix {
  const C = kernel[0]!.length;
  const colNorm = Array.from({ length: C }, (_, c) => Math.sqrt(kernel.reduce((a, r) => a + r[c]! ** 2, 0)));
  return x.map((row) => {
    const n = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    return Array.from({ length: C }, (_, c) => (s * row.reduce((a, v, j) => a + v * kernel[j]![c]!, 0)) / (n * colNorm[c]!));
  });
}

test('cosine logits: a hand-computed case', () => {
  // x = (3, 4) has norm 5; columns w_0 = (1, 0), w_1 = (0, 2), w_2 = (-3, -4): cosines 0.6, 0.8, -1.
  const out = tf.tidy(() => cosineLogits(tf.tensor2d([[3, 4]]), tf.tensor2d([[1, 0, -3], [0, 2, -4]]), 30).arraySync());
  const want = [18, 24, -30];
  out[0]!.forEach((v, c) => assert.ok(Math.abs(v - want[c]!) < 1e-5, `logit ${c}: ${v} vs ${want[c]}`));
  // Scale-free in both arguments: multiplying x or a column changes nothing.
  const scaled = tf.tidy(() => cosineLogits(tf.tensor2d([[0.3, 0.4]]), tf.tensor2d([[7, 0, -3], [0, 14, -4]]), 30).arraySync());
  scaled[0]!.forEach((v, c) => assert.ok(Math.abs(v - want[c]!) < 1e-4));
});

test('cosine logits: gradients w.r.t. features and kernel match float64 finite differences', () => {
  const rand = rng(77);
  const X = randomMatrix(rand, 4, 5);
  const K = randomMatrix(rand, 5, 3);
  const labels = [0, 2, 1, 2];
  // A scalar of the logits that mixes every entry: mean cross-entropy against fixed labels.
  const refLoss = (x: Matrix, k: Matrix) =>
    refCosine(x, k, COSINE_SCALE).reduce((acc, row, i) => {
      const m = Math.max(...row);
      return acc + (m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[labels[i]!]!) / x.length;
    }, 0);
  const y = tf.tensor2d(oneHotRows(labels, 3));
  const tfLoss = (x: tf.Tensor, k: tf.Tensor) =>
    tf.div(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(cosineLogits(x as tf.Tensor2D, k as tf.Tensor2D, COSINE_SCALE))))), tf.scalar(X.length)) as tf.Scalar;
  const grads = tf.tidy(() => tf.grads(tfLoss)([tf.tensor2d(X), tf.tensor2d(K)]).map((g) => g.arraySync() as number[][]));
  const h = 1e-6;
  const args = [X, K];
  for (let a = 0; a < 2; a++)
    args[a]!.forEach((r, i) =>
      r.forEach((_, j) => {
        const bump = (d: number) => args.map((m, b) => (b === a ? m.map((rr, ri) => rr.map((v, ci) => (ri === i && ci === j ? v + d : v))) : m)) as [Matrix, Matrix];
        const fd = (refLoss(...bump(h)) - refLoss(...bump(-h))) / (2 * h);
        const g = grads[a]![i]![j]!;
        assert.ok(Math.abs(g - fd) <= 1e-4 + 1e-3 * Math.abs(fd), `d/d${a === 0 ? 'x' : 'kernel'}[${i}][${j}]: tf ${g} vs fd ${fd}`);
      }),
    );
  y.dispose();
});

test('--classifier cosine: spec, unit-norm initial columns, forward = the reference; linear stays the default', () => {
  const lin = buildModelSpec('cnn28', { numClasses: 4, input: MNIST_INPUT });
  assert.equal(lin.classifier.kind, 'dense');
  const spec = buildModelSpec('cnn28', { numClasses: 4, input: MNIST_INPUT, classifier: 'cosine' });
  assert.deepEqual(spec.classifier, { kind: 'cosinedense', name: 'classifier', units: 4, scale: 30, epsilon: 1e-12 });
  const params = initParams(spec, 3);
  assert.equal(params.has(paramName('classifier', 'bias')), false, 'no bias');
  const k = params.get(paramName('classifier', 'kernel'))!;
  assert.deepEqual(k.shape, [spec.featureDim, 4]);
  for (let c = 0; c < 4; c++) {
    let n = 0;
    for (let r = 0; r < spec.featureDim; r++) n += k.data[r * 4 + c]! ** 2;
    assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5, `column ${c} has norm ${Math.sqrt(n)}`);
  }
  const pt: ParamTensors = new Map([...params].map(([n, t]) => [n, tf.tensor(t.data, t.shape)]));
  const pixels = Float32Array.from({ length: 2 * 784 }, (_, i) => (i * 31) % 256);
  const { features, logits } = forwardClassifier(spec, pt, tf.tensor4d(pixels, [2, 28, 28, 1]), { training: false });
  const kernel: Matrix = Array.from({ length: spec.featureDim }, (_, r) => Array.from(k.data.subarray(r * 4, r * 4 + 4)));
  const want = refCosine(features.arraySync(), kernel, 30);
  (logits.arraySync() as number[][]).forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - want[i]![c]!) < 1e-3, `logit [${i}][${c}] ${v} vs ${want[i]![c]}`)));
  for (const v of logits.dataSync()) assert.ok(Math.abs(v) <= 30 + 1e-4);
  tf.dispose([...pt.values(), features, logits]);
  assert.throws(() => buildModelSpec('cnn28', { numClasses: 4, input: MNIST_INPUT, classifier: 'arc' as never }), /unknown classifier 'arc'/);
});

test("--proj-bn: the projection head is BCL's Linear-BN-ReLU-Linear (+ normalise), with BN state", () => {
  const plain = buildModelSpec('resnet8', { numClasses: 3, input: MNIST_INPUT });
  assert.deepEqual(plain.projector.map((l) => l.kind), ['dense', 'relu', 'dense', 'l2normalize']);
  const spec = buildModelSpec('resnet8', { numClasses: 3, input: MNIST_INPUT, projectionBatchNorm: true });
  assert.deepEqual(spec.projector.map((l) => l.kind), ['dense', 'batchnorm', 'relu', 'dense', 'l2normalize']);
  const params = initParams(spec, 1);
  for (const role of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) assert.deepEqual(params.get(paramName('proj_bn', role))!.shape, [spec.featureDim]);
});
