// Numerics of the contrastive terms at very small temperatures (per-anchor max shift) and the logit adjustment's
// refusal of an empty class. The float64 reference (tests/helpers/losses-reference.ts) uses no shift at all.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { logPrior } from '../../models/losses/classification.js';
import { bcEclLoss, bclLoss } from '../../models/losses/contrastive.js';
import { normalizeRows, oneHotRows, randomMatrix, refContrastive, rng } from '../helpers/losses-reference.js';
import { ensureGradients } from '../helpers/losses-tfjs-gradients.js';

before(async () => {
  await tf.setBackend('cpu');
  await ensureGradients();
});

test('tau = 0.005, k = 128: BC-ECL and BCL are finite, equal the float64 reference, and have finite gradients', () => {
  const rand = rng(11);
  const labels = [0, 0, 0, 1, 1, 2, 3, 3, 4, 0, 1, 2];
  const C = 5;
  const z = normalizeRows(randomMatrix(rand, labels.length, 128));
  const p = normalizeRows(randomMatrix(rand, C, 128));
  const tau = 0.005;
  for (const [variant, loss] of [['ecl', bcEclLoss], ['bcl', bclLoss]] as const) {
    const got = tf.tidy(() => loss(tf.tensor2d(z), tf.tensor2d(oneHotRows(labels, C)), tf.tensor2d(p), tau).dataSync()[0]!);
    const want = refContrastive(z, labels, p, tau, variant);
    assert.ok(Number.isFinite(got), `${variant}: ${got}`);
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${variant}: ${got} vs float64 ${want}`);
    const g = tf.tidy(() => {
      const grad = tf.grad((zz: tf.Tensor) => loss(zz as tf.Tensor2D, tf.tensor2d(oneHotRows(labels, C)), tf.tensor2d(p), tau));
      return Array.from(grad(tf.tensor2d(z)).dataSync());
    });
    assert.ok(g.every(Number.isFinite), `${variant}: gradient has non-finite values`);
  }
});

test('the logit adjustment refuses a class without training images instead of counting it as 1', () => {
  assert.deepEqual(logPrior([3, 1]).map((v) => Math.round(v * 1e6) / 1e6), [Math.log(0.75), Math.log(0.25)].map((v) => Math.round(v * 1e6) / 1e6));
  assert.throws(() => logPrior([5, 0, 2]), /class 1 has 0 training images/);
});

test('--bc-form mean-vector and --cc-form direct reach the ECL loss the trainer builds', async () => {
  const { createLoss } = await import('../../models/losses/registry.js');
  const { refCcDirect, refCcGram } = await import('../helpers/losses-reference.js');
  const rand = rng(5);
  const labels = [0, 0, 1, 1, 2, 0];
  const C = 3;
  const z = normalizeRows(randomMatrix(rand, labels.length, 4));
  const p = normalizeRows(randomMatrix(rand, C, 4));
  const w = randomMatrix(rand, C, 4);
  const hp = { temperature: 0.1, laTau: 1, lambdaBc: 1, lambdaCc: 1 };
  const run = (extra: Record<string, string>) =>
    tf.tidy(() => {
      const out = createLoss('ecl', { ...hp, ...extra }).compute({
        logits: tf.zeros([2, C]) as tf.Tensor2D,
        oneHot: tf.tensor2d(oneHotRows([0, 1], C)),
        classCounts: [3, 2, 1],
        embeddings: tf.tensor2d(z),
        embeddingOneHot: tf.tensor2d(oneHotRows(labels, C)),
        prototypes: tf.tensor2d(p),
        classifierWeights: tf.tensor2d(w),
      });
      return { bc: out.parts.bc!.dataSync()[0]!, cc: out.parts.cc!.dataSync()[0]! };
    });
  const base = run({});
  const mv = run({ bcForm: 'mean-vector' });
  const direct = run({ ccForm: 'direct' });
  assert.ok(Math.abs(base.bc - refContrastive(z, labels, p, 0.1, 'ecl')) < 1e-5);
  assert.ok(Math.abs(mv.bc - refContrastive(z, labels, p, 0.1, 'ecl-mean-vector')) < 1e-5, `mean-vector ${mv.bc}`);
  assert.ok(Math.abs(base.cc - refCcGram(w, p)) < 1e-5);
  assert.ok(Math.abs(direct.cc - refCcDirect(w, p)) < 1e-5, `direct ${direct.cc}`);
});
