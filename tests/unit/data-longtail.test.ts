import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { balancedSubset, buildLongTail, longTailCounts, stratifiedLimit, testHalves } from '../../pipeline/data/longtail.js';
import { labelsFor } from '../helpers/data-fixtures.js';

describe('long-tail profile', () => {
  test('Fashion-MNIST IF 100: the published counts', () => {
    const c = longTailCounts(6000, 10, 100);
    assert.deepEqual(c, [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]);
    assert.equal(c.reduce((a, b) => a + b, 0), 14886);
  });

  test('CIFAR-10 IF 100 (LDAM numbers) and the embedded profile', () => {
    assert.deepEqual(longTailCounts(5000, 10, 100), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
    assert.deepEqual(longTailCounts(1200, 10, 100), [1200, 719, 431, 258, 154, 92, 55, 33, 20, 12]);
  });

  for (const IF of [10, 50, 100]) {
    for (const [nMax, C] of [[6000, 10], [5000, 10], [500, 100]] as const) {
      test(`IF ${IF}, n_max ${nMax}, ${C} classes: monotone, first = n_max, last = floor(n_max / IF)`, () => {
        const c = longTailCounts(nMax, C, IF);
        assert.equal(c.length, C);
        assert.equal(c[0], nMax);
        assert.equal(c[C - 1], Math.floor(nMax / IF));
        for (let i = 1; i < C; i++) assert.ok(c[i]! <= c[i - 1]!, `not monotone at ${i}`);
        assert.ok(Math.abs(c[0]! / c[C - 1]! - IF) / IF < 0.05);
      });
    }
  }

  test('IF 1 is balanced; bad arguments throw', () => {
    assert.deepEqual(longTailCounts(7, 4, 1), [7, 7, 7, 7]);
    assert.deepEqual(longTailCounts(7, 1, 100), [7]);
    assert.throws(() => longTailCounts(6000, 10, 0.5), { message: 'long-tail: imbalance factor must be a number >= 1 (1 = balanced), got 0.5' });
    assert.throws(() => longTailCounts(0, 10, 10), /n_max must be a positive integer/);
  });
});

describe('long-tail sampling', () => {
  const labels = Int32Array.from(labelsFor([60, 60, 60, 60, 60]));
  const C = 5;

  test('per-class counts, validation from unused images only, disjoint, ascending', () => {
    const lt = buildLongTail(labels, C, { imbalance: 10, seed: 3, valPerClass: 8 });
    assert.deepEqual(lt.targetCounts, longTailCounts(60, 5, 10));
    assert.deepEqual(lt.trainCounts, lt.targetCounts);
    const perClass = (idx: Int32Array) => Array.from({ length: C }, (_, c) => Array.from(idx).filter((i) => labels[i] === c).length);
    assert.deepEqual(perClass(lt.train), lt.trainCounts);
    // class 0 used all 60 images: no validation images for it, reported
    assert.deepEqual(lt.valCounts, [0, 8, 8, 8, 8]);
    assert.deepEqual(perClass(lt.val), lt.valCounts);
    assert.equal(lt.notes.length, 1);
    assert.match(lt.notes[0]!, /^validation: class 0 has 0 image\(s\) left after the long-tail subset took 60 of 60; validation gets 0 instead of 8$/);
    const tr = new Set(lt.train);
    for (const v of lt.val) assert.ok(!tr.has(v), `val image ${v} is also in train`);
    for (let i = 1; i < lt.train.length; i++) assert.ok(lt.train[i]! > lt.train[i - 1]!);
  });

  test('n_max below the class size leaves validation images for the head class', () => {
    const lt = buildLongTail(labels, C, { imbalance: 10, seed: 3, nMax: 50, valPerClass: 8 });
    assert.equal(lt.trainCounts[0], 50);
    assert.deepEqual(lt.valCounts, [8, 8, 8, 8, 8]);
    assert.deepEqual(lt.notes, []);
  });

  test('a class smaller than its target takes all and says so', () => {
    const small = Int32Array.from(labelsFor([60, 5, 60]));
    const lt = buildLongTail(small, 3, { imbalance: 2, seed: 1, classNames: ['a', 'b', 'c'] });
    assert.equal(lt.trainCounts[1], 5);
    assert.match(lt.notes[0]!, /class 1 \(b\) has only 5 training images, the profile asks for 42; took all/);
  });

  test('seeded: same seed same subset, other seed other subset', () => {
    const a = buildLongTail(labels, C, { imbalance: 10, seed: 7, valPerClass: 5 });
    const b = buildLongTail(labels, C, { imbalance: 10, seed: 7, valPerClass: 5 });
    const c = buildLongTail(labels, C, { imbalance: 10, seed: 8, valPerClass: 5 });
    assert.deepEqual(a.train, b.train);
    assert.deepEqual(a.val, b.val);
    assert.notDeepEqual(a.train, c.train);
  });

  test('label out of range throws', () => {
    assert.throws(() => buildLongTail(Int32Array.from([0, 1, 5]), 3, { imbalance: 10, seed: 1 }), { message: 'label 5 of image 2 is out of range [0, 2]' });
  });

  test('stratifiedLimit keeps the class shares; balancedSubset', () => {
    const lt = buildLongTail(labels, C, { imbalance: 10, seed: 3 });
    const keep = stratifiedLimit(lt.train, labels, C, 40, 1, 'x');
    assert.equal(keep.length, 40);
    const counts = Array.from({ length: C }, (_, c) => Array.from(keep).filter((i) => labels[i] === c).length);
    for (let c = 1; c < C; c++) assert.ok(counts[c]! <= counts[c - 1]! && counts[c]! >= 1);
    const all = new Set(lt.train);
    for (const i of keep) assert.ok(all.has(i));
    assert.deepEqual(stratifiedLimit(lt.train, labels, C, 40, 1, 'x'), keep);
    const bal = balancedSubset(labels, C, 3, 1, 'y');
    assert.equal(bal.length, 15);
  });
});

describe('validation / test halves of a balanced test split', () => {
  const C = 4;
  const labels = Int32Array.from(labelsFor([10, 10, 10, 7]));
  const perClass = (idx: Int32Array) => Array.from({ length: C }, (_, c) => Array.from(idx).filter((i) => labels[i] === c).length);

  test('stratified, disjoint, union = the test split, ascending', () => {
    const h = testHalves(labels, C);
    assert.deepEqual(perClass(h.val), [5, 5, 5, 3]); // an odd class gives the extra image to the test half
    assert.deepEqual(perClass(h.test), [5, 5, 5, 4]);
    assert.deepEqual([...h.val, ...h.test].sort((a, b) => a - b), Array.from({ length: labels.length }, (_, i) => i));
    for (const half of [h.val, h.test]) for (let i = 1; i < half.length; i++) assert.ok(half[i]! > half[i - 1]!);
  });

  test('deterministic, and not simply the first half of each class', () => {
    const a = testHalves(labels, C);
    assert.deepEqual(testHalves(Int32Array.from(labels), C), a);
    const firstHalves = Array.from({ length: C }, (_, c) => Array.from(labels.keys()).filter((i) => labels[i] === c).slice(0, perClass(a.val)[c]));
    assert.notDeepEqual(Array.from(a.val), firstHalves.flat().sort((x, y) => x - y));
  });

  test('label out of range throws', () => {
    assert.throws(() => testHalves(Int32Array.from([0, 4]), C), { message: 'label 4 of image 1 is out of range [0, 3]' });
  });
});
