// What the mutation run of models/losses/contrastive.ts + ecl.ts found untested: the plug-ins' defaults and
// names (variant 'ecl', CC-GE 'gram'), the exported shorthands, the LC weight, the finite-number checks and
// the two shape checks. Values against the float64 references of tests/helpers/losses-reference.ts.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { bcEclLoss, ccGeLoss } from '../../models/losses/contrastive.js';
import { bclPlugin, eclFamilyLoss, eclLoss, eclNoBalLoss, eclNoCcLoss } from '../../models/losses/ecl.js';
import type { LossHyperParams, LossInputs, LossPlugin } from '../../models/losses/types.js';
import { normalizeRows, oneHotRows, randomMatrix, refCcDirect, refCcGram, refContrastive, refLc, rng } from '../helpers/losses-reference.js';

before(async () => {
  await tf.setBackend('cpu');
});

const C = 3;
const rand = rng(17);
const logitLabels = [0, 1, 2, 0];
const zLabels = [...logitLabels, ...logitLabels];
const logits = randomMatrix(rand, 4, C);
const counts = [50, 10, 2];
const z = normalizeRows(randomMatrix(rand, 8, 4));
const p = normalizeRows(randomMatrix(rand, C, 4));
const w = randomMatrix(rand, C, 4); // d = k = 4: both CC-GE forms apply
const hp: LossHyperParams = { temperature: 0.3, laTau: 1.2, lambdaBc: 0.7, lambdaCc: 1.9 };

const ref = {
  lc: refLc(logits, logitLabels, counts, hp.laTau),
  ecl: refContrastive(z, zLabels, p, hp.temperature, 'ecl'),
  bcl: refContrastive(z, zLabels, p, hp.temperature, 'bcl'),
  gram: refCcGram(w, p),
  direct: refCcDirect(w, p),
};

function evaluate(plugin: LossPlugin): { name: string; total: number; parts: Record<string, number> } {
  return tf.tidy(() => {
    const inputs: LossInputs = {
      logits: tf.tensor2d(logits),
      oneHot: tf.tensor2d(oneHotRows(logitLabels, C)),
      classCounts: counts,
      embeddings: tf.tensor2d(z),
      embeddingOneHot: tf.tensor2d(oneHotRows(zLabels, C)),
      prototypes: tf.tensor2d(p),
      classifierWeights: tf.tensor2d(w),
    };
    const out = plugin.compute(inputs);
    return { name: plugin.name, total: out.total.arraySync(), parts: Object.fromEntries(Object.entries(out.parts).map(([k, v]) => [k, v.arraySync()])) };
  });
}

function assertLoss(plugin: LossPlugin, name: string, parts: Record<string, number>, lambdaLc = 1): void {
  const got = evaluate(plugin);
  assert.equal(got.name, name);
  assert.equal(plugin.needsContrastiveViews, true);
  assert.deepEqual(Object.keys(got.parts).sort(), Object.keys(parts).sort(), `${name}: parts`);
  for (const [k, v] of Object.entries(parts)) assert.ok(Math.abs(got.parts[k]! - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${name} ${k}: ${got.parts[k]} vs ${v}`);
  const total = lambdaLc * parts.lc! + hp.lambdaBc * parts.bc! + (parts.cc === undefined ? 0 : hp.lambdaCc * parts.cc);
  assert.ok(Math.abs(got.total - total) <= 1e-5 * Math.max(1, Math.abs(total)), `${name} total: ${got.total} vs ${total}`);
}

test('the references differ enough to tell the variants and forms apart', () => {
  assert.ok(Math.abs(ref.ecl - ref.bcl) > 1e-2 && Math.abs(ref.gram - ref.direct) > 1e-2 && Math.abs(ref.lc) > 1e-2, JSON.stringify(ref));
});

test('eclFamilyLoss defaults: the ECL masses, CC-GE on, the Gram form, the name from the switches', () => {
  assertLoss(eclFamilyLoss(hp), 'ecl', { lc: ref.lc, bc: ref.ecl, cc: ref.gram });
  assertLoss(eclFamilyLoss(hp, { useCc: false }), 'ecl-no-cc', { lc: ref.lc, bc: ref.ecl });
  assertLoss(eclFamilyLoss(hp, { variant: 'bcl' }), 'ecl-no-bal', { lc: ref.lc, bc: ref.bcl, cc: ref.gram });
  assertLoss(eclFamilyLoss(hp, { variant: 'bcl', useCc: false }), 'bcl', { lc: ref.lc, bc: ref.bcl });
  assert.equal(eclFamilyLoss(hp, { variant: 'ecl-mean-vector', useCc: false }).name, 'ecl-no-cc');
  assert.equal(eclFamilyLoss(hp, { name: 'custom' }).name, 'custom');
});

test('the shorthands: eclLoss, eclNoCcLoss, eclNoBalLoss (Gram by default, direct on request), bclPlugin', () => {
  assertLoss(eclLoss(hp), 'ecl', { lc: ref.lc, bc: ref.ecl, cc: ref.gram });
  assertLoss(eclLoss(hp, 'direct'), 'ecl', { lc: ref.lc, bc: ref.ecl, cc: ref.direct });
  assertLoss(eclNoCcLoss(hp), 'ecl-no-cc', { lc: ref.lc, bc: ref.ecl });
  assertLoss(eclNoBalLoss(hp), 'ecl-no-bal', { lc: ref.lc, bc: ref.bcl, cc: ref.gram });
  assertLoss(eclNoBalLoss(hp, 'direct'), 'ecl-no-bal', { lc: ref.lc, bc: ref.bcl, cc: ref.direct });
  assertLoss(bclPlugin(hp), 'bcl', { lc: ref.lc, bc: ref.bcl });
});

test('lambdaLc weights the LC term in the total (its part stays raw)', () => {
  for (const lambdaLc of [0.25, 2, 0]) assertLoss(eclFamilyLoss({ ...hp, lambdaLc }), 'ecl', { lc: ref.lc, bc: ref.ecl, cc: ref.gram }, lambdaLc);
});

test('every weight and tau_LA must be finite, named in the error', () => {
  for (const key of ['laTau', 'lambdaLc', 'lambdaBc', 'lambdaCc'] as const)
    for (const bad of [NaN, Infinity]) {
      const msg = `ecl-no-bal: ${key} must be a finite number, got ${bad}`;
      assert.throws(() => eclNoBalLoss({ ...hp, [key]: bad }), (e: Error) => e.message === msg, msg);
    }
  assert.throws(() => eclFamilyLoss({ ...hp, temperature: Infinity }), (e: Error) => e.message === 'ecl: temperature must be a positive finite number, got Infinity');
});

test('shape checks: prototypes per class, classifier rows per prototype', () => {
  tf.tidy(() => {
    const zz = tf.tensor2d(z);
    const y = tf.tensor2d(oneHotRows(zLabels, C));
    assert.throws(() => bcEclLoss(zz, y, tf.ones([4, 4]) as tf.Tensor2D, 0.2), (e: Error) => e.message === 'contrastive loss: 4 prototypes but labels have 3 classes');
    assert.throws(() => ccGeLoss(tf.ones([2, 4]) as tf.Tensor2D, tf.tensor2d(p)), (e: Error) => e.message === 'CC-GE: classifier has 2 rows but there are 3 prototypes');
    assert.throws(() => ccGeLoss(tf.ones([2, 4]) as tf.Tensor2D, tf.ones([3, 4]) as tf.Tensor2D, 'direct'), /classifier has 2 rows/);
  });
});
