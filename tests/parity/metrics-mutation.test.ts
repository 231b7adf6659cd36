// Parity statistics (pipeline/parity/metrics.ts) on the edges the by-hand tests do not reach, with values that are
// exact in binary (quarters, halves) so that "exactly at the allowance" is exact: ties in the arg-max and in the worst
// violation, a later violation with a larger excess, the excess (not the error) ranking violations, a zero
// vector against a non-zero one, a non-finite cosine, a non-finite value inside an unbounded tolerance, and the
// relative error of 0 against 0 with atol 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmaxRow, compareOutputs, errorStats } from '../../pipeline/parity/metrics.js';

/** Probabilities shared by candidate and reference, so only the logits differ. */
const probs = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5];

describe('parity statistics: edges', () => {
  it('argmaxRow: the first of equal maxima, within the row at the offset', () => {
    assert.equal(argmaxRow([3, 1, 3], 0, 3), 0);
    assert.equal(argmaxRow([9, 1, 4, 4], 1, 3), 1);
    assert.equal(argmaxRow([0, 2, 5, 5, 2], 1, 4), 1);
  });

  it('errorStats with atol 0: 0 against a 0 reference is a relative error of 0 (the floor is the smallest double, not 0)', () => {
    const s = errorStats([0, 1], [0, 1], { atol: 0, rtol: 0 });
    assert.equal(s.maxRel, 0);
    assert.equal(s.meanRel, 0);
    assert.equal(s.p99Rel, 0);
  });

  it('exactly at the allowance passes, one quarter over fails', () => {
    const ref = { logits: [1, 0, 0, 1], probs: probs.slice(0, 4) };
    const tol = { atol: 0.25, rtol: 0.5 };
    // allowed = 0.25 + 0.5 * |r|: 0.75 on the ones, 0.25 on the zeros
    const at = compareOutputs({ logits: [1.75, 0.25, -0.25, 0.25], probs: ref.probs }, ref, [0, 1], 2, 2, tol);
    assert.equal(at.violations, 0);
    assert.equal(at.pass, true);
    const over = compareOutputs({ logits: [2, 0.25, -0.25, 0.25], probs: ref.probs }, ref, [0, 1], 2, 2, tol);
    assert.equal(over.violations, 1);
  });

  it('the worst violation is the largest excess over the allowance, not the largest error, and may come later', () => {
    const ref = { logits: [0, 0, 0, 4, 0, 0], probs };
    const tol = { atol: 0.25, rtol: 0.5 };
    // element 0: error 1, allowed .25, excess .75; element 3: error 2.5, allowed 2.25, excess .25;
    // element 5: error 1.5, allowed .25, excess 1.25 (the worst, and the last)
    const r = compareOutputs({ logits: [1, 0, 0, 6.5, 0, 1.5], probs }, ref, [0, 0, 0], 3, 2, tol);
    assert.equal(r.violations, 3);
    assert.deepEqual(r.worst, { output: 'logits', sample: 2, classIndex: 1, value: 1.5, reference: 0, absError: 1.5, allowed: 0.25 });
    // Without element 5 the worst is element 0 (excess .75), although element 3 has the larger error (2.5).
    const r2 = compareOutputs({ logits: [1, 0, 0, 6.5, 0, 0], probs }, ref, [0, 0, 0], 3, 2, tol);
    assert.equal(r2.worst?.sample, 0);
    assert.equal(r2.worst?.absError, 1);
  });

  it('equal excesses: the first violation stays the worst', () => {
    const ref = { logits: [0, 0, 0, 0], probs: probs.slice(0, 4) };
    const r = compareOutputs({ logits: [0, 1, 1, 0], probs: ref.probs }, ref, [0, 0], 2, 2, { atol: 0.5, rtol: 0 });
    assert.equal(r.violations, 2);
    assert.equal(r.worst?.sample, 0);
    assert.equal(r.worst?.classIndex, 1);
  });

  it('cosine of a zero vector against a non-zero one is 0 (either side); both zero is 1', () => {
    const tol = { atol: 10, rtol: 0 };
    const ref = { logits: [0, 0, 3, 4], probs: probs.slice(0, 4) };
    const r = compareOutputs({ logits: [1, 2, 0, 0], probs: ref.probs }, ref, [0, 0], 2, 2, tol);
    assert.equal(r.cosine.min, 0);
    assert.equal(r.cosine.mean, 0);
    const both = compareOutputs({ logits: [0, 0, 3, 4], probs: ref.probs }, ref, [0, 0], 2, 2, tol);
    assert.equal(both.cosine.min, 1);
    assert.equal(both.cosine.mean, 1);
  });

  it('a non-finite cosine counts as -1', () => {
    const ref = { logits: [1, 0, 0, 1], probs: probs.slice(0, 4) };
    const r = compareOutputs({ logits: [NaN, 0, 0, 1], probs: ref.probs }, ref, [0, 1], 2, 2, { atol: 0.5, rtol: 0 });
    assert.equal(r.cosine.min, -1);
    assert.equal(r.cosine.mean, 0);
  });

  it('a NaN tolerance fails every value and still names the first one as the worst (its excess is NaN)', () => {
    const ref = { logits: [1, 0, 0, 1], probs: probs.slice(0, 4) };
    const r = compareOutputs({ logits: ref.logits, probs: ref.probs }, ref, [0, 1], 2, 2, { atol: Number.NaN, rtol: 0 });
    assert.equal(r.violations, 8);
    assert.equal(r.pass, false);
    assert.deepEqual(r.worst, { output: 'logits', sample: 0, classIndex: 0, value: 1, reference: 1, absError: 0, allowed: Number.NaN });
  });

  it('an infinite logit fails even with an unbounded tolerance, where it is no violation', () => {
    const ref = { logits: [1, 0, 0, 1], probs: probs.slice(0, 4) };
    const r = compareOutputs({ logits: [Infinity, 0, 0, 1], probs: ref.probs }, ref, [0, 1], 2, 2, { atol: Infinity, rtol: 0 });
    assert.equal(r.violations, 0);
    assert.equal(r.nonFinite, 1);
    assert.equal(r.pass, false);
  });
});
