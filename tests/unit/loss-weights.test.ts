// --loss-weights normalised (ProConDual's scheme): the weights from hand-made epoch-0 averages, the stored record's
// checks, the LC weight inside the ECL-family total, and the config rules of the new training options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { eclFamilyLoss } from '../../models/losses/ecl.js';
import { normalisedRecord, normalisedWeights, parseLossWeightRecord, PROCONDUAL_CONSTANTS } from '../../models/losses/weights.js';
import { resolveConfig } from '../../pipeline/train/config.js';
import { oneHotRows, randomMatrix, rng } from '../helpers/losses-reference.js';

await tf.setBackend('cpu');

test("ProConDual's constants are 0.7 (LC), 0.3 (contrastive), 0.5 (CC)", () => {
  assert.deepEqual({ ...PROCONDUAL_CONSTANTS }, { lc: 0.7, bc: 0.3, cc: 0.5 });
});

test('weights = constant / epoch-0 average: a hand-computed case', () => {
  // averages LC 2.0, BC 6.0, CC 0.004 -> 0.7 / 2 = 0.35, 0.3 / 6 = 0.05, 0.5 / 0.004 = 125
  const w = normalisedWeights({ lc: 0.7, bc: 0.3, cc: 0.5 }, { lc: 2, bc: 6, cc: 0.004 });
  assert.ok(Math.abs(w.lc! - 0.35) < 1e-15 && Math.abs(w.bc! - 0.05) < 1e-15 && Math.abs(w.cc! - 125) < 1e-9, JSON.stringify(w));
  // Each weighted term then starts at its constant: w_t * avg_t = c_t.
  assert.ok(Math.abs(w.cc! * 0.004 - 0.5) < 1e-12);
  // Only the terms the loss has (bcl: no CC); extra averages are ignored.
  const r = normalisedRecord({ lc: 0.7, bc: 0.3 }, { lc: 1.4, bc: 3, cc: 9 });
  assert.deepEqual(Object.keys(r.weights), ['lc', 'bc']);
  assert.deepEqual(r.epoch0Means, { lc: 1.4, bc: 3 });
  assert.ok(Math.abs(r.weights.lc! - 0.5) < 1e-15 && Math.abs(r.weights.bc! - 0.1) < 1e-15);
});

test('a zero, negative, non-finite or missing average is an error, not a division', () => {
  assert.throws(() => normalisedWeights({ lc: 0.7 }, { lc: 0 }), /averaged 0/);
  assert.throws(() => normalisedWeights({ lc: 0.7 }, { lc: -1 }), /averaged -1/);
  assert.throws(() => normalisedWeights({ lc: 0.7 }, { lc: NaN }), /averaged NaN/);
  assert.throws(() => normalisedWeights({ lc: 0.7, cc: 0.5 }, { lc: 1 }), /no average for the 'cc' term/);
});

test('a stored record is checked: weights must equal constants / averages', () => {
  const r = normalisedRecord({ lc: 0.7, bc: 0.3, cc: 0.5 }, { lc: 2.1, bc: 5.2, cc: 0.01 });
  assert.deepEqual(parseLossWeightRecord(JSON.parse(JSON.stringify(r)), 'ckpt'), r);
  assert.throws(() => parseLossWeightRecord({ ...r, weights: { ...r.weights, cc: 1 } }, 'ckpt'), /ckpt: lossWeights.weights.cc = 1 is not/);
  assert.throws(() => parseLossWeightRecord({ mode: 'fixed' }, 'ckpt'), /not a normalised-weights record/);
});

test('the ECL-family total is lambdaLc * LC + lambdaBc * BC + lambdaCc * CC, with the raw terms reported', () => {
  const rand = rng(5);
  const C = 3;
  const labels = [0, 1, 2, 0];
  const inputs = () => ({
    logits: tf.tensor2d(randomMatrix(rng(1), 4, C)),
    oneHot: tf.tensor2d(oneHotRows(labels, C)),
    classCounts: [10, 5, 2],
    embeddings: tf.tensor2d(randomMatrix(rand, 8, 4).map((r) => r.map((v) => v / Math.hypot(...r)))),
    embeddingOneHot: tf.tensor2d(oneHotRows([...labels, ...labels], C)),
    prototypes: tf.tensor2d(randomMatrix(rand, C, 4).map((r) => r.map((v) => v / Math.hypot(...r)))),
    classifierWeights: tf.tensor2d(randomMatrix(rand, C, 5)),
  });
  const inp = inputs();
  const hp = { temperature: 0.2, laTau: 1, lambdaLc: 0.35, lambdaBc: 0.05, lambdaCc: 125 };
  const out = eclFamilyLoss(hp, { variant: 'ecl', useCc: true }).compute(inp);
  const [lc, bc, cc] = ['lc', 'bc', 'cc'].map((k) => out.parts[k]!.dataSync()[0]!);
  const total = out.total.dataSync()[0]!;
  assert.ok(Math.abs(total - (0.35 * lc! + 0.05 * bc! + 125 * cc!)) <= 1e-5 * Math.abs(total), `${total}`);
  // lambdaLc absent = 1: the same terms, LC unweighted.
  const plain = eclFamilyLoss({ ...hp, lambdaLc: undefined }, { variant: 'ecl', useCc: true }).compute(inp);
  assert.ok(Math.abs(plain.total.dataSync()[0]! - (lc! + 0.05 * bc! + 125 * cc!)) <= 1e-5 * total);
  assert.throws(() => eclFamilyLoss({ ...hp, lambdaLc: NaN }), /lambdaLc must be a finite number/);
});

test('config: the new options default to the old behaviour and are recorded; normalised takes 0.3 / 0.5 unless given', () => {
  const base = resolveConfig({ dataset: 'embedded', loss: 'ecl' });
  assert.deepEqual([base.views, base.classifier, base.projBn, base.lossWeights, base.lambdaBc, base.lambdaCc], ['weak', 'linear', false, 'fixed', 1, 1]);
  const n = resolveConfig({ dataset: 'embedded', loss: 'ecl', lossWeights: 'normalised' });
  assert.deepEqual([n.lambdaBc, n.lambdaCc], [0.3, 0.5]);
  const given = resolveConfig({ dataset: 'embedded', loss: 'ecl', lossWeights: 'normalised', lambdaBc: 1, lambdaCc: 0.1 });
  assert.deepEqual([given.lambdaBc, given.lambdaCc], [1, 0.1]);
  const ref = resolveConfig({ dataset: 'embedded', loss: 'bcl', views: 'reference', classifier: 'cosine', projBn: true });
  assert.deepEqual([ref.views, ref.classifier, ref.projBn], ['reference', 'cosine', true]);
  assert.throws(() => resolveConfig({ dataset: 'embedded', loss: 'la-ce', lossWeights: 'normalised' }), /'la-ce' has one term/);
  assert.throws(() => resolveConfig({ dataset: 'embedded', views: 'reference', augment: false }), /cannot be combined with --no-augment/);
  assert.throws(() => resolveConfig({ dataset: 'embedded', views: 'strong' as never }), /views must be one of weak, reference/);
  assert.throws(() => resolveConfig({ dataset: 'embedded', classifier: 'arc' as never }), /classifier must be one of linear, cosine/);
});
