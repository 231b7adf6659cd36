// The parity statistics (pipeline/parity/metrics.ts) by hand: quantiles, absolute and relative errors, softmax,
// the worst violation, cosines, and the input checks — the values the parity report prints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareOutputs, errorStats, quantile, softmaxRows } from '../../pipeline/parity/metrics.js';

const near = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('parity statistics by hand', () => {
  it('quantile sorts first and interpolates linearly', () => {
    assert.equal(quantile([5, 1, 3], 0.5), 3);
    near(quantile([4, 0, 2, 6], 0.25), 1.5, 'q25');
    assert.equal(quantile([], 0.9), 0);
  });

  it('errorStats: max/mean abs, relative error on max(|r|, atol), and a length check', () => {
    const s = errorStats([1.5, -2, 0.001], [1, -2.5, 0], { atol: 0.01, rtol: 0 });
    near(s.maxAbs, 0.5, 'max abs');
    near(s.meanAbs, (0.5 + 0.5 + 0.001) / 3, 'mean abs');
    // relative: 0.5/1, 0.5/2.5, 0.001/max(0, 0.01)
    near(s.maxRel, 0.5, 'max rel');
    near(s.meanRel, (0.5 + 0.2 + 0.1) / 3, 'mean rel');
    // atol 0: the floor is the smallest double, so a difference on a zero reference is a huge relative error.
    assert.ok(errorStats([1e-9], [0], { atol: 0, rtol: 0 }).maxRel > 1e300);
    assert.throws(() => errorStats([1, 2], [1], { atol: 0, rtol: 0 }), /length mismatch: 2 values vs 1 reference values/);
  });

  it('softmaxRows: rows sum to 1 and follow the logits', () => {
    const p = softmaxRows([0, Math.log(3), 10, 10], 2, 2);
    near(p[0]!, 0.25, 'p00', 1e-7);
    near(p[1]!, 0.75, 'p01', 1e-7);
    near(p[2]!, 0.5, 'p10', 1e-7);
    near(p[3]!, 0.5, 'p11', 1e-7);
  });
});

describe('compareOutputs details', () => {
  const ref = { logits: [2, 0, 0, 2], probs: Array.from(softmaxRows([2, 0, 0, 2], 2, 2)) };
  const tol = { atol: 0.01, rtol: 0 };

  it('exactly at the allowance passes; the worst violation is the largest excess', () => {
    assert.equal(compareOutputs({ logits: [2.01, 0, 0, 2], probs: ref.probs }, ref, [0, 1], 2, 2, { atol: 0.25, rtol: 0 }).violations, 0);
    const r = compareOutputs({ logits: [2.05, 0, 0, 2.3], probs: ref.probs }, ref, [0, 1], 2, 2, tol);
    assert.equal(r.violations, 2);
    assert.equal(r.worst?.sample, 1);
    assert.equal(r.worst?.classIndex, 1);
    near(r.worst!.absError, 0.3, 'worst error', 1e-9);
    near(r.worst!.allowed, 0.01, 'allowed');
    assert.equal(r.pass, false);
  });

  it('cosine per image: identical rows 1, opposite rows -1, all-zero rows count as equal', () => {
    const same = compareOutputs({ logits: ref.logits, probs: ref.probs }, ref, [0, 1], 2, 2, tol);
    near(same.cosine.min, 1, 'min', 1e-9);
    near(same.cosine.mean, 1, 'mean', 1e-9);
    const flipped = compareOutputs({ logits: [-2, 0, 0, 2], probs: ref.probs }, ref, [0, 1], 2, 2, { atol: 10, rtol: 0 });
    near(flipped.cosine.min, -1, 'opposite', 1e-9);
    near(flipped.cosine.mean, 0, 'mean of -1 and 1', 1e-9);
    const zeros = { logits: [0, 0], probs: [0.5, 0.5] };
    near(compareOutputs(zeros, zeros, [0], 1, 2, tol).cosine.min, 1, 'zero rows');
  });

  it('a non-finite value fails even inside a huge tolerance; every input length is checked', () => {
    const r = compareOutputs({ logits: [2, 0, 0, 2], probs: [NaN, ...ref.probs.slice(1)] }, ref, [0, 1], 2, 2, { atol: 1e9, rtol: 0 });
    assert.equal(r.nonFinite, 1);
    assert.equal(r.pass, false);
    for (const [cand, what] of [
      [{ logits: [1, 2, 3], probs: ref.probs }, 'candidate logits'],
      [{ logits: ref.logits, probs: [1] }, 'candidate probs'],
    ] as const)
      assert.throws(() => compareOutputs(cand, ref, [0, 1], 2, 2, tol), new RegExp(`${what}: \\d+ values, expected 2 x 2 = 4`));
    assert.throws(() => compareOutputs(ref, { logits: [1], probs: ref.probs }, [0, 1], 2, 2, tol), /reference logits: 1 values/);
    assert.throws(() => compareOutputs(ref, { logits: ref.logits, probs: [1] }, [0, 1], 2, 2, tol), /reference probs: 1 values/);
  });
});
