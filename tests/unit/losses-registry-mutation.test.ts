// The loss registry (`--loss` names → plug-ins) and CE / LA-CE, checked value by value against the float64
// reference of tests/helpers/losses-reference.ts: every name builds the objective it says (its terms, its
// contrastive variant, its CC form, the default hyper-parameters), on imbalanced counts where LA-CE and CE differ.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ceLoss, laCeLoss } from '../../models/losses/classification.js';
import { createLoss, DEFAULT_LOSS_HPARAMS, lossNames, registerLoss } from '../../models/losses/registry.js';
import type { LossHyperParams, LossInputs, LossPlugin } from '../../models/losses/types.js';
import { normalizeRows, oneHotRows, randomMatrix, refCcDirect, refCcGram, refContrastive, refLc, rng } from '../helpers/losses-reference.js';

before(async () => {
  await tf.setBackend('cpu');
});

const C = 3;
const K = 4;
const COUNTS = [60, 9, 1];
const rand = rng(23);
const logits = randomMatrix(rand, 5, C).map((r) => r.map((x) => 3 * x));
const labels = [0, 1, 2, 2, 1];
const embLabels = [0, 0, 1, 2, 1, 0];
const z = normalizeRows(randomMatrix(rand, embLabels.length, K));
const p = normalizeRows(randomMatrix(rand, C, K));
const w = randomMatrix(rand, C, K);

/** total and every part of `loss` on the fixed inputs, as numbers. */
function evaluate(loss: LossPlugin, counts = COUNTS): { total: number; parts: Record<string, number> } {
  return tf.tidy(() => {
    const inputs: LossInputs = {
      logits: tf.tensor2d(logits),
      oneHot: tf.tensor2d(oneHotRows(labels, C)),
      classCounts: counts,
      classifierWeights: tf.tensor2d(w),
      ...(loss.needsContrastiveViews ? { embeddings: tf.tensor2d(z), embeddingOneHot: tf.tensor2d(oneHotRows(embLabels, C)), prototypes: tf.tensor2d(p) } : {}),
    };
    const out = loss.compute(inputs);
    return { total: out.total.dataSync()[0]!, parts: Object.fromEntries(Object.entries(out.parts).map(([k, v]) => [k, v.dataSync()[0]!])) };
  });
}

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${what}: ${got} vs float64 ${want}`);

/** The objective each name promises, from the reference: parts and their weighted sum. */
function reference(name: string, hp: LossHyperParams): Record<string, number> {
  const lc = refLc(logits, labels, COUNTS, name === 'ce' ? 0 : hp.laTau);
  if (name === 'ce' || name === 'la-ce') return { lc };
  const variant = name === 'ecl-no-bal' || name === 'bcl' ? 'bcl' : hp.bcForm === 'mean-vector' ? 'ecl-mean-vector' : 'ecl';
  const bc = refContrastive(z, embLabels, p, hp.temperature, variant);
  const withCc = name === 'ecl' || name === 'ecl-no-bal';
  return withCc ? { lc, bc, cc: hp.ccForm === 'direct' ? refCcDirect(w, p) : refCcGram(w, p) } : { lc, bc };
}

function check(name: string, hp: Partial<LossHyperParams>): void {
  const full = { ...DEFAULT_LOSS_HPARAMS, ...hp };
  const got = evaluate(createLoss(name, hp));
  const want = reference(name, full);
  const what = `${name} ${JSON.stringify(hp)}`;
  assert.deepEqual(Object.keys(got.parts).sort(), Object.keys(want).sort(), `${what}: terms`);
  for (const [k, v] of Object.entries(want)) close(got.parts[k]!, v, `${what} ${k}`);
  close(got.total, want.lc! + full.lambdaBc * (want.bc ?? 0) + full.lambdaCc * (want.cc ?? 0), `${what} total`);
}

test('the names --loss accepts, in the order the help lists them', () => {
  assert.deepEqual(lossNames(), ['ce', 'la-ce', 'ecl', 'ecl-no-cc', 'ecl-no-bal', 'bcl']);
});

test('each name builds a plug-in of that name, needing the contrastive views only for the ECL family', () => {
  const views: Record<string, boolean> = { ce: false, 'la-ce': false, ecl: true, 'ecl-no-cc': true, 'ecl-no-bal': true, bcl: true };
  for (const name of lossNames()) {
    const l = createLoss(name);
    assert.equal(l.name, name);
    assert.equal(l.needsContrastiveViews, views[name], `${name}: needsContrastiveViews`);
  }
  assert.equal(ceLoss().name, 'ce');
  assert.equal(laCeLoss().name, 'la-ce');
});

test('an unknown name is refused with the list of known ones', () => {
  assert.throws(() => createLoss('focal'), { message: "unknown loss 'focal' (expected one of: ce, la-ce, ecl, ecl-no-cc, ecl-no-bal, bcl)" });
});

test('defaults: temperature 0.2, tau_LA 1, lambda_BC 1, lambda_CC 1', () => {
  assert.deepEqual(DEFAULT_LOSS_HPARAMS, { temperature: 0.2, laTau: 1, lambdaBc: 1, lambdaCc: 1 });
  // With no hyper-parameters given, every objective equals the reference at those defaults.
  for (const name of lossNames()) check(name, {});
});

test('CE and LA-CE on imbalanced counts: LA-CE shifts the logits by tau_LA * log(prior), CE does not', () => {
  const ce = evaluate(createLoss('ce')).total;
  const la = evaluate(createLoss('la-ce')).total;
  // By hand for one row: logits (0, 0), counts (3, 1), label 1: CE = log 2; LA-CE = -log(0.25 / (0.75 + 0.25)) = log 4.
  const one = (l: LossPlugin) =>
    tf.tidy(() => l.compute({ logits: tf.zeros([1, 2]), oneHot: tf.tensor2d([[0, 1]]), classCounts: [3, 1], classifierWeights: tf.zeros([2, 1]) }).total.dataSync()[0]!);
  close(one(createLoss('ce')), Math.log(2), 'CE by hand');
  close(one(createLoss('la-ce')), Math.log(4), 'LA-CE by hand');
  close(one(createLoss('la-ce', { laTau: 2 })), -Math.log(0.0625 / (0.5625 + 0.0625)), 'LA-CE tau 2 by hand');
  assert.ok(la - ce > 0.1, `LA-CE ${la} vs CE ${ce}: the tail label costs more once the prior is added`);
  for (const laTau of [0.5, 2]) check('la-ce', { laTau });
  // CE ignores tau_LA.
  check('ce', { laTau: 3 });
});

test('CE needs no prior: a class without training images is fine for CE, refused by LA-CE', () => {
  const counts = [60, 0, 1];
  const ce = evaluate(createLoss('ce'), counts).total;
  close(ce, refLc(logits, labels, COUNTS, 0), 'CE with an empty class');
  assert.throws(() => evaluate(createLoss('la-ce'), counts), /class 1 has 0 training images/);
  assert.throws(() => evaluate(createLoss('la-ce', { laTau: 0.5 }), counts), /class 1 has 0 training images/);
});

test('ECL family: variant, CC term and CC form per name, with the hyper-parameters passed through', () => {
  const hp = { temperature: 0.3, laTau: 0.7, lambdaBc: 0.6, lambdaCc: 2.5 };
  for (const name of ['ecl', 'ecl-no-cc', 'ecl-no-bal', 'bcl']) {
    check(name, hp);
    check(name, { ...hp, bcForm: 'mean-vector' });
    check(name, { ...hp, ccForm: 'direct' });
    check(name, { ...hp, bcForm: 'mass', ccForm: 'gram' });
  }
  // The variants really differ on these inputs, so the checks above tell them apart.
  const e = reference('ecl', { ...DEFAULT_LOSS_HPARAMS, ...hp });
  const mv = reference('ecl', { ...DEFAULT_LOSS_HPARAMS, ...hp, bcForm: 'mean-vector' });
  const b = reference('bcl', { ...DEFAULT_LOSS_HPARAMS, ...hp });
  const d = reference('ecl', { ...DEFAULT_LOSS_HPARAMS, ...hp, ccForm: 'direct' });
  assert.ok(Math.abs(e.bc! - mv.bc!) > 1e-3 && Math.abs(e.bc! - b.bc!) > 1e-3 && Math.abs(e.cc! - d.cc!) > 1e-3);
});

test('registerLoss adds a name that createLoss builds with the defaults merged in', () => {
  let seen: LossHyperParams | undefined;
  registerLoss('probe-loss', (hp) => {
    seen = hp;
    return { ...ceLoss(), name: 'probe-loss' };
  });
  assert.ok(lossNames().includes('probe-loss'));
  assert.equal(createLoss('probe-loss', { temperature: 0.05 }).name, 'probe-loss');
  assert.deepEqual(seen, { temperature: 0.05, laTau: 1, lambdaBc: 1, lambdaCc: 1 });
});
