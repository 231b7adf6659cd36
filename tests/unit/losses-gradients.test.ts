// Finite-difference gradient checks of the ECL-family totals w.r.t. raw features (normalised in the
// graph, as the projection head does), raw prototypes phi(W) and the classifier W (through LC's
// logits = H W^T and through CC-GE).
//  1. tf's float32 analytic gradient vs central differences of the float64 reference (h = 1e-6).
//  2. tf's gradient vs central differences of tf's own float32 forward (h = 1e-2, a coarser tolerance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { l2Normalize } from '../../models/forward.js';
import { createLoss } from '../../models/losses/registry.js';
import { normalizeRows, oneHotRows, randomMatrix, refCcDirect, refCcGram, refContrastive, refLc, rng, type Matrix } from '../helpers/losses-reference.js';
import { eclFamilyLoss } from '../../models/losses/ecl.js';
import { ensureGradients } from '../helpers/losses-tfjs-gradients.js';

await tf.setBackend('cpu');
await ensureGradients(); // tfjs-core's node bundle registers no gradients by itself

const C = 3;
const B = 4;
const k = 3;
const d = 3;
const hp = { temperature: 0.5, laTau: 1, lambdaBc: 0.7, lambdaCc: 1.3 };
const rand = rng(1234);
const H = randomMatrix(rand, B, d);
const labels = [0, 1, 2, 0];
const zLabels = [...labels, ...labels];
const counts = [50, 20, 5];
const X0 = randomMatrix(rand, 2 * B, k);
const P0 = randomMatrix(rand, C, k);
const W0 = randomMatrix(rand, C, d);

type Variant = { name: string; variant: 'ecl' | 'bcl'; useCc: boolean; direct?: boolean };
const VARIANTS: Variant[] = [
  { name: 'ecl', variant: 'ecl', useCc: true },
  { name: 'ecl-no-cc', variant: 'ecl', useCc: false },
  { name: 'ecl-no-bal', variant: 'bcl', useCc: true },
  { name: 'bcl', variant: 'bcl', useCc: false },
  { name: 'ecl (direct CC)', variant: 'ecl', useCc: true, direct: true },
];

function refTotal(v: Variant, X: Matrix, P: Matrix, W: Matrix): number {
  const logits = H.map((h) => W.map((w) => h.reduce((s, x, j) => s + x * w[j]!, 0)));
  const pn = normalizeRows(P);
  let total = refLc(logits, labels, counts, hp.laTau) + hp.lambdaBc * refContrastive(normalizeRows(X), zLabels, pn, hp.temperature, v.variant);
  if (v.useCc) total += hp.lambdaCc * (v.direct ? refCcDirect(W, pn) : refCcGram(W, pn));
  return total;
}

function tfTotal(v: Variant): (X: tf.Tensor, P: tf.Tensor, W: tf.Tensor) => tf.Scalar {
  const plugin = v.direct ? eclFamilyLoss(hp, { variant: v.variant, useCc: v.useCc, ccForm: 'direct' }) : createLoss(v.name, hp);
  return (X, P, W) => {
    const out = plugin.compute({
      logits: tf.matMul(tf.tensor2d(H), W as tf.Tensor2D, false, true),
      oneHot: tf.tensor2d(oneHotRows(labels, C)),
      classCounts: counts,
      embeddings: l2Normalize(X) as tf.Tensor2D,
      embeddingOneHot: tf.tensor2d(oneHotRows(zLabels, C)),
      prototypes: l2Normalize(P) as tf.Tensor2D,
      classifierWeights: W as tf.Tensor2D,
    });
    return out.total;
  };
}

function perturb(args: Matrix[], which: number, i: number, j: number, h: number): Matrix[] {
  return args.map((m, a) => (a === which ? m.map((r, ri) => r.map((x, ci) => (ri === i && ci === j ? x + h : x))) : m));
}

for (const v of VARIANTS) {
  test(`gradients of ${v.name} match float64 finite differences`, () => {
    const args = [X0, P0, W0];
    const grads = tf.tidy(() => {
      const g = tf.grads(tfTotal(v))(args.map((m) => tf.tensor2d(m)));
      return g.map((t) => t.arraySync() as number[][]);
    });
    const h = 1e-6;
    let maxErr = 0;
    const names = ['features', 'prototypes', 'W'];
    for (let a = 0; a < 3; a++) {
      args[a]!.forEach((r, i) =>
        r.forEach((_, j) => {
          const fd = (refTotal(v, ...(perturb(args, a, i, j, h) as [Matrix, Matrix, Matrix])) - refTotal(v, ...(perturb(args, a, i, j, -h) as [Matrix, Matrix, Matrix]))) / (2 * h);
          const g = grads[a]![i]![j]!;
          const err = Math.abs(g - fd);
          maxErr = Math.max(maxErr, err);
          assert.ok(err <= 1e-5 + 1e-4 * Math.abs(fd), `${v.name}: d/d${names[a]}[${i}][${j}] tf=${g} fd=${fd}`);
        }),
      );
    }
    assert.ok(maxErr < 1e-5, `max |tf - fd| = ${maxErr}`); // observed ~1e-7 (float32 rounding)
  });
}

test('tf gradient vs finite differences of the float32 tf forward itself', () => {
  const v = VARIANTS[0]!;
  const f = tfTotal(v);
  const val = (args: Matrix[]): number => tf.tidy(() => f(tf.tensor2d(args[0]!), tf.tensor2d(args[1]!), tf.tensor2d(args[2]!)).arraySync());
  const args = [X0, P0, W0];
  const grads = tf.tidy(() => tf.grads(f)(args.map((m) => tf.tensor2d(m))).map((t) => t.arraySync() as number[][]));
  const h = 1e-2;
  for (const [a, i, j] of [
    [0, 0, 0],
    [0, 5, 2],
    [1, 1, 1],
    [2, 2, 0],
    [2, 0, 2],
  ] as const) {
    const fd = (val(perturb(args, a, i, j, h)) - val(perturb(args, a, i, j, -h))) / (2 * h);
    const g = grads[a]![i]![j]!;
    assert.ok(Math.abs(g - fd) <= 5e-3 + 1e-2 * Math.abs(fd), `arg ${a} [${i}][${j}]: tf=${g} fd=${fd}`);
  }
});

test('gradient computation leaks no tensors', () => {
  const before = tf.memory().numTensors;
  const xs = [X0, P0, W0].map((m) => tf.tensor2d(m));
  const { value, grads } = tf.valueAndGrads(tfTotal(VARIANTS[0]!))(xs);
  tf.dispose([value, ...grads, ...xs]);
  assert.equal(tf.memory().numTensors, before);
});
