// The parity pass rule (pipeline/parity/metrics.ts compareOutputs): |a - r| <= atol + rtol * |r| on every logit
// AND every probability, exactly at its boundary, with the rtol term mattering for large |r|.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareOutputs, softmaxRows } from '../../pipeline/parity/metrics.js';
import { DEFAULT_TOLERANCES } from '../../pipeline/parity/harness.js';

const C = 3;
const refLogits = Float64Array.from([1000, -2, 0.5, 3, 250, -40]);
const ref = { logits: refLogits, probs: softmaxRows(refLogits, 2, C) };
const labels = [0, 1];
const tol = { atol: 1e-4, rtol: 1e-3 };

/** A copy of the reference with one logit moved by `d` (probs left as the reference's). */
const moved = (i: number, d: number) => {
  const l = Float64Array.from(refLogits);
  l[i] = l[i]! + d;
  return { logits: l, probs: ref.probs };
};

describe('parity tolerance', () => {
  it('a large logit may move by atol + rtol*|r| and not by more: the rtol term counts', () => {
    const allowed = tol.atol + tol.rtol * 1000; // 1.0001
    assert.equal(compareOutputs(moved(0, allowed * (1 - 1e-9)), ref, labels, 2, C, tol).violations, 0);
    const over = compareOutputs(moved(0, allowed * (1 + 1e-6)), ref, labels, 2, C, tol);
    assert.equal(over.violations, 1);
    assert.equal(over.pass, false);
    assert.equal(over.worst?.output, 'logits');
    assert.equal(over.worst?.classIndex, 0);
    // Without the rtol term the same shift would be 10,000x over: the rule really is atol + rtol*|r|.
    assert.equal(compareOutputs(moved(0, 0.5), ref, labels, 2, C, tol).violations, 0);
    assert.equal(compareOutputs(moved(0, 0.5), ref, labels, 2, C, { atol: 1e-4, rtol: 0 }).violations, 1);
  });

  it('a small logit is judged on atol', () => {
    assert.equal(compareOutputs(moved(2, 1e-4 + 1e-3 * 0.5 - 1e-9), ref, labels, 2, C, tol).violations, 0);
    assert.equal(compareOutputs(moved(2, 1e-4 + 1e-3 * 0.5 + 1e-7), ref, labels, 2, C, tol).violations, 1);
  });

  it('probabilities are compared too: a probs-only difference fails', () => {
    const probs = Float32Array.from(ref.probs);
    probs[3] = probs[3]! + 2e-4; // a near-zero probability, logits identical
    const r = compareOutputs({ logits: refLogits, probs }, ref, labels, 2, C, tol);
    assert.equal(r.violations, 1);
    assert.equal(r.worst?.output, 'probs');
    assert.equal(r.pass, false);
  });

  it('just above the default CPU tolerance fails, just below passes; NaN always fails', () => {
    const t = DEFAULT_TOLERANCES.cpu;
    const at = (d: number) => compareOutputs(moved(1, d), ref, labels, 2, C, t);
    const bound = t.atol + t.rtol * 2;
    assert.equal(at(bound * 0.999).pass, true);
    assert.equal(at(bound * 1.001).pass, false);
    const nan = compareOutputs(moved(1, NaN), ref, labels, 2, C, { atol: 1, rtol: 1 });
    assert.equal(nan.pass, false);
    assert.equal(nan.nonFinite, 1);
  });

  it('top-1 agreement and accuracy follow the arg-max', () => {
    const flipped = compareOutputs(moved(4, -300), ref, labels, 2, C, { atol: 1e9, rtol: 0 });
    assert.equal(flipped.top1Agreement, 0.5);
    assert.deepEqual(flipped.top1Disagreements, [1]);
    assert.equal(flipped.accuracy, 0.5);
  });
});
