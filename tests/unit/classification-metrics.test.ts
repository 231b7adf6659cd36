// The headline numbers (models/metrics/classification.ts) on hand-computed cases: top-1, balanced accuracy
// over the classes present, the many (>100) / medium (20..100) / few (<20) boundaries, absent classes, and
// the confusion matrix; and LA-CE against CE (models/losses/classification.ts) on imbalanced counts.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { argmaxRows, classificationReport } from '../../models/metrics/classification.js';
import { createLoss } from '../../models/losses/registry.js';
import { selectBackend } from '../../pipeline/backend/select.js';

describe('classificationReport', () => {
  // Training counts straddle every boundary: 101 many; 100 and 20 medium; 19 few; class 4 (5 images) never
  // appears in the test labels.
  const counts = [101, 100, 20, 19, 5];
  //            class:  0  0  0  0  1  1  2  2  2  3
  const labels = [0, 0, 0, 0, 1, 1, 2, 2, 2, 3];
  const preds = [0, 0, 0, 1, 1, 0, 2, 4, 4, 3];

  it('top-1, per-class and balanced accuracy by hand', () => {
    const r = classificationReport(preds, labels, counts);
    assert.equal(r.count, 10);
    assert.equal(r.top1, 6 / 10);
    assert.deepEqual(r.perClassAccuracy, [3 / 4, 1 / 2, 1 / 3, 1, null]);
    // Mean over the four classes with test images; the absent class 4 is not a zero.
    assert.equal(r.balancedAccuracy, (3 / 4 + 1 / 2 + 1 / 3 + 1) / 4);
  });

  it('group boundaries: >100 many, 20..100 medium, <20 few; accuracy over the group\'s images', () => {
    const r = classificationReport(preds, labels, counts);
    assert.deepEqual(r.many.classes, [0]);
    assert.deepEqual(r.medium.classes, [1, 2]);
    assert.deepEqual(r.few.classes, [3, 4]);
    assert.equal(r.many.accuracy, 3 / 4);
    assert.equal(r.medium.accuracy, (1 + 1) / 5, 'images, not a mean of class accuracies');
    assert.equal(r.medium.testImages, 5);
    assert.equal(r.few.accuracy, 1);
    assert.equal(r.few.testImages, 1);
  });

  it('a group without test images has accuracy null; custom thresholds move the boundaries', () => {
    const r = classificationReport([0, 0], [0, 0], [500, 50]);
    assert.deepEqual(r.medium.classes, [1]);
    assert.equal(r.medium.accuracy, null, 'class 1 has no test images');
    assert.equal(r.few.accuracy, null);
    assert.deepEqual(r.few.classes, []);
    const t = classificationReport(preds, labels, counts, { many: 50, few: 10 });
    assert.deepEqual([t.many.classes, t.medium.classes, t.few.classes], [[0, 1], [2, 3], [4]]);
  });

  it('confusion[true][predicted] and errors on bad input', () => {
    const r = classificationReport(preds, labels, counts);
    assert.deepEqual(r.confusion[0], [3, 1, 0, 0, 0]);
    assert.deepEqual(r.confusion[1], [1, 1, 0, 0, 0]);
    assert.deepEqual(r.confusion[2], [0, 0, 1, 0, 2]);
    assert.equal(r.confusion.flat().reduce((a, b) => a + b, 0), 10);
    assert.throws(() => classificationReport([0], [0, 1], counts), /differ in length/);
    assert.throws(() => classificationReport([0], [7], counts), /label 7 out of range/);
    assert.throws(() => classificationReport([0], [5], counts), /label 5 out of range \[0, 5\)/);
    assert.throws(() => classificationReport([0], [-1], counts), /label -1 out of range/);
  });

  it('argmaxRows takes the first of equal maxima and stays inside its row', () => {
    assert.deepEqual(Array.from(argmaxRows([1, 3, 3, -1, -2, -1], 2, 3)), [1, 0]);
    // The next row's first value (9) is larger than anything in row 0: it must not be taken.
    assert.deepEqual(Array.from(argmaxRows([1, 2, 9, 0, 0, 5], 3, 2)), [1, 0, 1]);
    // Every row's maximum away from column 0, so a row read from the wrong offset shows.
    assert.deepEqual(Array.from(argmaxRows([0, 1, 2, 0, 7, 1, 3, 4, 8], 3, 3)), [2, 1, 2]);
  });
});

describe('LA-CE is not CE on imbalanced counts', () => {
  before(async () => {
    await selectBackend('cpu');
  });
  const value = (name: string, counts: number[], logits: number[][], y: number[], laTau?: number) =>
    tf.tidy(() => {
      const C = counts.length;
      const oneHot = tf.oneHot(tf.tensor1d(y, 'int32'), C).toFloat() as tf.Tensor2D;
      const out = createLoss(name, laTau === undefined ? {} : { laTau }).compute({ logits: tf.tensor2d(logits), oneHot, classCounts: counts, classifierWeights: tf.zeros([C, 2]) as tf.Tensor2D });
      return out.total.dataSync()[0]!;
    });

  it('zero logits, counts 90:10, label of the rare class: CE = ln 2, LA-CE (tau 1) = ln 10', () => {
    const ce = value('ce', [90, 10], [[0, 0]], [1]);
    const la = value('la-ce', [90, 10], [[0, 0]], [1]);
    assert.ok(Math.abs(ce - Math.log(2)) < 1e-6, `CE ${ce}`);
    assert.ok(Math.abs(la - Math.log(10)) < 1e-5, `LA-CE ${la}`);
    // tau scales the adjustment: tau 0.5 -> -log(sqrt(.1) / (sqrt(.9) + sqrt(.1))).
    const half = value('la-ce', [90, 10], [[0, 0]], [1], 0.5);
    assert.ok(Math.abs(half - -Math.log(Math.sqrt(0.1) / (Math.sqrt(0.9) + Math.sqrt(0.1)))) < 1e-5, `LA-CE tau .5 ${half}`);
  });

  it('on balanced counts the two agree', () => {
    const logits = [[0.3, -1.2, 2], [1, 1, 0]];
    assert.ok(Math.abs(value('ce', [5, 5, 5], logits, [2, 0]) - value('la-ce', [5, 5, 5], logits, [2, 0])) < 1e-6);
  });
});
