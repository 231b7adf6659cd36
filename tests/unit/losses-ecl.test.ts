// ECL-family plug-ins: registry, totals and parts, CC-GE closed forms, no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ccGeLoss } from '../../models/losses/contrastive.js';
import { eclFamilyLoss } from '../../models/losses/ecl.js';
import { createLoss, DEFAULT_LOSS_HPARAMS, lossNames } from '../../models/losses/registry.js';
import type { LossInputs } from '../../models/losses/types.js';
import { normalizeRows, oneHotRows, randomMatrix, refCcDirect, refCcGram, refContrastive, refLc, rng, type Matrix } from '../helpers/losses-reference.js';

await tf.setBackend('cpu');

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

test('CC-GE closed form, 2 classes', () => {
  // W = [[1,0],[1,1]] -> W^ W^T = [[1, 1/sqrt2],[1/sqrt2, 1]]; P = I -> P P^T = I.
  // Gram: (2 * (1/sqrt2)^2) / 2^2 = 1/4. Direct: W/sqrt3 - P/sqrt2 -> 2 (1/sqrt3 - 1/sqrt2)^2 + 1/3 under the root.
  tf.tidy(() => {
    const w = tf.tensor2d([[1, 0], [1, 1]]);
    const p = tf.tensor2d([[1, 0], [0, 1]]);
    close(ccGeLoss(w, p).arraySync(), 0.25, 1e-6, 'gram');
    close(ccGeLoss(w, p, 'direct').arraySync(), Math.sqrt(2 * (1 / Math.sqrt(3) - 1 / Math.sqrt(2)) ** 2 + 1 / 3), 1e-6, 'direct');
    // Equal geometry -> 0.
    close(ccGeLoss(tf.tensor2d([[3, 0], [0, 2]]), p).arraySync(), 0, 1e-7, 'gram of aligned');
    assert.throws(() => ccGeLoss(tf.ones([2, 3]) as tf.Tensor2D, p, 'direct'), /d = k/);
  });
});

test('registry has the ECL family, all needing contrastive views', () => {
  for (const name of ['ecl', 'ecl-no-cc', 'ecl-no-bal', 'bcl']) {
    assert.ok(lossNames().includes(name), name);
    const l = createLoss(name);
    assert.equal(l.name, name);
    assert.equal(l.needsContrastiveViews, true);
  }
  assert.ok(lossNames().includes('ce') && lossNames().includes('la-ce'));
  assert.equal(createLoss('ce').needsContrastiveViews, false);
  assert.deepEqual(DEFAULT_LOSS_HPARAMS, { temperature: 0.2, laTau: 1, lambdaBc: 1, lambdaCc: 1 });
  assert.throws(() => createLoss('ecl', { temperature: 0 }), /temperature/);
});

interface Case {
  logits: Matrix;
  logitLabels: number[];
  counts: number[];
  z: Matrix;
  zLabels: number[];
  p: Matrix;
  w: Matrix;
}

function makeCase(seed: number, C: number, B: number, k: number, d: number): Case {
  const rand = rng(seed);
  const logitLabels = Array.from({ length: B }, (_, i) => i % C);
  return {
    logits: randomMatrix(rand, B, C),
    logitLabels,
    counts: Array.from({ length: C }, (_, c) => 100 / (c + 1) ** 2),
    z: normalizeRows(randomMatrix(rand, 2 * B, k)),
    zLabels: [...logitLabels, ...logitLabels],
    p: normalizeRows(randomMatrix(rand, C, k)),
    w: randomMatrix(rand, C, d),
  };
}

function inputsOf(c: Case, C: number): LossInputs {
  return {
    logits: tf.tensor2d(c.logits),
    oneHot: tf.tensor2d(oneHotRows(c.logitLabels, C)),
    classCounts: c.counts,
    embeddings: tf.tensor2d(c.z),
    embeddingOneHot: tf.tensor2d(oneHotRows(c.zLabels, C)),
    prototypes: tf.tensor2d(c.p),
    classifierWeights: tf.tensor2d(c.w),
  };
}

test('totals and raw parts of every ECL-family loss match the references (2 classes and 3 classes)', () => {
  const hp = { temperature: 0.25, laTau: 1.5, lambdaBc: 0.5, lambdaCc: 2 };
  for (const [C, seed] of [
    [2, 1],
    [3, 2],
  ] as const) {
    const cs = makeCase(seed, C, 4, 3, 5);
    const lc = refLc(cs.logits, cs.logitLabels, cs.counts, hp.laTau);
    const bcE = refContrastive(cs.z, cs.zLabels, cs.p, hp.temperature, 'ecl');
    const bcB = refContrastive(cs.z, cs.zLabels, cs.p, hp.temperature, 'bcl');
    const cc = refCcGram(cs.w, cs.p);
    const expected: Record<string, { total: number; parts: Record<string, number> }> = {
      ecl: { total: lc + 0.5 * bcE + 2 * cc, parts: { lc, bc: bcE, cc } },
      'ecl-no-cc': { total: lc + 0.5 * bcE, parts: { lc, bc: bcE } },
      'ecl-no-bal': { total: lc + 0.5 * bcB + 2 * cc, parts: { lc, bc: bcB, cc } },
      bcl: { total: lc + 0.5 * bcB, parts: { lc, bc: bcB } },
    };
    tf.tidy(() => {
      const inputs = inputsOf(cs, C);
      for (const [name, exp] of Object.entries(expected)) {
        const out = createLoss(name, hp).compute(inputs);
        close(out.total.arraySync(), exp.total, 1e-5, `${name} total (C=${C})`);
        assert.deepEqual(Object.keys(out.parts).sort(), Object.keys(exp.parts).sort(), `${name} part names`);
        for (const [k, v] of Object.entries(exp.parts)) close(out.parts[k]!.arraySync(), v, 1e-5, `${name} part ${k} (C=${C})`);
      }
    });
  }
});

test('direct CC-GE form option (d = k)', () => {
  const hp = { temperature: 0.5, laTau: 1, lambdaBc: 1, lambdaCc: 3 };
  const cs = makeCase(9, 3, 3, 4, 4);
  tf.tidy(() => {
    const out = eclFamilyLoss(hp, { ccForm: 'direct' }).compute(inputsOf(cs, 3));
    close(out.parts.cc!.arraySync(), refCcDirect(cs.w, cs.p), 1e-5, 'direct cc');
  });
});

test('compute leaks nothing beyond its outputs and requires the contrastive inputs', () => {
  const cs = makeCase(4, 3, 3, 4, 6);
  const inputs = inputsOf(cs, 3);
  for (const name of ['ecl', 'ecl-no-cc', 'ecl-no-bal', 'bcl']) {
    const before = tf.memory().numTensors;
    const out = createLoss(name).compute(inputs);
    const owned = new Set([out.total, ...Object.values(out.parts)]);
    assert.equal(tf.memory().numTensors, before + owned.size, `${name} leaked tensors`);
    tf.dispose([...owned]);
    assert.equal(tf.memory().numTensors, before);
  }
  assert.throws(() => createLoss('ecl').compute({ ...inputs, embeddings: undefined }), /needs embeddings/);
  tf.dispose(Object.values(inputs).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
});
