// Long-tail sampling (pipeline/data/longtail.ts) on the cases the profile tests do not reach: the input checks and
// their messages, the exact images each seeded selection takes (the documented stream deriveRng(seed, purpose, class)
// applied to each class's images in source order), and stratifiedLimit's allocation rules worked out by hand on
// small class sizes (largest remainder, lowest class first on ties; the at-least-one rule; trimming the largest class
// when that rule overshoots), then checked against a plain reference on a seeded sweep of small configurations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { balancedSubset, buildLongTail, longTailCounts, stratifiedLimit } from '../../pipeline/data/longtail.js';
import { deriveRng, Rng } from '../../models/rng.js';

/** Labels with sizes[c] images of class c, in class blocks (class 0 first). */
const blocks = (sizes: number[]): number[] => sizes.flatMap((n, c) => Array.from({ length: n }, () => c));

/** Members of class c among `indices`, in the given order. */
const members = (indices: ArrayLike<number>, labels: ArrayLike<number>, c: number): number[] => Array.from(indices).filter((i) => labels[i] === c);

/** The first n images of class c's seeded order. */
function seededTake(pool: number[], n: number, seed: number, purpose: string, c: number): number[] {
  return deriveRng(seed, purpose, c).shuffle(pool.slice()).slice(0, n) as number[];
}

const ascending = (xs: number[]): number[] => xs.slice().sort((a, b) => a - b);

/** Per-class counts of a selection. */
const countsOf = (sel: ArrayLike<number>, labels: ArrayLike<number>, C: number): number[] =>
  Array.from({ length: C }, (_, c) => Array.from(sel).filter((i) => labels[i] === c).length);

describe('longTailCounts: input checks', () => {
  test('n_max = 1 is allowed (every class keeps its one image)', () => {
    assert.deepEqual(longTailCounts(1, 3, 10), [1, 1, 1]);
  });

  test('a class count of 0 or 2.5, n_max 2.5 and an infinite imbalance are rejected with their messages', () => {
    assert.throws(() => longTailCounts(10, 0, 10), { message: 'long-tail: number of classes must be a positive integer, got 0' });
    assert.throws(() => longTailCounts(10, 2.5, 10), { message: 'long-tail: number of classes must be a positive integer, got 2.5' });
    assert.throws(() => longTailCounts(2.5, 3, 10), { message: 'long-tail: n_max must be a positive integer, got 2.5' });
    assert.throws(() => longTailCounts(10, 3, Number.POSITIVE_INFINITY), { message: 'long-tail: imbalance factor must be a number >= 1 (1 = balanced), got Infinity' });
  });
});

describe('indicesByClass (through buildLongTail): label checks', () => {
  for (const [bad, why] of [[3, 'equal to the class count'], [-1, 'negative'], [1.5, 'not an integer']] as const) {
    test(`a label ${why} is rejected with its message`, () => {
      assert.throws(() => buildLongTail([0, 1, bad, 2], 3, { imbalance: 2, seed: 1 }), { message: `label ${bad} of image 2 is out of range [0, 2]` });
    });
  }
});

describe('buildLongTail: the exact seeded images', () => {
  const sizes = [12, 9, 7];
  const labels = blocks(sizes);

  test('train and val are the first n_i and the next valPerClass images of deriveRng(seed, "longtail", c), ascending', () => {
    for (const seed of [1, 2, 99]) {
      const lt = buildLongTail(labels, 3, { imbalance: 4, seed, valPerClass: 2 });
      // n_i = floor(12 * 4^(-i/2)) = 12, 6, 3
      assert.deepEqual(lt.trainCounts, [12, 6, 3]);
      assert.deepEqual(lt.valCounts, [0, 2, 2]);
      const train: number[] = [];
      const val: number[] = [];
      for (let c = 0; c < 3; c++) {
        const order = seededTake(members(Array.from(labels.keys()), labels, c), sizes[c]!, seed, 'longtail', c);
        train.push(...order.slice(0, lt.trainCounts[c]));
        val.push(...order.slice(lt.trainCounts[c], lt.trainCounts[c]! + lt.valCounts[c]!));
      }
      assert.deepEqual(Array.from(lt.train), ascending(train), `train, seed ${seed}`);
      assert.deepEqual(Array.from(lt.val), ascending(val), `val, seed ${seed}`);
    }
  });

  test('valPerClass must be a non-negative integer', () => {
    assert.throws(() => buildLongTail(labels, 3, { imbalance: 4, seed: 1, valPerClass: -1 }), { message: 'long-tail: valPerClass must be a non-negative integer, got -1' });
    assert.throws(() => buildLongTail(labels, 3, { imbalance: 4, seed: 1, valPerClass: 1.5 }), { message: 'long-tail: valPerClass must be a non-negative integer, got 1.5' });
  });
});

describe('balancedSubset: the exact seeded images', () => {
  test('min(perClass, n_c) of each class in the seeded order of (seed, purpose, c), ascending', () => {
    const sizes = [6, 2, 5];
    const labels = blocks(sizes);
    const got = balancedSubset(labels, 3, 3, 5, 'bal');
    const want = sizes.flatMap((n, c) => seededTake(members(Array.from(labels.keys()), labels, c), Math.min(3, n), 5, 'bal', c));
    assert.deepEqual(Array.from(got), ascending(want));
  });
});

describe('stratifiedLimit', () => {
  test('the limit must be a positive integer; 1 is allowed', () => {
    const labels = [0, 1, 0, 1];
    for (const bad of [0, 2.5]) assert.throws(() => stratifiedLimit([0, 1, 2, 3], labels, 2, bad, 1, 'p'), { message: `limit must be a positive integer, got ${bad}` });
    assert.equal(stratifiedLimit([0, 1, 2, 3], labels, 2, 1, 1, 'p').length, 1);
  });

  test('a limit at or above the count returns all the indices, ascending', () => {
    const labels = [0, 1, 0, 1, 1];
    assert.deepEqual(Array.from(stratifiedLimit([4, 0, 3, 1, 2], labels, 2, 5, 1, 'p')), [0, 1, 2, 3, 4]);
    assert.deepEqual(Array.from(stratifiedLimit([4, 0, 3], labels, 2, 10, 1, 'p')), [0, 3, 4]);
  });

  // Per-class counts worked out by hand: floor(limit * n_c / total); if limit >= the classes present, each present
  // class with 0 gets 1; a shortfall goes one each to the largest remainders (lowest class on ties), skipping full
  // classes; an excess comes off the largest allocation (lowest class on ties).
  const cases: { sizes: number[]; limit: number; counts: number[]; why: string }[] = [
    { sizes: [1, 1], limit: 1, counts: [1, 0], why: 'floors 0, 0; the tie on remainder .5 goes to class 0' },
    { sizes: [2, 1, 1], limit: 2, counts: [1, 1, 0], why: 'limit < 3 classes: no minimum; floors 1, 0, 0; remainders 0, .5, .5: class 1' },
    { sizes: [1, 2, 2, 2], limit: 6, counts: [1, 2, 2, 1], why: 'floors 0, 1, 1, 1, minimum gives class 0 one; remainder order 0 (full, skipped), 1, 2' },
    { sizes: [1, 1, 1, 7], limit: 4, counts: [1, 1, 1, 1], why: 'floors 0, 0, 0, 2; the minimum makes 5; one comes off class 3' },
    { sizes: [1, 1, 1, 6, 6], limit: 6, counts: [1, 1, 1, 1, 2], why: 'floors 0, 0, 0, 2, 2; the minimum makes 7; one comes off class 3, the first of the largest' },
    { sizes: [5, 1, 1, 0], limit: 3, counts: [1, 1, 1, 0], why: '3 classes present, limit 3: floors 2, 0, 0 plus the minimum make 4; one comes off class 0' },
    { sizes: [4, 2, 0], limit: 3, counts: [2, 1, 0], why: 'floors 2, 1, 0 = 3; the empty class gets nothing' },
    { sizes: [0, 3, 1, 6], limit: 5, counts: [0, 1, 1, 3], why: 'floors 0, 1, 0, 3 and the minimum for class 2 make exactly 5' },
    { sizes: [7, 3], limit: 4, counts: [3, 1], why: 'floors 2, 1; remainders .8, .2: class 0' },
  ];
  for (const { sizes, limit, counts, why } of cases) {
    test(`sizes ${sizes.join(', ')}, limit ${limit}: ${counts.join(', ')} (${why})`, () => {
      const labels = blocks(sizes);
      const indices = Array.from(labels.keys());
      for (const seed of [1, 7]) {
        const got = stratifiedLimit(indices, labels, sizes.length, limit, seed, 'strat');
        assert.deepEqual(countsOf(got, labels, sizes.length), counts, `counts, seed ${seed}`);
        const want = counts.flatMap((n, c) => seededTake(members(indices, labels, c), n, seed, 'strat', c));
        assert.deepEqual(Array.from(got), ascending(want), `images, seed ${seed}`);
      }
    });
  }

  /**
   * Largest-remainder allocation, written out step by step. The remainders are the doubles q - floor(q) with
   * q = limit * n_c / total, as the module compares them: remainders that are equal as fractions can differ in the
   * last bit (e.g. 40/15 - 2 and 70/15 - 4), and then the larger double wins rather than the lower class.
   */
  function referenceCounts(sizes: number[], limit: number): number[] {
    const total = sizes.reduce((a, b) => a + b, 0);
    const alloc = sizes.map((n) => Math.floor((limit * n) / total));
    const nPresent = sizes.filter((n) => n > 0).length;
    if (limit >= nPresent) sizes.forEach((n, c) => n > 0 && alloc[c] === 0 && (alloc[c] = 1));
    let sum = alloc.reduce((a, b) => a + b, 0);
    const byRemainder = sizes.map((n, c) => ({ c, rem: (limit * n) / total - Math.floor((limit * n) / total) })).sort((a, b) => b.rem - a.rem || a.c - b.c);
    while (sum < limit) {
      for (const { c } of byRemainder) {
        if (sum === limit) break;
        if (alloc[c]! < sizes[c]!) (alloc[c]!++, sum++);
      }
    }
    while (sum > limit) {
      const big = alloc.indexOf(Math.max(...alloc));
      alloc[big]!--;
      sum--;
    }
    return alloc;
  }

  test('a seeded sweep of small configurations matches the reference, image for image', () => {
    const rng = new Rng(2024);
    let checked = 0;
    for (let t = 0; t < 300; t++) {
      const C = 1 + rng.int(6);
      const sizes = Array.from({ length: C }, () => (rng.int(4) === 0 ? 0 : rng.int(9)));
      const labels = blocks(sizes);
      const indices = rng.shuffle(Array.from(labels.keys())) as number[];
      if (indices.length < 2) continue;
      const limit = 1 + rng.int(indices.length - 1);
      const counts = referenceCounts(sizes, limit);
      const got = stratifiedLimit(indices, labels, C, limit, t, 'sweep');
      const want = counts.flatMap((n, c) => seededTake(members(indices, labels, c), n, t, 'sweep', c));
      assert.deepEqual(Array.from(got), ascending(want), `sizes ${sizes}, limit ${limit}: counts ${countsOf(got, labels, C)} vs ${counts}`);
      checked++;
    }
    assert.ok(checked > 250, `only ${checked} configurations had two or more images`);
  });
});
